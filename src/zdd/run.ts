import { spawn } from 'node:child_process';
import { errorLine, MlbError } from '../errors.js';
import { HostResolver } from '../io/dns.js';
import { fetchApps, isHttpUrl, type MarathonSource } from '../marathon/client.js';
import type { MarathonApp } from '../marathon/types.js';
import { drainable, type LbSource, lbName, readStats, type ServerRef, sessionsOn, setServerState } from './lb.js';
import { createApp, deleteApp, killTask, scaleApp, type WriteResult } from './marathon.js';
import { type Action, type AppDefinition, deploymentGroupOf, describePlan, type InterruptedChoice, nextAction, planDeploy, type Shift, taskAddresses, type ZddPlan } from './plan.js';

export interface ZddRunOptions {
  source: MarathonSource;
  def: AppDefinition;
  lbs: LbSource[];
  dryRun: boolean;
  choice?: InterruptedChoice;
  initialInstances: number;
  /** --target: the new app's target (default: the live app's instances). */
  targetInstances?: number;
  /** -n/--new-instances: a hybrid deploy, the new app grows to this many and the old app keeps the rest. */
  newInstances?: number;
  /** --step: instances or a fraction of the target; absent: geometric growth (zdd.py's). */
  step?: number;
  stepDelayMs: number;
  /**
   * Each wait (as zdd.py's --max-wait): for new tasks to turn healthy or old ones to finish
   * (then E_ZDD, the deploy left half-way), and for a task's sessions to end (then it is killed anyway).
   */
  maxWaitMs: number;
  /** Longest wait for a task's sessions to end before it is killed anyway; default: --max-wait. */
  drainTimeoutMs?: number;
  /** zdd.py's --pre-kill-hook: run with the old app, the task ids about to be killed and the new app (JSON) once they are drained, before each kill step. */
  preKillHook?: string;
  /** Between two looks at Marathon. */
  pollMs: number;
  /** Aborting (SIGINT, SIGTERM) stops at the next step, undoing a drain whose kill did not happen. */
  signal?: AbortSignal;
}

export interface ZddOutput {
  /** One line of progress (what was done and why). */
  progress(line: string): void;
  /** The result: the plan of a dry run, the summary of a deploy. */
  result(text: string): void;
}

interface Tally {
  killed: number;
  forced: number;
  scaled: number;
  deleted: string[];
}

/** A server zdd put into drain, on an admin socket or through a master CLI. */
interface Drained {
  lb: { kind: 'socket' | 'master'; path: string };
  ref: ServerRef;
}

const SESSION_POLL_MS = 100;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function drainNote(opts: ZddRunOptions): string {
  if (opts.lbs.length === 0) return 'at once (no --haproxy-socket, --haproxy-master-socket or --lb-stats-url to watch its sessions)';
  const limit = opts.drainTimeoutMs === undefined ? `--max-wait, ${opts.maxWaitMs / 1000} s` : `${opts.drainTimeoutMs / 1000} s`;
  const drain = opts.lbs.some((lb) => lb.kind !== 'url') ? 'after draining it through the admin socket or master CLI, ' : '';
  const who = opts.lbs.length === 1 ? 'the load balancer shows no sessions' : `none of the ${opts.lbs.length} load balancers shows a session`;
  return `${drain}once ${who} on it (at most ${limit})`;
}

/** Older and newer app of a deploy that can be left half-way. */
function sidesOf(plan: ZddPlan): { older: string; newer: string } | undefined {
  if (plan.kind === 'deploy') return { older: plan.current.id, newer: plan.create.def.id };
  if (plan.kind === 'interrupted') return { older: plan.older.id, newer: plan.newer.id };
  return undefined;
}

/** How to go on from a deploy left half-way (undefined for a first deploy: nothing is half-way). */
function halfWayHint(plan: ZddPlan): string | undefined {
  const sides = sidesOf(plan);
  if (!sides) return undefined;
  return (
    `the deploy is left half-way with ${sides.older} and ${sides.newer} both in Marathon: run again with --resume to continue it, ` +
    `--complete-cur to finish it now keeping ${sides.newer}, or --complete-prev to roll back to ${sides.older}`
  );
}

