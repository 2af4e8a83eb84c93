import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MlbError } from '../errors.js';
import type { HealthCheckResult, MarathonApp, Task } from '../marathon/types.js';
import {
  type AppDefinition,
  absoluteAppId,
  asAppDefinition,
  configKey,
  healthPathsOf,
  responseDelayOf,
  ServicePortPool,
  servicePortsOf,
  storedApp,
  taskIdPrefix,
  taskPlan,
} from './fake-apps.js';
import { EventHub, eventTypeFilter, type MarathonEvent } from './fake-events.js';
import { closeServer, HttpError, jsonBody, listenLoopback, notFound, sendJson } from './fake-http.js';
import { type Bind, listenTask, type TaskListener } from './fake-task.js';

export type { AppDefinition } from './fake-apps.js';
export type { MarathonEvent } from './fake-events.js';
export type { TaskEcho } from './fake-task.js';

/** An app as users post it: Marathon's typed fields, plus anything else (cmd, cpus, env…). */
export type AppInput = MarathonApp | AppDefinition;

export interface FakeMarathonOptions {
  /** Apps created at start, as if POSTed. */
  apps?: AppInput[];
  /** `user:password`: every request then needs Basic auth (401 without). */
  credentials?: string;
  /** Also accept `Authorization: token=<token>` (DC/OS). */
  token?: string;
  /** Loopback IPs of the fake agents; tasks are placed round-robin. Default ['127.0.0.1']. */
  agents?: string[];
  /** TASK_STAGING → TASK_RUNNING after this long. Default 50. */
  stagingMs?: number;
  /** Health-checked tasks report their first (alive) result this long after running; 0 = at once. Default 100. */
  healthyAfterMs?: number;
  /** For apps without taskKillGracePeriodSeconds: how long a task stays TASK_KILLING. Default 3. */
  killGraceSeconds?: number;
  /** SSE keep-alive comment interval; 0 = none. Default 10000. */
  keepAliveMs?: number;
  /** Tasks' response delay for apps without env.RESPONSE_DELAY_MS. Default 0. */
  responseDelayMs?: number;
  /** First service port handed out for port 0. Default 10000. */
  firstServicePort?: number;
  /** Relaunch delay after a task failed (Marathon's backoff). Default 1000. */
  backoffMs?: number;
  /** Also start a non-leader (`followerUrl`) that redirects every request here. */
  redirect?: boolean;
  /** Reported by /v2/info. */
  version?: string;
}

type DeploymentAction = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

interface Deployment {
  id: string;
  version: string;
  appId: string;
  action: DeploymentAction;
}

interface AppState {
  def: AppDefinition;
  version: string;
  configVersion: string;
  lastScalingAt: string;
  backoffUntil: number;
  failuresInARow: number;
  backoffTimer?: NodeJS.Timeout;
  responseDelayMs?: number;
}

interface Agent {
  ip: string;
  slaveId: string;
}

interface FakeTask {
  seq: number;
  id: string;
  instanceId: string;
  appId: string;
  def: AppDefinition;
  agent: Agent;
  state: string;
  /** Launched but not yet bound: not reported, but counted toward the instances. */
  pending: boolean;
  terminal: boolean;
  killing?: { replace: boolean };
  stagedAt: string;
  startedAt?: string;
  version: string;
  configVersion: string;
  ports: number[];
  servicePorts: number[];
  ipAddresses: { ipAddress: string; protocol: string }[];
  /** Health check result; undefined = none yet. */
  alive?: boolean;
  firstSuccess?: string;
  lastSuccess?: string;
  lastFailure?: string;
  consecutiveFailures: number;
  listener?: TaskListener;
}

interface RequestContext {
  clientIp: string;
  uri: string;
}

const CONTROL: RequestContext = { clientIp: '127.0.0.1', uri: '/v2/apps' };
const FRAMEWORK_ID = '00000000-0000-4000-a000-000000000000-0000';
const EVENT_LOG_LIMIT = 10_000;

const DEFAULT_OPTIONS = {
  agents: ['127.0.0.1'],
  stagingMs: 50,
  healthyAfterMs: 100,
  killGraceSeconds: 3,
  keepAliveMs: 10_000,
  responseDelayMs: 0,
  firstServicePort: 10_000,
  backoffMs: 1000,
  redirect: false,
  version: '1.11.0',
};

/** Marathon's launch backoff: backoffSeconds × backoffFactor per failure in a row, capped. */
const BACKOFF_FACTOR = 1.15;
const MAX_BACKOFF_MS = 300_000;

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const CONDITIONS: Record<string, string> = {
  TASK_STAGING: 'Staging',
  TASK_RUNNING: 'Running',
  TASK_KILLING: 'Killing',
  TASK_KILLED: 'Killed',
  TASK_FAILED: 'Failed',
};

