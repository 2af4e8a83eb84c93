import { MlbError } from '../errors.js';
import { blamedSections, citedLines } from '../haproxy/attribute.js';
import { validationError } from '../haproxy/install.js';
import type { Validation } from '../haproxy/validate.js';
import type { MarathonApp } from '../marathon/types.js';
import { type LbModel, type Service, warningLine } from '../model/types.js';
import { appNetworking } from '../model/networking.js';
import { portKey } from '../model/service-ports.js';
import { PORT_TEMPLATE_NAMES } from '../render/template-registry.js';
import type { RenderResult } from './render-set.js';

/** A render of some apps and HAProxy's verdict on it. */
export interface Checked {
  result: RenderResult;
  validation: Validation;
}

/** A port of an app that narrowing leaves out, with HAProxy's reason. */
export interface DroppedPort {
  appId: string;
  portIndex: number;
  /** The port's labels whose text goes into the config as written (label templates, bind options…), if any. */
  label?: string;
  reason: string;
}

/** The one-line warning for a dropped port: code, app, label(s) and HAProxy's reason. */
export function droppedPortLine(p: DroppedPort): string {
  return warningLine({ code: 'E_HAPROXY_INVALID', appId: p.appId, ...(p.label ? { label: p.label } : {}), message: `port ${p.portIndex} dropped: ${p.reason}` });
}

/**
 * Which of a port's labels to name when HAProxy can't load its part: those whose text goes into
 * the config as written, or (its port is taken by another process) HAPROXY_{n}_PORT.
 */
export type Suspects = 'verbatim' | 'port';

/** How a port's labels are judged when it is dropped: which kind, and the config HAProxy's reason cites lines of. */
export interface Blame {
  suspects: Suspects;
  config?: string;
}

/** App ports (by portKey) HAProxy could not load, with why. */
export type BlamedPorts = Map<string, { appId: string; portIndex: number; reason: string; blame: Blame }>;

/** Sections (a service's frontend, backend or userlist) with why → the app ports feeding them, with why. */
export function portsOfSections(reasons: Map<string, string>, model: LbModel, blame: Blame): BlamedPorts {
  const ports: BlamedPorts = new Map();
  for (const s of model.services) {
    const reason = reasons.get(s.backend) ?? reasons.get(`user_${s.backend}`);
    if (reason) for (const [key, port] of portsOf(s)) if (!ports.has(key)) ports.set(key, { ...port, reason, blame });
  }
  return ports;
}

/** A dropped port of an app with these labels, naming the labels most likely at fault. */
export function droppedPortOf(appId: string, labels: Readonly<Record<string, unknown>> | undefined, portIndex: number, reason: string, blame: Blame): DroppedPort {
  const label = suspectLabels(labels ?? {}, portIndex, blame.suspects, blame.config === undefined ? [] : citedLines(reason, blame.config));
  return { appId, portIndex, ...(label ? { label } : {}), reason };
}

/** The app ports (portKeys) feeding the model's services. */
export function portKeysOf(model: LbModel): string[] {
  return model.services.flatMap((s) => portsOf(s).map(([key]) => key));
}

/** Every port of every app (portKeys), whether the model serves it or not. */
export function everyPortKey(apps: readonly MarathonApp[]): string[] {
  return apps.flatMap((a) => portIndexesOf(a).map((i) => portKey(a.id, i)));
}

function portIndexesOf(app: MarathonApp): number[] {
  try {
    return appNetworking(app).ports.map((p) => p.index);
  } catch {
    // An app the model can't read (E_APP_UNREADABLE) has no port in any render.
    return [];
  }
}

/** The app ports feeding `s` (portKey → app id and port index). */
function portsOf(s: Service): [string, { appId: string; portIndex: number }][] {
  return s.sourceAppIds.map((appId, i) => {
    const portIndex = s.sourcePortIndexes[i] ?? s.portIndex;
    return [portKey(appId, portIndex), { appId, portIndex }];
  });
}

