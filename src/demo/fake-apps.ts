import { MlbError } from '../errors.js';
import { asAppsDocument } from '../marathon/schema.js';
import type { MarathonApp, PortDefinition, PortMapping } from '../marathon/types.js';
import { networkingMode } from '../model/networking.js';
import type { NetworkingMode } from '../model/types.js';

/** An app as users post it: Marathon's fields plus whatever else they sent (cmd, cpus, env…). */
export type AppDefinition = MarathonApp & {
  env?: Record<string, string>;
  requirePorts?: boolean;
  [field: string]: unknown;
};

const SEGMENT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/** `/group/name`: Marathon's absolute form of a posted id (`name`, `/name/`). */
export function absoluteAppId(id: string): string {
  const segments = id.split('/').filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** The prefix Marathon gives task ids of an app: `/group/name` → `group_name`. */
export function taskIdPrefix(appId: string): string {
  return appId.replace(/^\/+/, '').replace(/\//g, '_');
}

/** The posted body as an app definition, or E_INPUT_NOT_MARATHON saying what is wrong (Marathon answers 422). */
export function asAppDefinition(body: unknown, source: string): AppDefinition {
  const [def] = asAppsDocument({ apps: [body] }, source).apps as AppDefinition[];
  if (!def) throw new MlbError('E_INPUT_NOT_MARATHON', `${source}: no app`);
  const id = absoluteAppId(def.id);
  if (id === '/' || !id.split('/').slice(1).every((s) => SEGMENT.test(s))) {
    throw new MlbError('E_INPUT_NOT_MARATHON', `${source}: invalid app id ${JSON.stringify(def.id)} (lower-case letters, digits, '-' and '.' per path segment)`);
  }
  if (def.instances !== undefined && def.instances < 0) throw new MlbError('E_INPUT_NOT_MARATHON', `${source}: instances must be ≥ 0`);
  return def;
}

/** Hands out service ports from `first` up, never one an app declared or already holds. */
export class ServicePortPool {
  private readonly owners = new Map<number, string>();
  private readonly first: number;
  private readonly last: number;

  constructor(first = 10_000, last = 20_000) {
    this.first = first;
    this.last = last;
  }

  ownerOf(port: number): string | undefined {
    return this.owners.get(port);
  }

  claim(port: number, appId: string): void {
    this.owners.set(port, appId);
  }

  next(appId: string): number {
    for (let port = this.first; port <= this.last; port++) {
      if (!this.owners.has(port)) {
        this.owners.set(port, appId);
        return port;
      }
    }
    throw new MlbError('E_NO_SERVICE_PORT', `no free service port left in ${this.first}-${this.last}`);
  }

  releaseApp(appId: string): void {
    for (const [port, owner] of this.owners) if (owner === appId) this.owners.delete(port);
  }
}

/**
 * Service ports for one app: declared ones kept, zeros get the app's previous port at that
 * index when it still holds it, else the next free one (Marathon's 10000+ range).
 */
export function assignServicePorts(declared: (number | undefined)[], previous: number[], appId: string, pool: ServicePortPool): number[] {
  for (const p of declared) if (p) pool.claim(p, appId);
  return declared.map((p, i) => {
    if (p) return p;
    const prev = previous[i];
    if (prev && (pool.ownerOf(prev) ?? appId) === appId) {
      pool.claim(prev, appId);
      return prev;
    }
    return pool.next(appId);
  });
}

function mappingsOf(app: MarathonApp): PortMapping[] | undefined {
  return app.container?.portMappings ?? app.container?.docker?.portMappings ?? undefined;
}

/** Service ports by port index, as Marathon reports them (0 where none was assigned). */
export function servicePortsOf(app: MarathonApp): number[] {
  if (networkingMode(app) === 'host') return (app.portDefinitions ?? []).map((d) => d.port ?? 0);
  return (mappingsOf(app) ?? []).map((m) => m.servicePort ?? 0);
}

function hostPortDefinitions(app: AppDefinition): PortDefinition[] {
  if (app.portDefinitions) return app.portDefinitions;
  if (app.ports) return app.ports.map((port) => ({ port }));
  return [{ port: 0 }];
}

/** Bridge host ports default to 0 (any); container networking maps none unless asked. */
function mappingDefaults(mode: NetworkingMode, m: PortMapping, index: number): PortMapping {
  if (mode === 'bridge') return { containerPort: 0, hostPort: 0, protocol: 'tcp', labels: {}, ...m };
  return { protocol: 'tcp', labels: {}, ...m, containerPort: m.containerPort || 8080 + index };
}

function withMappings(app: AppDefinition, mappings: PortMapping[]): void {
  if (app.container?.portMappings) app.container.portMappings = mappings;
  else if (app.container?.docker) app.container.docker.portMappings = mappings;
}

/** Fields Marathon reports but never takes from a posted definition. */
const REPORTED_ONLY = ['version', 'versionInfo', 'tasks', 'deployments', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'lastTaskFailure', 'taskStats', 'readinessCheckResults'];

const DEFAULTS = {
  instances: 1,
  cpus: 1,
  mem: 128,
  disk: 0,
  gpus: 0,
  env: {},
  labels: {},
  constraints: [],
  uris: [],
  fetch: [],
  healthChecks: [],
  readinessChecks: [],
  dependencies: [],
  backoffSeconds: 1,
  backoffFactor: 1.15,
  maxLaunchDelaySeconds: 300,
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  killSelection: 'YOUNGEST_FIRST',
  requirePorts: false,
};

/**
 * The app as Marathon stores it: defaults filled, id absolute, service ports assigned
 * (port 0 → 10000 up). The networking shape is kept as posted (≤1.4 `container.docker` or
 * ≥1.5 `networks` + `container.portMappings`) so both of the daemon's readers get exercised;
 * a real Marathon ≥1.5 would convert the old shape.
 */
export function storedApp(def: AppDefinition, previous: AppDefinition | undefined, pool: ServicePortPool): AppDefinition {
  const app: AppDefinition = { ...structuredClone(DEFAULTS), ...structuredClone(def), id: absoluteAppId(def.id) };
  for (const field of REPORTED_ONLY) delete app[field];
  if (!app.networks && !app.container?.docker?.network && !app.ipAddress) app.networks = [{ mode: 'host' }];
  const mode = networkingMode(app);
  const prevPorts = previous ? servicePortsOf(previous) : [];
  pool.releaseApp(app.id);
  if (mode === 'host') {
    const defs = hostPortDefinitions(app);
    const ports = assignServicePorts(defs.map((d) => d.port), prevPorts, app.id, pool);
    app.portDefinitions = defs.map((d, i) => ({ protocol: 'tcp', labels: {}, ...d, port: ports[i] }));
    delete app.ports;
    return app;
  }
  const mappings = (mappingsOf(app) ?? []).map((m, i) => mappingDefaults(mode, m, i));
  const ports = assignServicePorts(mappings.map((m) => m.servicePort), prevPorts, app.id, pool);
  withMappings(app, mappings.map((m, i) => ({ ...m, servicePort: ports[i] })));
  return app;
}

/** Where one port of a task listens: `hostPort` undefined = no host port, 0 = any free one. */
export interface PortPlan {
  hostPort?: number;
  /** Bound on the task's own IP (container networking only). */
  containerPort?: number;
}

export interface TaskPlan {
  mode: NetworkingMode;
  ports: PortPlan[];
}

/** How a task of this app binds, per port index. */
export function taskPlan(app: AppDefinition): TaskPlan {
  const mode = networkingMode(app);
  if (mode === 'host') {
    return { mode, ports: (app.portDefinitions ?? []).map((d) => ({ hostPort: app.requirePorts ? (d.port ?? 0) : 0 })) };
  }
  const mappings = mappingsOf(app);
  if (mode === 'bridge') return { mode, ports: (mappings ?? []).map((m) => ({ hostPort: m.hostPort ?? 0 })) };
  if (mappings && mappings.length > 0) return { mode, ports: mappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort })) };
  return { mode, ports: (app.ipAddress?.discovery?.ports ?? []).map((p) => ({ containerPort: p.number })) };
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortedKeys(v)]));
}

/** What makes a new config version: everything but the instance count and Marathon's bookkeeping. */
export function configKey(app: AppDefinition): string {
  const { instances: _i, version: _v, versionInfo: _vi, tasks: _t, deployments: _d, ...config } = app;
  return JSON.stringify(sortedKeys(config));
}

/** Per-app response delay for its tasks, from `env.RESPONSE_DELAY_MS`. */
export function responseDelayOf(app: AppDefinition): number | undefined {
  const raw = app.env?.RESPONSE_DELAY_MS;
  const ms = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Paths a task answers with its health (200/503): `/health` and the app's HTTP check paths. */
export function healthPathsOf(app: AppDefinition): Set<string> {
  const paths = new Set(['/health']);
  for (const hc of app.healthChecks ?? []) if (hc.path && /HTTP/i.test(hc.protocol ?? 'HTTP')) paths.add(hc.path.split('?')[0] ?? hc.path);
  return paths;
}