function uuidOf(seq: number, variant: string): string {
  return `00000000-0000-4000-${variant}-${seq.toString(16).padStart(12, '0')}`;
}

function isFlag(params: URLSearchParams, name: string): boolean {
  return params.get(name) === 'true';
}

/**
 * A Marathon on loopback for tests and the demo: the REST and event-stream slice mlb-ts uses
 * (see design/MARATHON.md), with real tasks — an HTTP server per instance — that go through
 * Marathon's states (staging, running, killing with a grace period, killed) and health
 * results, plus levers tests need: kill, health, stall, dropped streams, request counts.
 *
 * Networking: host, bridge (host ports on the agent IP; the reported bridge IP is a
 * 172.17.x.y that is never bound, as in Docker) and container (each task gets its own
 * 127.1.x.y and binds the container ports there). Unhealthy tasks are never killed.
 */
export class FakeMarathon {
  private readonly opts: typeof DEFAULT_OPTIONS & FakeMarathonOptions;
  private readonly server: Server;
  private follower?: Server;
  private port = 0;
  private followerPort = 0;
  private readonly hub: EventHub;
  private readonly appStates = new Map<string, AppState>();
  private readonly taskMap = new Map<string, FakeTask>();
  private readonly deploymentMap = new Map<string, Deployment>();
  private readonly pool: ServicePortPool;
  private readonly agents: Agent[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly binding = new Set<Promise<void>>();
  private readonly counts = new Map<string, number>();
  private readonly log: MarathonEvent[] = [];
  private readonly changes = new EventEmitter();
  private taskSeq = 0;
  private containerIpSeq = 0;
  private lastVersionMs = 0;
  private stallUntil = 0;
  private stallTimer?: NodeJS.Timeout;
  private stallGate?: { promise: Promise<void>; release: () => void };
  private closed = false;

  private constructor(opts: FakeMarathonOptions) {
    this.opts = { ...DEFAULT_OPTIONS, ...definedOnly(opts) };
    this.agents = this.opts.agents.map((ip, i) => ({ ip, slaveId: `${FRAMEWORK_ID.slice(0, -5)}-S${i}` }));
    this.pool = new ServicePortPool(this.opts.firstServicePort);
    this.hub = new EventHub(this.opts.keepAliveMs);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.changes.setMaxListeners(0);
  }

  /** Starts listening on 127.0.0.1:<free port> and creates `opts.apps`. */
  static async start(opts: FakeMarathonOptions = {}): Promise<FakeMarathon> {
    const fm = new FakeMarathon(opts);
    try {
      fm.port = await listenLoopback(fm.server);
      if (fm.opts.redirect) {
        fm.follower = createServer((req, res) => fm.redirect(req, res));
        fm.followerPort = await listenLoopback(fm.follower);
      }
      for (const app of opts.apps ?? []) fm.addApp(app);
    } catch (e) {
      await fm.close();
      throw e;
    }
    return fm;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The non-leader's URL (with `redirect: true`): answers 307 to the same path on `url`. */
  get followerUrl(): string | undefined {
    return this.follower ? `http://127.0.0.1:${this.followerPort}` : undefined;
  }

  /** Open /v2/events streams. */
  get streamCount(): number {
    return this.hub.size;
  }

  // ---- control API (what tests and the demo pull) ----

  /** Creates an app as POST /v2/apps would; returns it as stored (service ports assigned). */
  addApp(def: AppInput): MarathonApp {
    const parsed = asAppDefinition(def, 'app definition');
    if (this.appStates.has(absoluteAppId(parsed.id))) throw new MlbError('E_USAGE', `app ${absoluteAppId(parsed.id)} already exists`);
    return this.appJson(this.createApp(parsed, CONTROL, true), false);
  }

  /** Changes an app as PUT /v2/apps/{id}?force=true would (fields given replace the stored ones). */
  updateApp(id: string, patch: Partial<MarathonApp> & Record<string, unknown>): MarathonApp {
    const st = this.stateOf(id);
    this.applyUpdate(st, patch, CONTROL, true);
    return this.appJson(st, false);
  }

  removeApp(id: string): void {
    this.deleteApp(this.stateOf(id).def.id, true);
  }

  scale(id: string, instances: number): void {
    this.applyUpdate(this.stateOf(id), { instances }, CONTROL, true);
  }

  /**
   * Kills a task: TASK_KILLING (still serving) for the app's taskKillGracePeriodSeconds, then
   * TASK_KILLED and its listener closes. Marathon then starts a replacement, unless `scale`.
   */
  kill(taskId: string, opts: { scale?: boolean } = {}): void {
    const task = this.liveTask(taskId);
    const st = this.appStates.get(task.appId);
    if (opts.scale && st) this.applyUpdate(st, { instances: Math.max(0, (st.def.instances ?? 1) - 1) }, CONTROL, true, task);
    else this.beginKill(task, true);
  }

  /** The task crashes: TASK_FAILED at once, listener closed; relaunched after the backoff. */
  fail(taskId: string, message = 'Command exited with status 1'): void {
    this.finishTask(this.liveTask(taskId), 'TASK_FAILED', message);
  }

  /** Sets the task's health result (emits health_status_changed_event for health-checked apps) and what /health answers. */
  setHealth(taskId: string, alive: boolean): void {
    this.setAlive(this.liveTask(taskId), alive);
  }

  /** Overrides the response delay of the app's tasks (running ones too). */
  setResponseDelay(appId: string, ms: number): void {
    this.stateOf(appId).responseDelayMs = ms;
  }

  /** Closes every open /v2/events stream (cleanly, or `abrupt`ly by resetting the connection). */
  dropStreams(opts: { abrupt?: boolean } = {}): number {
    return this.hub.dropAll(opts.abrupt);
  }

  /**
   * For `ms`, accepts connections but answers nothing: REST requests and new event streams
   * wait, open streams send nothing (not even keep-alives). Afterwards all of it goes out.
   */
  stall(ms: number): void {
    if (this.closed) return;
    this.stallUntil = Math.max(this.stallUntil, Date.now() + ms);
    this.hub.pause();
    if (!this.stallGate) {
      let release = () => {};
      const promise = new Promise<void>((resolve) => (release = resolve));
      this.stallGate = { promise, release };
    }
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.endStall(), Math.max(0, this.stallUntil - Date.now()));
  }

  get stalled(): boolean {
    return this.stallGate !== undefined;
  }

  /** Every app with its reported tasks, as GET /v2/apps?embed=apps.tasks would answer. */
  apps(): MarathonApp[] {
    return [...this.appStates.values()].map((st) => this.appJson(st, true));
  }

  app(id: string): MarathonApp | undefined {
    const st = this.appStates.get(absoluteAppId(id));
    return st ? this.appJson(st, true) : undefined;
  }

  /** Reported tasks (of one app, or all), oldest first. */
  tasks(appId?: string): Task[] {
    const id = appId === undefined ? undefined : absoluteAppId(appId);
    return this.visibleTasks(id).map((t) => this.taskJson(t));
  }

  /** Deployments in progress, as GET /v2/deployments answers. */
  deployments(): object[] {
    return [...this.deploymentMap.values()].map((d) => this.deploymentJson(d));
  }

  /** Events published so far (the last 10000), oldest first. */
  events(type?: string): MarathonEvent[] {
    return type ? this.log.filter((e) => e.eventType === type) : [...this.log];
  }

  /** Requests received for a path (no query), e.g. requestCount('/v2/apps'). */
  requestCount(path: string, method = 'GET'): number {
    return this.counts.get(`${method} ${path}`) ?? 0;
  }

  /** All request counts, keyed `METHOD /path`. */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  resetRequestCounts(): void {
    this.counts.clear();
  }

  /** Resolves once `predicate` holds (checked on every change and every 25 ms); rejects after `timeoutMs`. */
  waitFor(predicate: (fm: FakeMarathon) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok = false;
        try {
          ok = predicate(this);
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (ok) {
          done();
          resolve();
        }
      };
      const poll = setInterval(check, 25);
      const timeout = setTimeout(() => {
        done();
        reject(new Error(`fake Marathon: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearInterval(poll);
        clearTimeout(timeout);
        this.changes.off('change', check);
      };
      this.changes.on('change', check);
      check();
    });
  }

  /** Resolves when no deployment is in progress. */
  settled(timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.deploymentMap.size === 0, timeoutMs);
  }

  /** Stops everything it started: servers, streams, tasks, timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const st of this.appStates.values()) if (st.backoffTimer) clearTimeout(st.backoffTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallGate?.release();
    this.hub.close();
    await Promise.all([...this.binding]);
    await Promise.all([...this.taskMap.values()].map((t) => t.listener?.close()));
    this.taskMap.clear();
    await Promise.all([closeServer(this.server), ...(this.follower ? [closeServer(this.follower)] : [])]);
    this.changes.emit('change');
  }

  // ---- HTTP ----

  private redirect(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.writeHead(307, { Location: `${this.url}${req.url ?? '/'}`, 'Content-Length': 0 });
    res.end();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://marathon');
    const key = `${req.method ?? 'GET'} ${url.pathname}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (this.stallGate) await this.stallGate.promise;
    if (this.closed) return void res.destroy();
    try {
      if (!this.authorized(req)) {
        req.resume();
        return sendJson(res, 401, { message: 'Invalid username or password.' }, { 'WWW-Authenticate': 'Basic realm="Mesosphere Marathon"' });
      }
      await this.route(req, res, url);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, e.body);
      if (e instanceof MlbError && e.code === 'E_INPUT_NOT_MARATHON') return sendJson(res, 422, { message: 'Object is not valid', details: [{ path: '/', errors: [e.message] }] });
      sendJson(res, 500, { message: e instanceof Error ? e.message : String(e) });
    }
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.opts.credentials && !this.opts.token) return true;
    const header = req.headers.authorization ?? '';
    if (this.opts.token && header === `token=${this.opts.token}`) return true;
    return !!this.opts.credentials && header === `Basic ${Buffer.from(this.opts.credentials).toString('base64')}`;
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const ctx: RequestContext = { clientIp: req.socket.remoteAddress ?? '', uri: url.pathname };
    if (path === '/ping') return void res.end('pong');
    if (path === '/v2/events' && method === 'GET') return this.attachStream(req, res, url);
    if (path.startsWith('/v2/apps/')) return this.routeApp(req, res, url, path.slice('/v2/apps'.length), ctx);
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/v2/apps' && get) return sendJson(res, 200, { apps: this.listApps(url.searchParams) });
    if (path === '/v2/apps' && method === 'POST') {
      const created = this.postApp(await jsonBody(req), ctx, isFlag(url.searchParams, 'force'));
      return sendJson(res, 201, created, { Location: `${this.url}/v2/apps${created.id}` });
    }
    if (path === '/v2/info' && get) return sendJson(res, 200, this.info());
    if (path === '/v2/leader' && get) return sendJson(res, 200, { leader: `127.0.0.1:${this.port}` });
    if (path === '/v2/deployments' && get) return sendJson(res, 200, this.deployments());
    if (path === '/v2/tasks' && get) return sendJson(res, 200, { tasks: this.tasks() });
    req.resume();
    if (['/v2/apps', '/v2/info', '/v2/leader', '/v2/deployments', '/v2/tasks', '/v2/events'].includes(path)) {
      return sendJson(res, 405, { message: `${method} not allowed on ${path}` });
    }
    sendJson(res, 404, { message: `Not found: ${path}` });
  }

  private async routeApp(req: IncomingMessage, res: ServerResponse, url: URL, rest: string, ctx: RequestContext): Promise<void> {
    const method = req.method ?? 'GET';
    const force = isFlag(url.searchParams, 'force');
    const taskKill = /^(.+)\/tasks\/([^/]+)$/.exec(rest);
    if (taskKill?.[1] && taskKill[2] && method === 'DELETE') {
      return sendJson(res, 200, this.deleteTask(taskKill[1], decodeURIComponent(taskKill[2]), isFlag(url.searchParams, 'scale'), force));
    }
    const tasksOf = /^(.+)\/tasks$/.exec(rest);
    if (tasksOf?.[1] && method === 'GET') return sendJson(res, 200, { tasks: this.visibleTasks(this.stateOf(tasksOf[1], true).def.id).map((t) => this.taskJson(t)) });
    const restart = /^(.+)\/restart$/.exec(rest);
    if (restart?.[1] && method === 'POST') {
      req.resume();
      return sendJson(res, 200, this.restartApp(this.stateOf(restart[1], true), ctx, force));
    }
    if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, { app: this.appJson(this.stateOf(rest, true), true) });
    if (method === 'PUT') {
      const body = await jsonBody(req);
      const existing = this.appStates.get(absoluteAppId(rest));
      if (existing) return sendJson(res, 200, this.applyUpdate(existing, body as Record<string, unknown>, ctx, force));
      const st = this.createApp(asAppDefinition({ ...(body as object), id: absoluteAppId(rest) }, 'app definition'), ctx, force);
      return sendJson(res, 201, { version: st.version, deploymentId: this.deploymentsOf(st.def.id)[0]?.id });
    }
    if (method === 'DELETE') {
      req.resume();
      return sendJson(res, 200, this.deleteApp(this.stateOf(rest, true).def.id, force));
    }
    req.resume();
    sendJson(res, 405, { message: `${method} not allowed on /v2/apps${rest}` });
  }

  private attachStream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    req.resume();
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return sendJson(res, 406, { message: '/v2/events answers Accept: text/event-stream only' });
    }
    const remoteAddress = req.socket.remoteAddress ?? '';
    this.hub.attach(res, eventTypeFilter(url.searchParams), () => this.publish('event_stream_detached', { remoteAddress }));
    this.publish('event_stream_attached', { remoteAddress });
  }