/**
 * A valid render without the app ports HAProxy refuses (`first` was refused with `error`):
 * first the ports feeding the sections its alerts blame (by line number or proxy name), a few
 * rounds; then bisection over the rest. `check` renders the same apps without the ports it is
 * given (portKey). `drop` hears of each port left out, with HAProxy's reason. E_HAPROXY_INVALID
 * if even that does not give a valid config. The caller has checked that a config without any
 * app passes.
 */
export async function dropBrokenPorts(
  apps: readonly MarathonApp[],
  first: RenderResult,
  error: MlbError,
  check: (dropped: ReadonlySet<string>) => Promise<Checked>,
  drop: (port: DroppedPort) => void,
): Promise<RenderResult> {
  const excluded = new Set<string>();
  // Every port a render so far had: dropping one can free a service port another port then takes.
  const known = new Map(first.model.services.flatMap(portsOf));
  const checked = async (dropped: ReadonlySet<string>) => {
    const c = await check(dropped);
    for (const [key, port] of c.result.model.services.flatMap(portsOf)) known.set(key, port);
    return c;
  };
  const byId = new Map(apps.map((a) => [a.id, a]));
  const exclude = (key: string, reason: string) => {
    const port = known.get(key);
    if (!port || excluded.has(key)) return;
    excluded.add(key);
    drop(droppedPortOf(port.appId, byId.get(port.appId)?.labels, port.portIndex, reason, { suspects: 'verbatim', config: current.rendered.config }));
  };
  let current = first;
  let reason = error.message;
  for (let round = 0; round < 5; round++) {
    const blamed = blamedSections([reason], current.rendered.config);
    const culprits = current.model.services.filter((s) => blamed.has(s.backend) || blamed.has(`user_${s.backend}`));
    if (culprits.length === 0) break;
    for (const s of culprits) for (const [key] of portsOf(s)) exclude(key, ownReason(reason, s, current));
    const next = await checked(excluded);
    if (next.validation.ok) return next.result;
    current = next.result;
    reason = validationError(next.validation).message;
  }
  const candidates = [...new Set(portKeysOf(current.model))].sort();
  // Every port but those kept: one the model left out (it lost a service port to a candidate)
  // must not come back while that candidate is out, and be blamed in its place.
  const everyPort = everyPortKey(apps);
  const without = (keep: string[]) => {
    const kept = new Set(keep);
    return new Set([...excluded, ...everyPort.filter((k) => !kept.has(k))]);
  };
  const bad = await findBroken(candidates, [], async (keep) => (await checked(without(keep))).validation.ok);
  for (const key of bad) exclude(key, reason);
  const final = await checked(excluded);
  if (!final.validation.ok) throw validationError(final.validation);
  return final.result;
}

/** Labels whose values HAProxy reads as written, so one of them is the likely fault. */
const VERBATIM_PORT_LABELS = ['BIND_OPTIONS', 'BIND_ADDR', 'SSL_CERT'];

function isSuspect(name: string, suspects: Suspects): boolean {
  return suspects === 'port' ? name === 'PORT' : VERBATIM_PORT_LABELS.includes(name) || PORT_TEMPLATE_NAMES.has(`HAPROXY_${name}`);
}

/**
 * The port's labels to look at when HAProxy can't load that port's part (see Suspects), those
 * the app has: of them, the ones whose text is in a line HAProxy cites (`cited`), if any is;
 * undefined when it has none (e.g. the service port is Marathon's).
 */
function suspectLabels(labels: Readonly<Record<string, unknown>>, portIndex: number, suspects: Suspects, cited: string[]): string | undefined {
  const prefix = `HAPROXY_${portIndex}_`;
  const names = Object.keys(labels)
    .filter((k) => k.startsWith(prefix) && isSuspect(k.slice(prefix.length), suspects))
    .sort();
  const inCited = names.filter((k) => cited.some((line) => sharesText(line, textOf(labels[k]).trim())));
  const named = inCited.length > 0 ? inCited : names;
  return named.length > 0 ? named.join(', ') : undefined;
}

function textOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Whether a cited config line comes from a label's value: it holds the value, or the value (a template) holds it. */
function sharesText(line: string, value: string): boolean {
  return value !== '' && (line.includes(value) || value.includes(line));
}