/** Worth waiting out: no Marathon answered, or one answered 5xx (a leader election, a proxy's error page). */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof MlbError)) return false;
  return e.code === 'E_MARATHON_UNREACHABLE' || (e.code === 'E_MARATHON_HTTP' && / answered HTTP 5\d\d\b/.test(e.message));
}

function goOnHint(plan: ZddPlan, shift: Shift): string {
  return halfWayHint(plan) ?? `${shift.to} stays in Marathon as it is: look at its tasks there`;
}

/**
 * Runs --pre-kill-hook (an executable, no shell) with zdd.py's three JSON arguments: the old
 * app, the ids of the tasks about to be killed, the new app. Its output goes to stderr (stdout
 * carries the result). E_ZDD unless it exits 0.
 */
function runPreKillHook(hook: string, oldApp: unknown, taskIds: string[], newApp: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(hook, [JSON.stringify(oldApp), JSON.stringify(taskIds), JSON.stringify(newApp)], { stdio: ['ignore', 2, 2] });
    child.once('error', (e) => reject(new MlbError('E_ZDD', `--pre-kill-hook ${hook} could not run (${e.message}); nothing was killed`, { cause: e })));
    child.once('exit', (code, sig) => {
      if (code === 0) resolve();
      else reject(new MlbError('E_ZDD', `--pre-kill-hook ${hook} ${sig ? `ended by ${sig}` : `exited with status ${code}`}; nothing was killed`));
    });
  });
}

class Deploy {
  /** When the current wait (for tasks to turn ready or finish, or Marathon to answer) began. */
  private waitingSince: number | undefined;
  /** The last action was a write Marathon refused while a deployment held the app: its retry goes on the same wait. */
  private lockedStreak = false;
  private readonly resolver = new HostResolver();
  private readonly tally: Tally = { killed: 0, forced: 0, scaled: 0, deleted: [] };
  private lastNote = '';

  constructor(
    private readonly plan: ZddPlan,
    private readonly shift: Shift,
    private readonly opts: ZddRunOptions,
    private readonly out: ZddOutput,
  ) {}

  /** Counts towards --max-wait: one wait may last that long (progress of any kind starts a new one). */
  private waited(): void {
    const now = Date.now();
    this.waitingSince ??= now;
    if (now - this.waitingSince > this.opts.maxWaitMs) {
      throw new MlbError('E_ZDD', `timed out: waited more than --max-wait ${this.opts.maxWaitMs / 1000} s${this.lastNote ? ` (last: ${this.lastNote})` : ''}; ${goOnHint(this.plan, this.shift)}`);
    }
  }

  /** A progress line, unless it repeats the previous one (waits are reported once). */
  private note(line: string): void {
    if (line === this.lastNote) return;
    this.lastNote = line;
    this.out.progress(line);
  }

  private checkAbort(): void {
    if (this.opts.signal?.aborted) throw new MlbError('E_ZDD', `interrupted; ${goOnHint(this.plan, this.shift)}`);
  }

  private async apps(): Promise<MarathonApp[] | undefined> {
    try {
      return (await fetchApps(this.opts.source)).apps;
    } catch (e) {
      if (!isTransient(e)) throw e;
      this.note(`Marathon unreachable; retrying (${errorLine(e)})`);
      return undefined;
    }
  }

  async run(): Promise<Tally> {
    for (;;) {
      this.checkAbort();
      const apps = await this.apps();
      if (!apps) {
        this.waited();
        await pause(this.opts.pollMs, this.opts.signal);
        continue;
      }
      const action = nextAction(this.shift, apps);
      if (action.kind === 'wait') this.waited();
      else if (!this.lockedStreak) this.waitingSince = undefined;
      if (action.kind === 'done') {
        this.note(action.reason);
        return this.tally;
      }
      const progressed = await this.perform(action, apps);
      this.lockedStreak = action.kind !== 'wait' && !progressed;
    }
  }