  private info(): object {
    return {
      name: 'marathon',
      version: this.opts.version,
      buildref: 'mlb-ts-fake',
      elected: true,
      leader: `127.0.0.1:${this.port}`,
      frameworkId: FRAMEWORK_ID,
      marathon_config: { hostname: '127.0.0.1', framework_name: 'marathon', mesos_role: '*', task_launch_timeout: 300_000 },
      http_config: { http_port: this.port },
      event_subscriber: null,
    };
  }

  private listApps(params: URLSearchParams): MarathonApp[] {
    const embed = params.getAll('embed');
    return [...this.appStates.values()].map((st) => this.appJson(st, embed.includes('apps.tasks')));
  }

  // ---- apps and deployments ----

  private stateOf(id: string, http = false): AppState {
    const appId = absoluteAppId(id);
    const st = this.appStates.get(appId);
    if (st) return st;
    if (http) throw notFound(`App '${appId}' does not exist`);
    throw new MlbError('E_USAGE', `fake Marathon has no app ${appId}`);
  }

  private liveTask(taskId: string): FakeTask {
    const task = this.taskMap.get(taskId);
    if (!task || task.terminal || task.pending) throw new MlbError('E_USAGE', `fake Marathon has no live task ${taskId}`);
    return task;
  }

  private nextVersion(): string {
    this.lastVersionMs = Math.max(Date.now(), this.lastVersionMs + 1);
    return new Date(this.lastVersionMs).toISOString();
  }

