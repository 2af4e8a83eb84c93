import { MlbError } from '../errors.js';
import type { MarathonApp, PortDefinition, PortMapping, Task } from '../marathon/types.js';
import { buildModel } from '../model/build.js';
import { APP_LABELS } from '../model/labels/registry.js';
import { LabelValueError, notTextProblem, parsePort } from '../model/labels/values.js';
import { cmp } from '../model/service-ports.js';
import { isHealthy } from '../model/tasks.js';

/**
 * Pure planning of a blue/green deploy (`mlb-ts zdd`): which apps of the deployment group
 * exist, what the new app looks like, and — given Marathon's current state — the next step.
 * No I/O: the executor (run.ts) fetches, calls and sleeps.
 */

/** An app definition as posted: Marathon's typed fields plus anything else (cmd, env…). */
export type AppDefinition = MarathonApp & Record<string, unknown>;

export type Colour = 'blue' | 'green';

/** How to go on when a previous deploy left two apps in the group. */
export type InterruptedChoice = 'resume' | 'complete-cur' | 'complete-prev';

export const LABEL = {
  group: APP_LABELS.deploymentGroup.name,
  altPort: APP_LABELS.deploymentAltPort.name,
  colour: APP_LABELS.deploymentColour.name,
  startedAt: APP_LABELS.deploymentStartedAt.name,
  targetInstances: APP_LABELS.deploymentTargetInstances.name,
  newInstances: APP_LABELS.deploymentNewInstances.name,
  appId: APP_LABELS.appId.name,
} as const;

const portLabel = (n: number) => `HAPROXY_${n}_PORT`;

/** Fields Marathon reports but a posted definition must not carry. */
const REPORTED_ONLY = ['version', 'versionInfo', 'tasks', 'deployments', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'lastTaskFailure', 'taskStats', 'readinessCheckResults'];

const TERMINAL_STATES = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