  /** Performs one action; whether it got anywhere (a wait does not, nor a write Marathon refused while a deployment holds the app). */
  private async perform(action: Exclude<Action, { kind: 'done' }>, apps: MarathonApp[]): Promise<boolean> {
    switch (action.kind) {
      case 'wait':
        this.note(action.reason);
        await pause(this.opts.pollMs, this.opts.signal);
        return false;
      case 'kill':
        return this.drainAndKill(action.appId, action.taskIds, action.reason, apps);
      case 'scale': {
        const r = await scaleApp(this.opts.source, action.appId, action.instances);
        if (await this.lockedRetry(r, action.appId)) return false;
        this.tally.scaled++;
        this.note(`scaled ${action.appId} to ${action.instances} (${action.reason})`);
        await pause(this.opts.stepDelayMs, this.opts.signal);
        return true;
      }
      case 'delete': {
        const r = await deleteApp(this.opts.source, action.appId);
        if (await this.lockedRetry(r, action.appId)) return false;
        this.tally.deleted.push(action.appId);
        this.note(`deleted ${action.appId} (${action.reason})`);
        return true;
      }
    }
  }

  /**
   * True (after a pause) when a deployment held the app (HTTP 409) and the step must be tried
   * again. Such retries are a wait: --max-wait bounds them.
   */
  private async lockedRetry(r: WriteResult, appId: string): Promise<boolean> {
    if (r !== 'locked') return false;
    this.waited();
    this.note(`${appId} is locked by a Marathon deployment; trying again`);
    await pause(this.opts.pollMs, this.opts.signal);
    return true;
  }

  private async addressesOf(taskId: string, apps: MarathonApp[]): Promise<Set<string>> {
    const hosts = apps.flatMap((a) => (a.tasks ?? []).flatMap((t) => (t.host ? [t.host] : [])));
    const resolve = await this.resolver.resolveAll(hosts);
    return taskAddresses(apps, resolve).get(taskId) ?? new Set();
  }

  /**
   * Drains the task's servers on every admin socket and master CLI (there on the current worker):
   * new sessions go elsewhere, so its current ones can end (on a server still in rotation
   * there would always be new ones).
   */
  private async drain(addrs: Set<string>): Promise<Drained[]> {
    const drained: Drained[] = [];
    for (const lb of this.opts.lbs) {
      if (lb.kind === 'url') continue;
      try {
        for (const ref of drainable(await readStats(lb), addrs)) {
          await setServerState(lb, ref, 'drain');
          drained.push({ lb, ref });
        }
      } catch (e) {
        this.note(`cannot drain on ${lb.path} (${errorLine(e)}); waiting for its sessions anyway`);
      }
    }
    return drained;
  }

  /** Puts back into rotation what was drained for a kill that did not happen. */
  private async undrain(drained: Drained[]): Promise<void> {
    for (const { lb, ref } of drained) {
      const where = ref.worker !== undefined ? `${lb.path} (worker ${ref.worker})` : lb.path;
      try {
        await setServerState(lb, ref, 'ready');
        this.out.progress(`put ${ref.server} back into rotation on ${where} (its task was not killed)`);
      } catch (e) {
        this.out.progress(`could not put ${ref.server} back into rotation on ${where}: ${errorLine(e)}; 'set server ${ref.server} state ready' there does`);
      }
    }
  }

  /** Sessions on the task's servers across the load balancers; `unread`: those that did not answer. */
  private async sessions(addrs: Set<string>): Promise<{ sessions: number; servers: string[]; unread: string[] }> {
    let sessions = 0;
    const servers: string[] = [];
    const unread: string[] = [];
    for (const lb of this.opts.lbs) {
      try {
        const s = sessionsOn(await readStats(lb), addrs);
        sessions += s.sessions;
        servers.push(...s.servers);
      } catch (e) {
        unread.push(`${lbName(lb)}: ${errorLine(e)}`);
      }
    }
    return { sessions, servers, unread };
  }