  private postApp(body: unknown, ctx: RequestContext, force: boolean): MarathonApp {
    const def = asAppDefinition(body, 'app definition');
    const id = absoluteAppId(def.id);
    if (this.appStates.has(id)) throw new HttpError(409, { message: `An app with id [${id}] already exists.` });
    return this.appJson(this.createApp(def, ctx, force), false);
  }

  private createApp(def: AppDefinition, ctx: RequestContext, force: boolean): AppState {
    this.unlock(absoluteAppId(def.id), force);
    const version = this.nextVersion();
    const st: AppState = { def: storedApp(def, undefined, this.pool), version, configVersion: version, lastScalingAt: version, backoffUntil: 0, failuresInARow: 0 };
    this.appStates.set(st.def.id, st);
    this.postedAndDeploying(st, ctx, 'StartApplication');
    return st;
  }

  private applyUpdate(st: AppState, patch: Record<string, unknown>, ctx: RequestContext, force: boolean, victim?: FakeTask): object {
    const merged = asAppDefinition({ ...st.def, ...patch, id: st.def.id }, 'app definition');
    this.unlock(st.def.id, force);
    const next = storedApp(merged, st.def, this.pool);
    const configChanged = configKey(next) !== configKey(st.def);
    st.version = this.nextVersion();
    if (configChanged) st.configVersion = st.version;
    else st.lastScalingAt = st.version;
    st.def = next;
    if (victim) this.beginKill(victim, false);
    return this.postedAndDeploying(st, ctx, configChanged ? 'RestartApplication' : 'ScaleApplication');
  }

