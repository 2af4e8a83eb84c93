import type { HealthCheckDef, HealthCheckResult, MarathonApp, PortMapping, Task } from '../../src/marathon/types.js';

/**
 * Builders for Marathon apps and tasks: `app('/web', withLabels({...}), withPortDefinitions(10000),
 * withTasks(task('10.0.0.1', [31000])))`. Each `with…` returns a function that edits the app.
 */
export type AppPart = (a: MarathonApp) => void;
export type TaskPart = (t: Task) => void;

let taskSeq = 0;

export function app(id: string, ...parts: AppPart[]): MarathonApp {
  const a: MarathonApp = { id, labels: {}, instances: 1, healthChecks: [], tasks: [] };
  for (const p of parts) p(a);
  return a;
}

/** Labels: strings, as Marathon sends them, or anything a hand-written apps file may hold. */
export function withLabels(labels: Record<string, unknown>): AppPart {
  return (a) => {
    a.labels = { ...a.labels, ...labels };
  };
}

/** Host networking: portDefinitions with these service ports. */
export function withPortDefinitions(...ports: number[]): AppPart {
  return (a) => {
    a.networks = [{ mode: 'host' }];
    a.portDefinitions = ports.map((port, i) => ({ port, protocol: 'tcp', name: `p${i}`, labels: {} }));
  };
}

/** Marathon ≥1.5 bridge networking. */
export function withBridge(...mappings: PortMapping[]): AppPart {
  return (a) => {
    a.networks = [{ mode: 'container/bridge' }];
    a.container = { type: 'DOCKER', portMappings: mappings, docker: { image: 'x' } };
  };
}

/** Marathon ≥1.5 container (IP-per-task) networking. */
export function withContainerNetwork(...mappings: PortMapping[]): AppPart {
  return (a) => {
    a.networks = [{ mode: 'container', name: 'dcos' }];
    a.container = { type: 'DOCKER', portMappings: mappings, docker: { image: 'x' } };
  };
}

/** Marathon ≤1.4: container.docker.network + container.docker.portMappings. */
export function withDockerNetwork(network: 'BRIDGE' | 'USER' | 'HOST', ...mappings: PortMapping[]): AppPart {
  return (a) => {
    a.container = { type: 'DOCKER', docker: { image: 'x', network, portMappings: mappings } };
  };
}

/** Legacy IP-per-task: ipAddress.discovery.ports. */
export function withIpAddress(...ports: number[]): AppPart {
  return (a) => {
    a.ipAddress = { networkName: 'dcos', discovery: { ports: ports.map((number, i) => ({ number, name: `p${i}`, protocol: 'tcp' })) } };
  };
}

export function withHealthChecks(...checks: HealthCheckDef[]): AppPart {
  return (a) => {
    a.healthChecks = checks;
  };
}

export function withTasks(...tasks: Task[]): AppPart {
  return (a) => {
    a.tasks = [...(a.tasks ?? []), ...tasks.map((t) => ({ ...t, appId: a.id }))];
  };
}

export function task(host: string, ports: number[], ...parts: TaskPart[]): Task {
  taskSeq++;
  const t: Task = { id: `task-${String(taskSeq).padStart(6, '0')}`, host, ports, state: 'TASK_RUNNING', ipAddresses: [], startedAt: '2026-11-01T10:00:00.000Z' };
  for (const p of parts) p(t);
  return t;
}

export function withTaskId(id: string): TaskPart {
  return (t) => {
    t.id = id;
  };
}

export function inState(state: string): TaskPart {
  return (t) => {
    t.state = state;
  };
}

export function withIp(ip: string): TaskPart {
  return (t) => {
    t.ipAddresses = [{ ipAddress: ip, protocol: 'IPv4' }];
  };
}

export function withHealth(...alive: boolean[]): TaskPart {
  return (t) => {
    t.healthCheckResults = alive.map((a): HealthCheckResult => ({ alive: a, consecutiveFailures: a ? 0 : 3 }));
  };
}