function labelOf(app: MarathonApp, name: string): string | undefined {
  const v = app.labels?.[name];
  if (v !== undefined && typeof v !== 'string') throw zddError(`${app.id}: ${name} ${JSON.stringify(v)} ${notTextProblem(v)}`);
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function zddError(message: string): MlbError {
  return new MlbError('E_ZDD', message);
}

function integerLabel(app: MarathonApp, name: string): number | undefined {
  const raw = labelOf(app, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw zddError(`${app.id}: ${name} ${JSON.stringify(raw)} is not a whole number`);
  return Number(raw);
}

function portLabelOf(app: MarathonApp, name: string): number | undefined {
  const raw = labelOf(app, name);
  if (raw === undefined) return undefined;
  try {
    return parsePort(raw);
  } catch (e) {
    if (e instanceof LabelValueError) throw zddError(`${app.id}: ${name} ${JSON.stringify(raw)} ${e.message}`);
    throw e;
  }
}

/** The definition's HAPROXY_DEPLOYMENT_GROUP: without one there is nothing to deploy blue/green. */
export function deploymentGroupOf(def: MarathonApp): string {
  const group = labelOf(def, LABEL.group);
  if (!group) throw zddError(`${def.id}: the app definition has no ${LABEL.group} label (e.g. "${LABEL.group}": "shop")`);
  return group;
}

export function startedAtOf(app: MarathonApp): string {
  return labelOf(app, LABEL.startedAt) ?? '';
}

/** Older deployment first, as the load balancer's model orders them (string order of the ISO timestamp). */
export function byDeploymentAge(a: MarathonApp, b: MarathonApp): number {
  return cmp(startedAtOf(a), startedAtOf(b)) || cmp(a.id, b.id);
}

export type GroupState =
  | { kind: 'none'; group: string }
  | { kind: 'one'; group: string; current: MarathonApp }
  | { kind: 'two'; group: string; older: MarathonApp; newer: MarathonApp };

/** The group's apps in Marathon: none (first deploy), one (the live app) or two (a deploy was interrupted). */
export function groupStateOf(apps: readonly MarathonApp[], group: string): GroupState {
  const members = apps.filter((a) => labelOf(a, LABEL.group) === group).sort(byDeploymentAge);
  const [first, second] = members;
  if (members.length > 2) throw zddError(`deployment group ${group} has ${members.length} apps (${members.map((a) => a.id).join(', ')}); at most two can take part in a deploy — delete the extra ones`);
  if (!first) return { kind: 'none', group };
  if (!second) return { kind: 'one', group, current: first };
  if (startedAtOf(first) === startedAtOf(second)) {
    throw zddError(`deployment group ${group} has two apps, ${first.id} and ${second.id}, with the same ${LABEL.startedAt} (${JSON.stringify(startedAtOf(first))}): cannot tell which is newer`);
  }
  return { kind: 'two', group, older: first, newer: second };
}

/** `/shop-green` → `/shop`: the id without its colour. */
export function baseIdOf(id: string): string {
  const abs = `/${id.split('/').filter(Boolean).join('/')}`;
  return abs.replace(/-(blue|green)$/, '');
}

export function otherColour(c: Colour): Colour {
  return c === 'blue' ? 'green' : 'blue';
}

/** The app's colour: its label, else its id's suffix; an app deployed without zdd counts as blue. */
export function colourOf(app: MarathonApp): Colour {
  const label = labelOf(app, LABEL.colour)?.toLowerCase();
  if (label === 'blue' || label === 'green') return label;
  return /-green$/.test(app.id) ? 'green' : 'blue';
}

function mappingsOf(app: MarathonApp): PortMapping[] | undefined {
  return app.container?.portMappings ?? app.container?.docker?.portMappings ?? undefined;
}

function portDefinitionsOf(app: MarathonApp): PortDefinition[] | undefined {
  if (app.portDefinitions) return app.portDefinitions;
  if (app.ports) return app.ports.map((port) => ({ port }));
  return undefined;
}

/** Marathon service ports by port index (0: none / to be assigned). */
export function servicePortsOf(app: MarathonApp): number[] {
  const mappings = mappingsOf(app);
  if (mappings && mappings.length > 0) return mappings.map((m) => m.servicePort ?? 0);
  return (portDefinitionsOf(app) ?? []).map((d) => d.port ?? 0);
}

/** The definition with these service ports, in whichever form it declares them (portMappings or portDefinitions). */
export function withServicePorts(def: AppDefinition, ports: readonly number[]): AppDefinition {
  const out = structuredClone(def);
  const at = (i: number) => ports[i] ?? 0;
  if (out.container?.portMappings?.length) {
    out.container.portMappings = out.container.portMappings.map((m, i) => ({ ...m, servicePort: at(i) }));
  } else if (out.container?.docker?.portMappings?.length) {
    out.container.docker.portMappings = out.container.docker.portMappings.map((m, i) => ({ ...m, servicePort: at(i) }));
  } else {
    const defs = portDefinitionsOf(out);
    if (defs) {
      out.portDefinitions = defs.map((d, i) => ({ ...d, port: at(i) }));
      delete out.ports;
    }
  }
  return out;
}

/** Port index → the port HAProxy binds for it: HAPROXY_{n}_PORT, else Marathon's service port. */
export function bindPortsOf(app: MarathonApp): Map<number, number> {
  const out = new Map<number, number>();
  servicePortsOf(app).forEach((p, i) => {
    if (p > 0) out.set(i, p);
  });
  for (const key of Object.keys(app.labels ?? {})) {
    const m = /^HAPROXY_(\d+)_PORT$/.exec(key);
    if (!m) continue;
    const port = portLabelOf(app, key);
    if (port !== undefined) out.set(Number(m[1]), port);
  }
  return out;
}

export interface NewAppOptions {
  now: Date;
  /** Instances the new app starts with when it replaces a live one. */
  initialInstances: number;
  /** --target: the target; default the live app's instances (the definition's on a first deploy). */
  targetInstances?: number;
  /**
   * -n/--new-instances (zdd.py's hybrid deploy): the new app grows to this many instances only,
   * the live app keeps the rest of the target and is not deleted. At or above the target: a normal deploy.
   */
  newInstances?: number;
}

export interface NewApp {
  def: AppDefinition;
  colour: Colour;
  target: number;
  /** A hybrid deploy: the new app's instances (below the target); the live app keeps the rest. */
  hybrid?: number;
  /** Service ports it claims in Marathon, by port index. */
  servicePorts: number[];
  /** Ports HAProxy binds for it, by port index (the live app's, so both share one backend). */
  bindPorts: Map<number, number>;
  /** What was changed in the definition and why, for the operator. */
  notes: string[];
}

function postable(def: AppDefinition): AppDefinition {
  const out = structuredClone(def);
  for (const f of REPORTED_ONLY) delete out[f];
  return out;
}

/**
 * Service ports of the new app: port 0 takes whichever of the definition's own port and
 * HAPROXY_DEPLOYMENT_ALT_PORT the live app does not hold (Marathon refuses two apps with one
 * service port); other ports are left for Marathon to assign — HAPROXY_{n}_PORT binds them.
 */
function swappedServicePorts(def: AppDefinition, current: MarathonApp): number[] {
  const alt = portLabelOf(def, LABEL.altPort);
  if (alt === undefined) throw zddError(`${def.id}: the app definition has no ${LABEL.altPort} label: the new colour needs a service port the live app ${current.id} does not hold`);
  const own = servicePortsOf(def);
  if (own.length === 0) return [];
  const main = own[0] ?? 0;
  if (main === alt) throw zddError(`${def.id}: ${LABEL.altPort} ${alt} is the definition's own service port; it must differ`);
  const held = servicePortsOf(current)[0];
  return own.map((_, i) => (i === 0 ? (held === alt ? main : alt) : 0));
}

/** The app to post: coloured id, blue/green labels, the live app's bind ports, swapped service ports. */
export function newAppOf(def: AppDefinition, current: MarathonApp | undefined, opts: NewAppOptions): NewApp {
  const base = baseIdOf(def.id);
  const colour = current ? otherColour(colourOf(current)) : 'blue';
  const id = `${base}-${colour}`;
  if (current && current.id === id) throw zddError(`${current.id} is labelled ${colourOf(current)} but named ${colour}: fix its ${LABEL.colour} label`);
  const target = opts.targetInstances ?? current?.instances ?? def.instances ?? 1;
  const hybrid = current && opts.newInstances !== undefined && opts.newInstances > 0 && opts.newInstances < target ? opts.newInstances : undefined;
  const instances = current ? Math.min(opts.initialInstances, hybrid ?? target) : target;
  const notes: string[] = [];

  let out = postable(def);
  const servicePorts = current ? swappedServicePorts(def, current) : servicePortsOf(def);
  if (current) out = withServicePorts(out, servicePorts);

  const bindPorts = current ? bindPortsOf(current) : bindPortsOf(def);
  const portLabels: Record<string, string> = {};
  for (const [i, port] of bindPorts) {
    const own = labelOf(def, portLabel(i));
    if (current && own !== undefined && own !== String(port)) notes.push(`${portLabel(i)} ${own} of the definition replaced by ${port}, the port ${current.id} binds (a deploy keeps the public port)`);
    if (current || own !== undefined) portLabels[portLabel(i)] = String(port);
  }
  out.id = id;
  out.instances = instances;
  out.labels = {
    ...def.labels,
    ...portLabels,
    [LABEL.colour]: colour,
    [LABEL.startedAt]: opts.now.toISOString(),
    [LABEL.targetInstances]: String(target),
    // zdd.py's meaning: the new app's share of a hybrid deploy, 0 for a whole one (so a later
    // run never mistakes a finished deploy for a hybrid one).
    [LABEL.newInstances]: String(hybrid ?? 0),
    [LABEL.appId]: labelOf(def, LABEL.appId) ?? base,
  };
  return { def: out, colour, target, ...(hybrid !== undefined ? { hybrid } : {}), servicePorts, bindPorts, notes };
}

/** --step as given, or E_USAGE: a whole number of instances, or a fraction (0 < step < 1) of the target. */
export function checkStep(step: number): number {
  if (!Number.isFinite(step) || step <= 0 || (step > 1 && !Number.isInteger(step))) {
    throw new MlbError('E_USAGE', `--step must be a whole number of instances or a fraction below 1 of the target (got ${step})`);
  }
  return step;
}

/** Instances added per step: --step itself, or its fraction of the target, at least 1. */
export function stepSizeOf(step: number, target: number): number {
  checkStep(step);
  return step < 1 ? Math.max(1, Math.ceil(step * target)) : step;
}

/** How the new side grows: a fixed number of instances per step, or by half each step (zdd.py's way, the default). */
export type StepSize = number | 'geometric';

/**
 * The new side's next size from `wanted` instances: a fixed step, or (geometric) half as many
 * again, rounded down, at least one more; once that reaches the old side's live tasks, the
 * whole target at once (as marathon-lb's zdd.py scales).
 */
export function nextSize(step: StepSize, wanted: number, target: number, fromLive: number): number {
  if (step !== 'geometric') return Math.min(target, wanted + step);
  const grown = Math.max(wanted + 1, Math.floor(wanted + (wanted + 1) / 2));
  return grown >= fromLive ? target : Math.min(target, grown);
}

/** Traffic moves from one app to the other: `to` grows to `target` while `from` shrinks to nothing. */
export interface Shift {
  /** The side that goes away; absent on a first deploy. */
  from?: string;
  to: string;
  target: number;
  /** Instances `to` grows by per step, or geometric (by half each step). */
  step: StepSize;
  /**
   * A hybrid deploy (zdd.py's -n): `to` grows to this many instances only, `from` keeps
   * `target` − this many and is not deleted (until --complete-cur or --complete-prev).
   */
  hybrid?: number;
}

export interface PlanOptions extends NewAppOptions {
  choice?: InterruptedChoice;
  /** --step as given: instances, or a fraction of the target; absent: geometric growth (zdd.py's). */
  step?: number;
}

export type ZddPlan =
  | { kind: 'first'; group: string; create: NewApp; shift: Shift }
  | { kind: 'deploy'; group: string; current: MarathonApp; create: NewApp; shift: Shift }
  | { kind: 'interrupted'; group: string; choice: InterruptedChoice; older: MarathonApp; newer: MarathonApp; shift: Shift }
  | { kind: 'nothing'; group: string; reason: string };

function interruptedError(group: string, older: MarathonApp, newer: MarathonApp): MlbError {
  const when = (a: MarathonApp) => (startedAtOf(a) ? `started ${startedAtOf(a)}` : 'no start time');
  const hybrid = hybridOf(older, newer);
  if (hybrid !== undefined) {
    return zddError(
      `deployment group ${group} has a hybrid deploy in place: ${newer.id} (${when(newer)}) with ${hybrid.instances} of ${hybrid.target} instances and ${older.id} (${when(older)}) with the rest. ` +
        `Run again with --complete-cur to move all instances to ${newer.id}, or --complete-prev to move them all back to ${older.id}`,
    );
  }
  return zddError(
    `deployment group ${group} has two apps, ${older.id} (${when(older)}) and ${newer.id} (${when(newer)}): a previous deploy was interrupted. ` +
      `Run again with --resume to continue it, --complete-cur to finish it now keeping ${newer.id}, or --complete-prev to roll back to ${older.id}`,
  );
}

/**
 * The size the kept app grows to: --target, else the kept app's own target label, else the
 * other app's. --resume and --complete-cur keep the newer app; --complete-prev keeps the older one
 * (as marathon-lb's zdd.py swaps the two apps), so it returns to its own size, not the new version's.
 */
function interruptedTarget(older: MarathonApp, newer: MarathonApp, choice: InterruptedChoice, opts: PlanOptions): number {
  const [kept, other] = choice === 'complete-prev' ? [older, newer] : [newer, older];
  const target = opts.targetInstances ?? integerLabel(kept, LABEL.targetInstances) ?? integerLabel(other, LABEL.targetInstances);
  if (target === undefined) throw zddError(`neither ${newer.id} nor ${older.id} has a ${LABEL.targetInstances} label: pass --target`);
  return target;
}

/**
 * The hybrid deploy the newer app carries, as zdd.py reads it: HAPROXY_DEPLOYMENT_NEW_INSTANCES
 * above 0 (and, here, below the target: at the target it is a whole deploy).
 */
function hybridOf(older: MarathonApp, newer: MarathonApp, override?: number): { instances: number; target: number } | undefined {
  const instances = override ?? integerLabel(newer, LABEL.newInstances);
  const target = integerLabel(newer, LABEL.targetInstances) ?? integerLabel(older, LABEL.targetInstances);
  if (instances === undefined || instances <= 0 || target === undefined || instances >= target) return undefined;
  return { instances, target };
}

function stepOf(opts: PlanOptions, target: number): StepSize {
  return opts.step === undefined ? 'geometric' : stepSizeOf(opts.step, target);
}

function interruptedShift(older: MarathonApp, newer: MarathonApp, choice: InterruptedChoice, opts: PlanOptions): Shift {
  const target = interruptedTarget(older, newer, choice, opts);
  if (choice === 'resume') {
    // As zdd.py: a newer app labelled with a hybrid share grows to that share only, and the older app stays.
    const hybrid = hybridOf(older, newer, opts.newInstances);
    const keep = hybrid !== undefined && hybrid.instances < target ? { hybrid: hybrid.instances } : {};
    return { from: older.id, to: newer.id, target, step: stepOf(opts, target), ...keep };
  }
  // Completing either way moves everything at once; draining still protects each killed task.
  if (choice === 'complete-cur') return { from: older.id, to: newer.id, target, step: target };
  return { from: newer.id, to: older.id, target, step: target };
}

/** What this run will do, from the definition and the apps Marathon has now. */
export function planDeploy(def: AppDefinition, apps: readonly MarathonApp[], opts: PlanOptions): ZddPlan {
  const group = deploymentGroupOf(def);
  const state = groupStateOf(apps, group);
  if (state.kind === 'two') {
    if (!opts.choice) throw interruptedError(group, state.older, state.newer);
    return { kind: 'interrupted', group, choice: opts.choice, older: state.older, newer: state.newer, shift: interruptedShift(state.older, state.newer, opts.choice, opts) };
  }
  if (opts.choice === 'complete-cur' || opts.choice === 'complete-prev') {
    const what = state.kind === 'one' ? `only ${state.current.id} exists` : 'it has no app';
    return { kind: 'nothing', group, reason: `--${opts.choice}: no interrupted deploy in deployment group ${group} (${what}); nothing to complete` };
  }
  if (state.kind === 'none') {
    const create = newAppOf(def, undefined, opts);
    return { kind: 'first', group, create, shift: { to: create.def.id, target: create.target, step: create.target } };
  }
  const create = newAppOf(def, state.current, opts);
  const hybrid = create.hybrid !== undefined ? { hybrid: create.hybrid } : {};
  return { kind: 'deploy', group, current: state.current, create, shift: { from: state.current.id, to: create.def.id, target: create.target, step: stepOf(opts, create.target), ...hybrid } };
}

// ---- stepping ----

export type Action =
  | { kind: 'wait'; reason: string }
  | { kind: 'kill'; appId: string; taskIds: string[]; reason: string }
  | { kind: 'scale'; appId: string; instances: number; reason: string }
  | { kind: 'delete'; appId: string; reason: string }
  | { kind: 'done'; reason: string };

/** Killing or gone: takes no part in capacity any more. */
function isEnding(t: Task): boolean {
  const state = t.state ?? 'TASK_RUNNING';
  return state === 'TASK_KILLING' || TERMINAL_STATES.has(state);
}

export function isReadyTask(app: MarathonApp, t: Task): boolean {
  return (t.state ?? 'TASK_RUNNING') === 'TASK_RUNNING' && isHealthy(app, t);
}

function liveTasks(app: MarathonApp): Task[] {
  return (app.tasks ?? []).filter((t) => !isEnding(t));
}

/** Not-ready tasks go first (they carry no traffic), then in id order. */
function victims(app: MarathonApp, n: number): string[] {
  return liveTasks(app)
    .sort((a, b) => Number(isReadyTask(app, a)) - Number(isReadyTask(app, b)) || cmp(a.id, b.id))
    .slice(0, n)
    .map((t) => t.id);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The next step of a shift, from Marathon's state now. `from` loses a task only when a ready
 * task of `to` replaces it (so capacity never drops below the target); `to` grows by a step
 * once all its instances are ready; `from` is deleted once it has no tasks left.
 */
export function nextAction(shift: Shift, apps: readonly MarathonApp[]): Action {
  const to = apps.find((a) => a.id === shift.to);
  if (!to) throw zddError(`${shift.to} is gone from Marathon: it was deleted while the deploy ran`);
  const from = shift.from === undefined ? undefined : apps.find((a) => a.id === shift.from);
  const wanted = to.instances ?? 0;
  const ready = liveTasks(to).filter((t) => isReadyTask(to, t)).length;

  if (from) {
    const live = liveTasks(from).length;
    const excess = Math.min(live, live + ready - shift.target);
    if (excess > 0) return { kind: 'kill', appId: from.id, taskIds: victims(from, excess), reason: `${to.id} has ${ready} ready of ${shift.target}, so ${from.id} needs ${plural(live - excess, 'task')} instead of ${live}` };
  }
  if (ready < wanted) return { kind: 'wait', reason: `waiting for ${to.id}: ${ready}/${wanted} tasks running and healthy` };
  const goal = shift.hybrid ?? shift.target;
  if (wanted < goal) {
    const instances = nextSize(shift.step, wanted, goal, from ? liveTasks(from).length : 0);
    return { kind: 'scale', appId: to.id, instances, reason: `${to.id} has ${plural(wanted, 'healthy task')}; next step toward ${goal}${shift.hybrid !== undefined ? ` (hybrid, of ${shift.target})` : ''}` };
  }
  if (from && shift.hybrid !== undefined) {
    const ending = (from.tasks ?? []).filter((t) => !TERMINAL_STATES.has(t.state ?? '')).length - liveTasks(from).length;
    if (ending > 0) return { kind: 'wait', reason: `waiting for ${plural(ending, 'killed task')} of ${from.id} to finish` };
    return {
      kind: 'done',
      reason: `hybrid deploy in place: ${to.id} has ${plural(ready, 'healthy task')}, ${from.id} keeps ${liveTasks(from).length} (target ${shift.target}); ${from.id} is not deleted — finish with --complete-cur or --complete-prev`,
    };
  }
  if (from) {
    const left = (from.tasks ?? []).filter((t) => !TERMINAL_STATES.has(t.state ?? '')).length;
    if (left > 0) return { kind: 'wait', reason: `waiting for the last ${plural(left, 'task')} of ${from.id} to finish` };
    return { kind: 'delete', appId: from.id, reason: `${to.id} has all ${shift.target} healthy and ${from.id} has no tasks left` };
  }
  return { kind: 'done', reason: `${to.id} has ${plural(ready, 'healthy task')} (target ${shift.target})` };
}

/** Instance counts the shift passes through: `to` growing, `from` shrinking (as each step's new tasks turn ready). */
export function scheduleOf(fromCount: number, toStart: number, target: number, step: StepSize, hybrid?: number): { to: number[]; from: number[] } {
  const goal = hybrid ?? target;
  const to = [toStart];
  const from = [fromCount];
  let t = toStart;
  let f = fromCount;
  for (let guard = 0; guard < 10_000; guard++) {
    const shrunk = Math.min(f, Math.max(0, target - t));
    if (shrunk !== f) from.push((f = shrunk));
    if (t >= goal) break;
    to.push((t = nextSize(step, t, goal, f)));
  }
  if (f > 0 && hybrid === undefined) from.push(0);
  return { to, from };
}

// ---- what the load balancer calls the tasks ----

/**
 * Task id → the `ip:port` addresses HAProxy has for it (one per load-balanced port), as the
 * load balancer's own model builds them, so the stats rows of a task can be found by address
 * (slot names change as the runtime API reuses spare slots; addresses don't); and its server
 * names (marathon-lb's, which mlb-ts keeps), for a stats page that shows no addresses (one
 * without `stats show-legends`, such as marathon-lb's).
 */
export function taskAddresses(apps: readonly MarathonApp[], resolveHost?: (host: string) => string | undefined): Map<string, Set<string>> {
  const { model } = buildModel(apps, { groups: ['*'], ...(resolveHost ? { resolveHost } : {}) });
  const out = new Map<string, Set<string>>();
  for (const s of model.services) {
    for (const sv of s.servers) {
      const set = out.get(sv.taskId) ?? new Set<string>();
      set.add(`${sv.ip}:${sv.port}`).add(sv.name);
      out.set(sv.taskId, set);
    }
  }
  return out;
}

// ---- dry run ----

function portsText(ports: Map<number, number>): string {
  return [...ports].map(([i, p]) => `${portLabel(i)} ${p}`).join(', ') || 'no bind port';
}

function createLine(create: NewApp, current: MarathonApp | undefined): string {
  const d = create.def;
  const sp = create.servicePorts.map((p, i) => (p > 0 ? `${p}${i === 0 && current ? ` (${p === portLabelOf(d, LABEL.altPort) ? LABEL.altPort : 'main port'})` : ''}` : 'assigned by Marathon')).join(', ');
  return `create ${d.id} (${create.colour}) with ${plural(d.instances ?? 0, 'instance')} (target ${create.target}${create.hybrid !== undefined ? `; hybrid: it grows to ${create.hybrid}` : ''}); service port${create.servicePorts.length === 1 ? '' : 's'} ${sp || 'none'}; ${portsText(create.bindPorts)}${current ? ` as ${current.id} binds` : ''}; ${LABEL.appId} ${d.labels?.[LABEL.appId]}`;
}

function shiftLines(shift: Shift, fromCount: number, toStart: number, stepDelaySeconds: number, drainNote: string): string[] {
  const s = scheduleOf(fromCount, toStart, shift.target, shift.step, shift.hybrid);
  const arrows = (xs: number[]) => xs.join(' → ');
  const steps = shift.step === 'geometric' ? "steps growing by half (zdd.py's way; --step sets a fixed size)" : `steps of ${shift.step}`;
  const lines = [`shift traffic in ${steps}, ${stepDelaySeconds} s apart once each step is healthy: ${shift.to} ${arrows(s.to)}${shift.from ? `; ${shift.from} ${arrows(s.from)}` : ''}`];
  if (shift.from && shift.hybrid !== undefined) {
    lines.push(
      `kill each ${shift.from} task (DELETE …/tasks/{id}?scale=true) ${drainNote}`,
      `hybrid deploy (-n ${shift.hybrid}): keep ${shift.from} with ${plural(Math.max(0, shift.target - shift.hybrid), 'instance')}, not deleted; finish later with --complete-cur (all to ${shift.to}) or --complete-prev (all back to ${shift.from})`,
    );
  } else if (shift.from) lines.push(`kill each ${shift.from} task (DELETE …/tasks/{id}?scale=true) ${drainNote}`, `delete ${shift.from} once it has no tasks left`);
  return lines;
}

export interface DescribeOptions {
  stepDelaySeconds: number;
  /** How killed tasks are drained, e.g. "once no load balancer shows sessions on it". */
  drainNote: string;
}

/** The plan in words, one action a line (for --dry-run), then the definition that would be posted. */
export function describePlan(plan: ZddPlan, opts: DescribeOptions): string[] {
  const head = `deployment group ${plan.group}`;
  switch (plan.kind) {
    case 'nothing':
      return [`${head}: ${plan.reason}`];
    case 'first':
      return [`${head}: no app yet — first deploy`, ...plan.create.notes.map((n) => `note: ${n}`), createLine(plan.create, undefined), `wait until its ${plural(plan.create.target, 'task')} are healthy`, 'app definition to post:', JSON.stringify(plan.create.def, null, 2)];
    case 'deploy': {
      const c = plan.current;
      return [
        `${head}: ${c.id} (${colourOf(c)}) is live with ${plural(c.instances ?? 0, 'instance')}; deploying ${plan.create.def.id} (${plan.create.colour})`,
        ...plan.create.notes.map((n) => `note: ${n}`),
        createLine(plan.create, c),
        ...shiftLines(plan.shift, liveTasks(c).length, plan.create.def.instances ?? 0, opts.stepDelaySeconds, opts.drainNote),
        'app definition to post:',
        JSON.stringify(plan.create.def, null, 2),
      ];
    }
    case 'interrupted': {
      const to = plan.shift.to === plan.newer.id ? plan.newer : plan.older;
      const from = to === plan.newer ? plan.older : plan.newer;
      const verb = plan.choice === 'resume' ? (plan.shift.hybrid !== undefined ? `resume the hybrid deploy (${plan.shift.hybrid} of ${plan.shift.target} on ${plan.newer.id})` : 'resume the deploy') : plan.choice === 'complete-cur' ? `complete the deploy now, keeping ${plan.newer.id}` : `roll back to ${plan.older.id}`;
      return [
        `${head}: ${hybridOf(plan.older, plan.newer) ? 'hybrid' : 'interrupted'} deploy: ${plan.older.id} (older) and ${plan.newer.id} (newer); --${plan.choice}: ${verb}`,
        ...shiftLines(plan.shift, liveTasks(from).length, to.instances ?? 0, opts.stepDelaySeconds, opts.drainNote),
      ];
    }
  }
}