  private restartApp(st: AppState, ctx: RequestContext, force: boolean): object {
    this.unlock(st.def.id, force);
    st.version = this.nextVersion();
    st.configVersion = st.version;
    return this.postedAndDeploying(st, ctx, 'RestartApplication');
  }

  private postedAndDeploying(st: AppState, ctx: RequestContext, action: DeploymentAction): object {
    this.publish('api_post_event', { clientIp: ctx.clientIp, uri: ctx.uri, appDefinition: this.appJson(st, false) });
    const d = this.startDeployment(st.def.id, st.version, action);
    this.reconcile(st);
    this.settle();
    return { version: st.version, deploymentId: d.id };
  }

  private deleteApp(appId: string, force: boolean): object {
    const st = this.stateOf(appId, true);
    this.unlock(appId, force);
    const version = this.nextVersion();
    if (st.backoffTimer) clearTimeout(st.backoffTimer);
    this.appStates.delete(appId);
    this.pool.releaseApp(appId);
    const d = this.startDeployment(appId, version, 'StopApplication');
    for (const t of this.nonTerminalTasks(appId)) this.beginKill(t, false);
    this.settle();
    return { version, deploymentId: d.id };
  }

  private deleteTask(appPath: string, taskId: string, scale: boolean, force: boolean): object {
    const st = this.stateOf(appPath, true);
    const task = this.taskMap.get(taskId);
    if (!task || task.terminal || task.pending || task.appId !== st.def.id) throw notFound(`Task '${taskId}' does not exist`);
    if (scale) return this.applyUpdate(st, { instances: Math.max(0, (st.def.instances ?? 1) - 1) }, { clientIp: '', uri: `/v2/apps${st.def.id}` }, force, task);
    const reported = this.taskJson(task);
    this.beginKill(task, true);
    return { tasks: [reported] };
  }

  private deploymentsOf(appId: string): Deployment[] {
    return [...this.deploymentMap.values()].filter((d) => d.appId === appId);
  }

  /** An app with a deployment in progress is locked: 409, unless forced (which cancels it). */
  private unlock(appId: string, force: boolean): void {
    const locking = this.deploymentsOf(appId);
    if (locking.length === 0) return;
    if (!force) {
      throw new HttpError(409, {
        message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${locking[0]?.id}'.`,
        deployments: locking.map((d) => ({ id: d.id })),
      });
    }
    for (const d of locking) {
      this.deploymentMap.delete(d.id);
      this.publish('deployment_failed', { id: d.id, plan: this.planJson(d) });
    }
  }