  /** Waits until no load balancer shows a session on the task, or the drain limit passes; says how it ended. */
  private async waitForNoSessions(taskId: string, addrs: Set<string>): Promise<string> {
    const t0 = Date.now();
    const until = t0 + (this.opts.drainTimeoutMs ?? this.opts.maxWaitMs);
    for (;;) {
      this.checkAbort();
      const s = await this.sessions(addrs);
      const where = s.servers.length > 0 ? `on ${s.servers.join(', ')}` : `(${taskId} is in no load balancer's stats)`;
      if (s.unread.length === 0 && s.sessions === 0) return `0 sessions ${where} after ${Date.now() - t0} ms`;
      if (Date.now() >= until) {
        this.tally.forced++;
        return `still ${s.sessions} session${s.sessions === 1 ? '' : 's'} ${where}${s.unread.length ? `, unreadable: ${s.unread.join('; ')}` : ''} after ${Date.now() - t0} ms; killed anyway`;
      }
      this.note(s.unread.length > 0 ? `cannot read the sessions of ${taskId}: ${s.unread.join('; ')}; trying again` : `waiting for ${s.sessions} session${s.sessions === 1 ? '' : 's'} ${where} to end before killing ${taskId}`);
      await pause(SESSION_POLL_MS, this.opts.signal);
    }
  }

  /**
   * zdd.py's order: the step's tasks are drained and their sessions waited for, then
   * --pre-kill-hook runs on them, then they are killed. What was drained for a kill that did
   * not happen (a failed hook, an abort) goes back into rotation.
   */
  private async drainAndKill(appId: string, taskIds: string[], reason: string, apps: MarathonApp[]): Promise<boolean> {
    const drained = new Map<string, Drained[]>();
    let progressed = false;
    try {
      const how = new Map<string, string>();
      if (this.opts.lbs.length > 0) {
        const addrs = new Map<string, Set<string>>();
        for (const id of taskIds) {
          addrs.set(id, await this.addressesOf(id, apps));
          drained.set(id, await this.drain(addrs.get(id) as Set<string>));
        }
        for (const id of taskIds) {
          const servers = [...new Set((drained.get(id) ?? []).map((d) => d.ref.server))];
          how.set(id, `${servers.length ? `drained ${servers.join(', ')}; ` : ''}${await this.waitForNoSessions(id, addrs.get(id) as Set<string>)}`);
        }
      }
      if (this.opts.preKillHook !== undefined) await this.runHook(appId, taskIds, apps);
      for (const id of taskIds) {
        this.checkAbort();
        const r = await killTask(this.opts.source, appId, id);
        // Still running (a deployment holds the app): what was drained for it goes back, and the kill is tried again.
        if (await this.lockedRetry(r, appId)) return progressed;
        drained.delete(id);
        progressed = true;
        if (r === 'gone') {
          this.note(`${id} of ${appId} was already gone`);
          continue;
        }
        this.tally.killed++;
        this.note(`killed ${id} of ${appId}: ${how.get(id) ?? 'no load balancer to watch'} (${reason})`);
      }
      return progressed;
    } finally {
      const left = [...drained.values()].flat();
      if (left.length > 0) await this.undrain(left);
    }
  }

  private async runHook(appId: string, taskIds: string[], apps: MarathonApp[]): Promise<void> {
    const hook = this.opts.preKillHook as string;
    this.note(`running --pre-kill-hook ${hook} before killing ${taskIds.join(', ')}`);
    try {
      await runPreKillHook(hook, apps.find((a) => a.id === appId), taskIds, apps.find((a) => a.id === this.shift.to));
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new MlbError('E_ZDD', `${m}; ${goOnHint(this.plan, this.shift)}`, { cause: e instanceof Error ? e.cause : undefined });
    }
  }
}

async function checkLbs(lbs: LbSource[]): Promise<void> {
  for (const lb of lbs) {
    try {
      await readStats(lb);
    } catch (e) {
      throw new MlbError('E_ZDD', `cannot read the stats of load balancer ${lbName(lb)}; nothing changed`, { cause: e });
    }
  }
}