/**
 * Of a refusal that blames several services, the alerts that name this one's sections (its
 * frontend, backend and userlist), so each port's line says what is wrong with it; the whole
 * refusal when none does.
 */
function ownReason(reason: string, service: Service, render: RenderResult): string {
  const [prefix, alerts] = splitRefusal(reason);
  const sections = new Set([service.backend, `user_${service.backend}`]);
  const own = alerts.filter((a) => [...blamedSections([a], render.rendered.config)].some((name) => sections.has(name)));
  return own.length > 0 && own.length < alerts.length ? `${prefix}${own.join(' | ')}` : reason;
}

/** validationError's message as its prefix and its alerts. */
function splitRefusal(reason: string): [string, string[]] {
  const at = reason.indexOf(': ');
  return at < 0 ? ['', [reason]] : [reason.slice(0, at + 2), reason.slice(at + 2).split(' | ')];
}

/**
 * The control apps of narrowing: one HTTP app with a vhost and an HTTP health check, one TCP app
 * with a TCP check, with nothing of their own in the config (no label templates, no bind options),
 * selected by `groups` and by --strict-mode. When HAProxy refuses their config too, the flags or
 * the templates every app goes through (a --templates file) are at fault, not the apps: dropping
 * each app HAProxy blames would install a config without any.
 */
export function plainApps(groups: readonly string[]): MarathonApp[] {
  const group = groups.filter((g) => g !== '*').join(',') || 'mlb-ts-check';
  const plain = (id: string, port: number, labels: Record<string, string>, check: MarathonApp['healthChecks']): MarathonApp => ({
    id,
    labels: { HAPROXY_GROUP: group, HAPROXY_0_ENABLED: 'true', ...labels },
    portDefinitions: [{ port }],
    healthChecks: check ?? [],
    tasks: [{ id: `${id.slice(1)}.plain`, appId: id, host: '127.0.0.1', ports: [port - 30000], state: 'TASK_RUNNING', healthCheckResults: [{ alive: true }] }],
  });
  return [
    plain('/mlb-ts-check/http', 64998, { HAPROXY_0_MODE: 'http', HAPROXY_0_VHOST: 'mlb-ts-check.invalid' }, [{ protocol: 'HTTP', path: '/', portIndex: 0 }]),
    plain('/mlb-ts-check/tcp', 64999, { HAPROXY_0_MODE: 'tcp' }, [{ protocol: 'TCP', portIndex: 0 }]),
  ];
}

/** E_HAPROXY_INVALID for a config HAProxy refuses even with only plainApps: no app is to blame. */
export function refusedWithoutApps(none: Validation): MlbError {
  return new MlbError('E_HAPROXY_INVALID', `no app is to blame, HAProxy refuses the config of plain apps too (flags, --templates files, global templates): ${validationError(none).message}`);
}

/**
 * Bisection: the members of `candidates` (app ports) that make the config invalid, given a good `base`.
 * `knownToFail`: the caller already saw base + candidates fail (no need to check again).
 */
export async function findBroken(candidates: string[], base: string[], ok: (apps: string[]) => Promise<boolean>, knownToFail = false): Promise<string[]> {
  if (candidates.length === 0) return [];
  if (!knownToFail && (await ok([...base, ...candidates]))) return [];
  // One left that the caller only inferred to fail (its sibling half passed): checked, so a
  // refusal that does not come back (HAProxy failing for its own reasons) blames no app.
  if (candidates.length === 1) return knownToFail && (await ok([...base, ...candidates])) ? [] : candidates;
  const mid = Math.ceil(candidates.length / 2);
  const left = candidates.slice(0, mid);
  const right = candidates.slice(mid);
  const badLeft = await findBroken(left, base, ok);
  const goodLeft = left.filter((a) => !badLeft.includes(a));
  // All of the left half is good: base + left + right is the set that failed, so right has the culprit.
  const badRight = await findBroken(right, [...base, ...goodLeft], ok, badLeft.length === 0);
  return [...badLeft, ...badRight];
}