  private startDeployment(appId: string, version: string, action: DeploymentAction): Deployment {
    const d: Deployment = { id: randomUUID(), version, appId, action };
    this.deploymentMap.set(d.id, d);
    this.publish('deployment_info', { plan: this.planJson(d), currentStep: { actions: [{ action, app: appId }] } });
    return d;
  }

  private planJson(d: Deployment): object {
    return { id: d.id, version: d.version, steps: [{ actions: [{ action: d.action, app: d.appId }] }] };
  }

  private deploymentJson(d: Deployment): object {
    const actions = [{ action: d.action, app: d.appId }];
    return { id: d.id, version: d.version, affectedApps: [d.appId], affectedPods: [], steps: [{ actions }], currentActions: actions.map((a) => ({ ...a, readinessCheckResults: [] })), currentStep: 1, totalSteps: 1 };
  }

  /** Finishes every deployment whose target is reached. */
  private settle(): void {
    for (const d of [...this.deploymentMap.values()]) {
      if (!this.deploymentDone(d)) continue;
      this.deploymentMap.delete(d.id);
      if (d.action === 'StopApplication') this.publish('app_terminated_event', { appId: d.appId });
      this.publish('deployment_success', { id: d.id, plan: this.planJson(d) });
    }
    this.changed();
  }

  private deploymentDone(d: Deployment): boolean {
    const st = this.appStates.get(d.appId);
    if (d.action === 'StopApplication') return !st && this.nonTerminalTasks(d.appId).length === 0;
    if (!st) return false;
    const tasks = this.nonTerminalTasks(st.def.id);
    return tasks.length === (st.def.instances ?? 1) && tasks.every((t) => !t.killing && t.configVersion === st.configVersion && this.isReady(t));
  }

  // ---- tasks ----

  private nonTerminalTasks(appId: string): FakeTask[] {
    return [...this.taskMap.values()].filter((t) => t.appId === appId && !t.terminal);
  }

  private visibleTasks(appId?: string): FakeTask[] {
    return [...this.taskMap.values()].filter((t) => (appId === undefined || t.appId === appId) && !t.pending && !t.terminal).sort((a, b) => a.seq - b.seq);
  }

  private isReady(t: FakeTask): boolean {
    if (t.pending || t.state !== 'TASK_RUNNING') return false;
    return (t.def.healthChecks ?? []).length === 0 || t.alive === true;
  }

  /**
   * Brings the app's tasks toward its definition: launches missing instances, kills the
   * youngest extra ones, and kills old-config tasks once enough new ones are ready.
   */
  private reconcile(st: AppState): void {
    if (this.closed || this.appStates.get(st.def.id) !== st) return;
    const want = st.def.instances ?? 1;
    const tasks = this.nonTerminalTasks(st.def.id);
    const current = tasks.filter((t) => t.configVersion === st.configVersion);
    const counted = current.filter((t) => !t.killing || t.killing.replace);
    if (counted.length < want) this.launchMissing(st, want - counted.length);
    if (counted.length > want) this.killExtra(current, counted.length - want);
    const readyCurrent = current.filter((t) => !t.killing && this.isReady(t)).length;
    if (readyCurrent >= want) for (const t of tasks) if (t.configVersion !== st.configVersion && !t.killing) this.beginKill(t, false);
  }

  private killExtra(current: FakeTask[], excess: number): void {
    let left = excess;
    for (const t of current) {
      if (left > 0 && t.killing?.replace) {
        t.killing.replace = false;
        left--;
      }
    }
    const youngestFirst = current.filter((t) => !t.killing).sort((a, b) => b.seq - a.seq);
    for (const t of youngestFirst.slice(0, left)) this.beginKill(t, false);
  }

  private launchMissing(st: AppState, n: number): void {
    const wait = st.backoffUntil - Date.now();
    if (wait > 0) {
      st.backoffTimer ??= setTimeout(() => {
        st.backoffTimer = undefined;
        this.reconcile(st);
        this.settle();
      }, wait);
      return;
    }
    for (let i = 0; i < n; i++) this.launch(st);
  }

  private launch(st: AppState): void {
    const seq = ++this.taskSeq;
    const prefix = taskIdPrefix(st.def.id);
    const task: FakeTask = {
      seq,
      id: `${prefix}.${uuidOf(seq, '8000')}`,
      instanceId: `${prefix}.instance-${uuidOf(seq, '8000')}`,
      appId: st.def.id,
      def: st.def,
      agent: this.agents[(seq - 1) % this.agents.length] as Agent,
      state: 'TASK_STAGING',
      pending: true,
      terminal: false,
      stagedAt: new Date().toISOString(),
      version: st.version,
      configVersion: st.configVersion,
      ports: [],
      servicePorts: servicePortsOf(st.def),
      ipAddresses: [],
      consecutiveFailures: 0,
    };
    this.taskMap.set(task.id, task);
    const binding = this.bindTask(task).finally(() => this.binding.delete(binding));
    this.binding.add(binding);
  }