function announce(plan: ZddPlan, out: ZddOutput): void {
  for (const n of plan.kind === 'first' || plan.kind === 'deploy' ? plan.create.notes : []) out.progress(`note: ${n}`);
  if (plan.kind === 'interrupted') out.progress(`${plan.older.id} and ${plan.newer.id} are both in deployment group ${plan.group}; --${plan.choice}: moving traffic from ${plan.shift.from} to ${plan.shift.to} (target ${plan.shift.target})`);
}

function summaryOf(plan: ZddPlan, shift: Shift, tally: Tally, ms: number): string {
  const parts =
    shift.hybrid !== undefined && shift.from !== undefined
      ? [`hybrid deploy of group ${plan.group}: ${shift.to} serves with ${shift.hybrid} healthy task${shift.hybrid === 1 ? '' : 's'}, ${shift.from} with the rest of ${shift.target} (kept; finish with --complete-cur or --complete-prev)`]
      : [`${shift.to} serves deployment group ${plan.group} with ${shift.target} healthy task${shift.target === 1 ? '' : 's'}`];
  if (tally.deleted.length) parts.push(`deleted ${tally.deleted.join(', ')}`);
  parts.push(`${tally.killed} task${tally.killed === 1 ? '' : 's'} drained and killed${tally.forced ? ` (${tally.forced} with sessions left)` : ''}`, `${tally.scaled} scale step${tally.scaled === 1 ? '' : 's'}`);
  return `mlb-ts zdd: done: ${parts.join('; ')}; ${(ms / 1000).toFixed(1)} s\n`;
}

/** A failure once the new app exists: say how to go on; what failed stays the cause. */
function stoppedError(plan: ZddPlan, e: unknown): unknown {
  const hint = halfWayHint(plan);
  if (!hint || (e instanceof MlbError && e.code === 'E_ZDD')) return e;
  return new MlbError('E_ZDD', `stopped: ${hint}; what failed`, { cause: e });
}

/** `mlb-ts zdd`: plans from Marathon's state, then (unless a dry run) carries the plan out. Throws MlbError on failure. */
export async function runZdd(opts: ZddRunOptions, out: ZddOutput): Promise<void> {
  const startedAt = Date.now();
  deploymentGroupOf(opts.def);
  const doc = await fetchApps(opts.source);
  const plan = planDeploy(opts.def, doc.apps, {
    now: new Date(startedAt),
    initialInstances: opts.initialInstances,
    ...(opts.step !== undefined ? { step: opts.step } : {}),
    ...(opts.targetInstances !== undefined ? { targetInstances: opts.targetInstances } : {}),
    ...(opts.newInstances !== undefined ? { newInstances: opts.newInstances } : {}),
    ...(opts.choice ? { choice: opts.choice } : {}),
  });
  if (opts.dryRun) {
    out.result(`${describePlan(plan, { stepDelaySeconds: opts.stepDelayMs / 1000, drainNote: drainNote(opts) }).join('\n')}\n`);
    return;
  }
  if (plan.kind === 'nothing') {
    out.progress(plan.reason);
    return;
  }
  if (!opts.source.urls.some(isHttpUrl)) throw new MlbError('E_USAGE', 'a deploy needs a Marathon URL (-m http://…); a file only works with --dry-run');
  await checkLbs(opts.lbs);
  if (opts.lbs.length === 0) out.progress('no --haproxy-socket, --haproxy-master-socket or --lb-stats-url: tasks are killed without waiting for their sessions to end');
  announce(plan, out);
  if (plan.kind === 'first' || plan.kind === 'deploy') {
    await createApp(opts.source, plan.create.def);
    const d = plan.create.def;
    out.progress(`created ${d.id} (${plan.create.colour}) with ${d.instances} instance${d.instances === 1 ? '' : 's'}, target ${plan.create.target}${plan.kind === 'deploy' ? `, replacing ${plan.current.id}` : ' (first deploy of the group)'}`);
  }
  let tally: Tally;
  try {
    tally = await new Deploy(plan, plan.shift, opts, out).run();
  } catch (e) {
    throw stoppedError(plan, e);
  }
  out.result(summaryOf(plan, plan.shift, tally, Date.now() - startedAt));
}
