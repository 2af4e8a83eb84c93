import type { Labels, MarathonApp, Task } from '../marathon/types.js';
import type { NetworkingMode } from './types.js';

/** One port of an app, whatever shape Marathon described it in. */
export interface AppPort {
  index: number;
  /** Marathon's service port; undefined or 0 when none was assigned. */
  servicePort?: number;
  /** Port inside the container (bridge / container networking). */
  containerPort?: number;
  protocol: string;
  name?: string;
  labels: Labels;
}

export interface AppNetworking {
  mode: NetworkingMode;
  ports: AppPort[];
}

function portMappingsOf(app: MarathonApp) {
  return app.container?.portMappings ?? app.container?.docker?.portMappings ?? [];
}

/** Networking mode: Marathon ≥1.5 `networks`, ≤1.4 `container.docker.network`, legacy `ipAddress`. */
export function networkingMode(app: MarathonApp): NetworkingMode {
  const mode = app.networks?.[0]?.mode;
  if (mode === 'container/bridge') return 'bridge';
  if (mode === 'container') return 'container';
  if (mode === 'host') return 'host';
  const dockerNet = app.container?.docker?.network;
  if (dockerNet === 'BRIDGE') return 'bridge';
  if (dockerNet === 'USER') return 'container';
  if (dockerNet === 'HOST') return 'host';
  if (app.ipAddress) return 'container';
  return 'host';
}

export function appNetworking(app: MarathonApp): AppNetworking {
  const mode = networkingMode(app);
  if (mode === 'host') {
    const defs = app.portDefinitions ?? (app.ports ?? []).map((port) => ({ port }));
    return {
      mode,
      ports: defs.map((d, index) => ({ index, servicePort: d.port || undefined, protocol: 'protocol' in d ? d.protocol ?? 'tcp' : 'tcp', name: 'name' in d ? d.name : undefined, labels: ('labels' in d ? d.labels : undefined) ?? {} })),
    };
  }
  const mappings = portMappingsOf(app);
  if (mappings.length > 0 || !app.ipAddress) {
    return {
      mode,
      ports: mappings.map((m, index) => ({ index, servicePort: m.servicePort || undefined, containerPort: m.containerPort, protocol: m.protocol ?? 'tcp', name: m.name, labels: m.labels ?? {} })),
    };
  }
  const discovery = app.ipAddress.discovery?.ports ?? [];
  return {
    mode,
    ports: discovery.map((p, index) => ({ index, containerPort: p.number, protocol: p.protocol ?? 'tcp', name: p.name, labels: p.labels ?? {} })),
  };
}

export interface Endpoint {
  ip: string;
  port: number;
}

/**
 * Where a task serves a port: host and bridge networking → the agent's IP and the task's
 * host port; container (IP-per-task) → the task's own IP and the container port.
 */
export function taskEndpoint(mode: NetworkingMode, port: AppPort, task: Task, agentIp: string): Endpoint | undefined {
  if (mode === 'container') {
    const ip = task.ipAddresses?.[0]?.ipAddress;
    const p = port.containerPort;
    return ip && p ? { ip, port: p } : undefined;
  }
  const hostPort = task.ports?.[port.index];
  return hostPort ? { ip: agentIp, port: hostPort } : undefined;
}