  private async bindTask(task: FakeTask): Promise<void> {
    let listener: TaskListener;
    let ipAddress: string;
    try {
      ({ listener, ipAddress } = await this.listenFor(task));
    } catch (e) {
      if (!task.terminal && !this.closed) this.finishTask(task, 'TASK_FAILED', `launch failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (task.terminal || this.closed) return listener.close();
    task.listener = listener;
    task.pending = false;
    task.ipAddresses = [{ ipAddress, protocol: 'IPv4' }];
    this.emitStatus(task, '');
    this.after(this.opts.stagingMs, () => this.markRunning(task));
    this.changed();
  }

  private behaviourOf(task: FakeTask) {
    return {
      healthy: () => task.alive ?? (task.def.healthChecks ?? []).length === 0,
      responseDelayMs: () => this.appStates.get(task.appId)?.responseDelayMs ?? responseDelayOf(task.def) ?? this.opts.responseDelayMs,
      healthPaths: healthPathsOf(task.def),
    };
  }

  /** Binds the task's ports as its networking mode says; fills `ports` with the host ports. */
  private async listenFor(task: FakeTask): Promise<{ listener: TaskListener; ipAddress: string }> {
    const plan = taskPlan(task.def);
    const hostBinds: Bind[] = plan.ports.flatMap((p) => (p.hostPort === undefined ? [] : [{ ip: task.agent.ip, port: p.hostPort }]));
    const identity = { taskId: task.id, appId: task.appId };
    if (plan.mode !== 'container') {
      const listener = await listenTask(hostBinds, identity, this.behaviourOf(task));
      task.ports = listener.bound.map((b) => b.port);
      return { listener, ipAddress: plan.mode === 'bridge' ? `172.17.${Math.floor(task.seq / 250) % 250}.${(task.seq % 250) + 2}` : task.agent.ip };
    }
    const containerPorts = plan.ports.flatMap((p) => (p.containerPort ? [p.containerPort] : []));
    for (let attempt = 0; ; attempt++) {
      const ip = this.nextContainerIp();
      try {
        const listener = await listenTask([...hostBinds, ...containerPorts.map((port) => ({ ip, port }))], identity, this.behaviourOf(task));
        task.ports = listener.bound.slice(0, hostBinds.length).map((b) => b.port);
        return { listener, ipAddress: ip };
      } catch (e) {
        // Another fake (maybe in another process) holds this IP:port: try the next IP.
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 50) throw e;
      }
    }
  }

  private nextContainerIp(): string {
    const n = (this.containerIpSeq++ % (254 * 254)) + 1;
    return `127.1.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
  }

  private markRunning(task: FakeTask): void {
    if (task.state !== 'TASK_STAGING' || task.terminal) return;
    task.state = 'TASK_RUNNING';
    task.startedAt = new Date().toISOString();
    this.emitStatus(task, '');
    if ((task.def.healthChecks ?? []).length > 0) {
      if (this.opts.healthyAfterMs <= 0) this.setAlive(task, true);
      else this.after(this.opts.healthyAfterMs, () => this.firstHealthResult(task));
    }
    const st = this.appStates.get(task.appId);
    if (st) st.failuresInARow = 0;
    this.reconcileApp(task.appId);
  }

  private firstHealthResult(task: FakeTask): void {
    if (task.alive === undefined && !task.terminal) this.setAlive(task, true);
  }

  private setAlive(task: FakeTask, alive: boolean): void {
    if (task.alive === alive) return;
    const now = new Date().toISOString();
    task.alive = alive;
    if (alive) {
      task.firstSuccess ??= now;
      task.lastSuccess = now;
      task.consecutiveFailures = 0;
    } else {
      task.lastFailure = now;
      task.consecutiveFailures++;
    }
    if ((task.def.healthChecks ?? []).length > 0) {
      this.publish('health_status_changed_event', { appId: task.appId, taskId: task.id, instanceId: task.instanceId, version: task.version, alive });
    }
    this.reconcileApp(task.appId);
  }

  private beginKill(task: FakeTask, replace: boolean): void {
    if (task.terminal) return;
    if (task.killing) {
      task.killing.replace &&= replace;
      return;
    }
    if (task.pending) {
      // Never announced: it just goes away (bindTask closes what it bound). Reconciling
      // later, not here, as this may run inside reconcile().
      task.terminal = true;
      this.taskMap.delete(task.id);
      this.after(0, () => this.reconcileApp(task.appId));
      return;
    }
    task.killing = { replace };
    task.state = 'TASK_KILLING';
    this.emitStatus(task, '');
    const graceSeconds = task.def.taskKillGracePeriodSeconds ?? this.opts.killGraceSeconds;
    this.after(graceSeconds * 1000, () => this.finishTask(task, 'TASK_KILLED', ''));
    this.changed();
  }

  private finishTask(task: FakeTask, state: 'TASK_KILLED' | 'TASK_FAILED', message: string): void {
    if (task.terminal) return;
    task.state = state;
    task.terminal = true;
    this.emitStatus(task, message);
    void task.listener?.close();
    this.taskMap.delete(task.id);
    const st = this.appStates.get(task.appId);
    if (st && state === 'TASK_FAILED') this.backOff(st);
    this.reconcileApp(task.appId);
  }

  private backOff(st: AppState): void {
    const delay = Math.min(MAX_BACKOFF_MS, this.opts.backoffMs * BACKOFF_FACTOR ** st.failuresInARow);
    st.failuresInARow++;
    st.backoffUntil = Date.now() + delay;
  }

  private reconcileApp(appId: string): void {
    const st = this.appStates.get(appId);
    if (st) this.reconcile(st);
    this.settle();
  }

  // ---- JSON and events ----

  private healthResults(task: FakeTask): HealthCheckResult[] {
    if (task.alive === undefined) return [];
    return (task.def.healthChecks ?? []).map(() => ({
      alive: task.alive,
      consecutiveFailures: task.consecutiveFailures,
      firstSuccess: task.firstSuccess ?? null,
      lastSuccess: task.lastSuccess ?? null,
      lastFailure: task.lastFailure ?? null,
      instanceId: task.instanceId,
    }));
  }

  private taskJson(task: FakeTask): Task {
    const json: Task & Record<string, unknown> = {
      id: task.id,
      appId: task.appId,
      slaveId: task.agent.slaveId,
      host: task.agent.ip,
      state: task.state,
      stagedAt: task.stagedAt,
      startedAt: task.startedAt ?? null,
      version: task.version,
      ports: [...task.ports],
      servicePorts: [...task.servicePorts],
      ipAddresses: task.ipAddresses.map((a) => ({ ...a })),
      localVolumes: [],
    };
    if ((task.def.healthChecks ?? []).length > 0) json.healthCheckResults = this.healthResults(task);
    return json;
  }

  private appJson(st: AppState, withTasks: boolean): MarathonApp {
    const tasks = this.visibleTasks(st.def.id);
    const hc = (st.def.healthChecks ?? []).length > 0;
    const app: MarathonApp & Record<string, unknown> = {
      ...structuredClone(st.def),
      version: st.version,
      versionInfo: { lastScalingAt: st.lastScalingAt, lastConfigChangeAt: st.configVersion },
      tasksStaged: tasks.filter((t) => t.state === 'TASK_STAGING').length,
      tasksRunning: tasks.filter((t) => t.state === 'TASK_RUNNING').length,
      tasksHealthy: hc ? tasks.filter((t) => t.alive === true).length : 0,
      tasksUnhealthy: hc ? tasks.filter((t) => t.alive === false).length : 0,
      deployments: this.deploymentsOf(st.def.id).map((d) => ({ id: d.id })),
    };
    if (withTasks) app.tasks = tasks.map((t) => this.taskJson(t));
    return app;
  }

  private emitStatus(task: FakeTask, message: string): void {
    this.publish('status_update_event', {
      slaveId: task.agent.slaveId,
      taskId: task.id,
      taskStatus: task.state,
      message,
      appId: task.appId,
      host: task.agent.ip,
      ipAddresses: task.ipAddresses.map((a) => ({ ...a })),
      ports: [...task.ports],
      version: task.version,
    });
    this.publish('instance_changed_event', {
      instanceId: task.instanceId,
      condition: CONDITIONS[task.state] ?? 'Unknown',
      runSpecId: task.appId,
      agentId: task.agent.slaveId,
      host: task.agent.ip,
      runSpecVersion: task.version,
    });
  }

  private publish(eventType: string, fields: Record<string, unknown>): void {
    if (this.closed) return;
    const event: MarathonEvent = { ...fields, eventType, timestamp: new Date().toISOString() };
    this.log.push(event);
    if (this.log.length > EVENT_LOG_LIMIT) this.log.shift();
    this.hub.publish(event);
    this.changed();
  }

  private changed(): void {
    this.changes.emit('change');
  }

  private after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  private endStall(): void {
    this.stallTimer = undefined;
    const gate = this.stallGate;
    this.stallGate = undefined;
    this.stallUntil = 0;
    this.hub.resume();
    gate?.release();
  }
}

/** Starts a fake Marathon (see FakeMarathon). */
export function startFakeMarathon(opts: FakeMarathonOptions = {}): Promise<FakeMarathon> {
  return FakeMarathon.start(opts);
}
