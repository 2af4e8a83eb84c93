import type { MarathonApp, Task } from '../marathon/types.js';
import { haproxyHealthCheck, isSafeCheckPath, modeFromHealthChecks, serviceCheckDef } from './health.js';
import { APP_LABELS, type AppLabels, classifyLabel, PORT_LABELS, type PortLabels } from './labels/registry.js';
import { isBoolWord, isIpLiteral, isLayer7Balance, isUnspecifiedIp, labelText, LabelValueError, notTextProblem, parseAppId, unspecifiedAgentWhy, vhostsWithPort } from './labels/values.js';
import { type AppNetworking, type AppPort, appNetworking, taskEndpoint } from './networking.js';
import { assignServerIds, backendName, serverName } from './naming.js';
import { assignServicePorts, cmp, portKey } from './service-ports.js';
import { isHealthy, taskState } from './tasks.js';
import { type LbModel, type Server, type Service, type Warn, type Warning, warnInto } from './types.js';

export interface ModelOptions {
  /** --group; `*` matches every app. */
  groups: string[];
  strictMode?: boolean;
  /** -H: only tasks whose Marathon health checks all pass. */
  healthCheck?: boolean;
  /** Range of the service ports given to IP-per-task ports that declare none; 0 and 0: none given. */
  minServicePort?: number;
  maxServicePort?: number;
  /** Agent host → IP (undefined: unresolvable). IP literals never reach it. */
  resolveHost?: (host: string) => string | undefined;
  /** false: per-app template labels are ignored (--disable-label-templates). */
  labelTemplates?: boolean;
  /** Ports the fixed frontends bind (80, 443, 9090, 9091): a service can't take them. */
  reservedPorts?: Iterable<number>;
  /**
   * Service ports assigned before (portKey(Marathon app id, port index) → port, e.g. those of
   * the daemon's last applied model): kept while in the range and not taken by another port.
   */
  previousServicePorts?: ReadonlyMap<string, number>;
  /**
   * Ports left out (portKey(Marathon app id, port index)), silently: those whose part of the
   * config HAProxy refused, which the caller has already reported.
   */
  droppedPorts?: ReadonlySet<string>;
}

export interface ModelResult {
  model: LbModel;
  warnings: Warning[];
}

interface ParsedApp {
  app: MarathonApp;
  appLabels: AppLabels;
  net: AppNetworking;
}

interface Candidate {
  parsed: ParsedApp;
  port: AppPort;
  labels: PortLabels;
  templates: Record<string, [string, string]>;
  servicePort?: number;
  servicePortSource: Service['servicePortSource'];
}

/** Apps + tasks → LbModel. Pure and deterministic: input order does not matter. */
export function buildModel(apps: readonly MarathonApp[], opts: ModelOptions): ModelResult {
  const warnings: Warning[] = [];
  const warn = warnInto(warnings);
  const sorted = withoutDuplicateIds([...apps].sort((a, b) => cmp(a.id, b.id)), warn);

  const candidates: Candidate[] = [];
  for (let i = 0; i < sorted.length; i++) addAppCandidates(candidates, sorted[i] as MarathonApp, opts, warn);

  assignMissingServicePorts(candidates, opts, warn);

  const sources = new CandidateIndex();
  const withPorts: Service[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as Candidate;
    if (c.servicePort !== undefined) withPorts.push(sources.serviceOf(c, toService(c, warn)));
  }
  const merged = mergeDeploymentGroups(withPorts, sources, warn);
  const services = dropConflicts(merged, new Set(opts.reservedPorts ?? []), warn);

  const hosts = hostResolver(opts);
  const isTaskIp = taskIpChecker(warn);
  for (let i = 0; i < services.length; i++) {
    const s = services[i] as Service;
    s.servers = serversOf(s, sources, opts, hosts.resolve, isTaskIp);
    warnUnchecked(s, warn);
  }
  hosts.warnUnusable(warn);
  applyDeploymentDrain(services, sources);
  services.sort((a, b) => cmp(a.backend, b.backend));
  warnings.sort((a, b) => cmp(a.appId, b.appId) || cmp(a.label ?? '', b.label ?? ''));
  return { model: { services }, warnings };
}

/**
 * The apps (sorted by id) whose id no other app has: Marathon never sends two apps with one id
 * (a hand-written file may), and no choice between them would be independent of their order.
 */
function withoutDuplicateIds(sorted: MarathonApp[], warn: Warn): MarathonApp[] {
  let out: MarathonApp[] | undefined;
  for (let i = 0; i < sorted.length; ) {
    const id = (sorted[i] as MarathonApp).id;
    let j = i + 1;
    while (j < sorted.length && (sorted[j] as MarathonApp).id === id) j++;
    if (j - i > 1) {
      out ??= sorted.slice(0, i);
      warn('E_APP_DUPLICATE', id, `the document has ${j - i} apps with this id; all of them dropped`);
    } else {
      out?.push(sorted[i] as MarathonApp);
    }
    i = j;
  }
  return out ?? sorted;
}

/** The candidates behind each service: its own, and (blue/green) those of the services merged into it. */
class CandidateIndex {
  private readonly own = new Map<Service, Candidate>();
  private readonly merged = new Map<Service, Candidate[]>();

  serviceOf(c: Candidate, s: Service): Service {
    this.own.set(s, c);
    return s;
  }

  /**
   * `s` is now fed by the candidates of `parts`, in their order. Each app's own candidate: the
   * apps of one deployment group can bind the service port at different port indices.
   */
  merge(s: Service, parts: Service[]): void {
    this.merged.set(s, parts.flatMap((p) => this.own.get(p) ?? []));
  }

  /** The candidates feeding `s`, in the order of its sourceAppIds. */
  sourcesOf(s: Service): Candidate[] {
    const merged = this.merged.get(s);
    if (merged) return merged;
    const own = this.own.get(s);
    return own ? [own] : [];
  }

  ownOf(s: Service): Candidate | undefined {
    return this.own.get(s);
  }
}

function matchesGroups(groups: string[], appGroups: string[]): boolean {
  if (groups.includes('*')) return true;
  return appGroups.some((g) => groups.includes(g));
}

/**
 * A label: its key, its raw value, what it means. (Objects and indexed loops on this path, not
 * tuples taken apart with array destructuring, which goes through the iterator protocol: this
 * runs once per label of the cluster, mostly before V8 has optimized it.)
 */
interface ClassifiedEntry {
  key: string;
  /** As the document has it: a string, unless the apps file was written by hand (labelText). */
  raw: unknown;
  c: ReturnType<typeof classifyLabel>;
}

/** The app's labels in key order, each classified once. */
function classifiedLabels(app: MarathonApp): ClassifiedEntry[] {
  const labels = app.labels ?? {};
  const keys = Object.keys(labels).sort(cmp);
  const out: ClassifiedEntry[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out[i] = { key, raw: labels[key], c: classifyLabel(key) };
  }
  return out;
}

/**
 * Every registry key, undefined: parsed labels start as a copy, so they all have one shape and
 * reading them (toService, once per service port) stays monomorphic.
 */
const NO_APP_LABELS: Readonly<Record<keyof AppLabels, undefined>> = Object.fromEntries(Object.keys(APP_LABELS).map((k) => [k, undefined])) as Record<keyof AppLabels, undefined>;
const NO_PORT_LABELS: Readonly<Record<keyof PortLabels, undefined>> = Object.fromEntries(Object.keys(PORT_LABELS).map((k) => [k, undefined])) as Record<keyof PortLabels, undefined>;

function parseAppLabels(app: MarathonApp, labels: ClassifiedEntry[], warn: Warn): AppLabels | undefined {
  const out: Record<string, unknown> = { ...NO_APP_LABELS };
  for (let i = 0; i < labels.length; i++) {
    const { key, raw, c } = labels[i] as ClassifiedEntry;
    if (c.kind !== 'app') continue;
    try {
      out[c.key] = APP_LABELS[c.key].parse(labelText(raw));
    } catch (e) {
      if (!(e instanceof LabelValueError)) throw e;
      const fatal = c.key === 'group' || c.key === 'appId';
      warn('E_LABEL_INVALID', app.id, `${JSON.stringify(raw)} ${e.message}; ${fatal ? 'app dropped' : 'label ignored'}`, key);
      if (fatal) return undefined;
    }
  }
  return out as AppLabels;
}

/**
 * addCandidates, or one warning when the app can't be read at all (a field of a type the schema
 * lets through and the model did not expect): one odd app must not stop the others.
 */
function addAppCandidates(out: Candidate[], app: MarathonApp, opts: ModelOptions, warn: Warn): void {
  const before = out.length;
  try {
    addCandidates(out, app, opts, warn);
  } catch (e) {
    out.length = before;
    warn('E_APP_UNREADABLE', app.id, `cannot be read (${e instanceof Error ? e.message : String(e)}); app dropped`);
  }
}

/** Why an app id can't be written into the config as one word (quotes, spaces, line breaks, `#`, length), or undefined. */
function appIdProblem(id: string): string | undefined {
  try {
    return parseAppId(id) === id ? undefined : 'has leading or trailing spaces';
  } catch (e) {
    if (e instanceof LabelValueError) return e.message;
    throw e;
  }
}

/** The app's ports that are ours, as candidates (appended to `out`). */
function addCandidates(out: Candidate[], app: MarathonApp, opts: ModelOptions, warn: Warn): void {
  const labels = classifiedLabels(app);
  const appLabels = parseAppLabels(app, labels, warn);
  if (!appLabels) return;
  // Another instance's app (no group of ours, no per-port group): not ours to judge or warn about.
  let hasPortGroups = false;
  for (let i = 0; i < labels.length; i++) {
    const c = (labels[i] as ClassifiedEntry).c;
    if (c.kind === 'port' && c.key === 'group') hasPortGroups = true;
  }
  if (!hasPortGroups && !matchesGroups(opts.groups, appLabels.group ?? [])) return;
  const idProblem = appIdProblem(app.id);
  if (idProblem) {
    // Marathon's ids are letters, digits, `-`, `.` and `/`; the id goes into ACLs and maps as a word.
    warn('E_APP_ID_INVALID', app.id, `the app id ${idProblem}; app dropped`);
    return;
  }
  const net = appNetworking(app);
  const parsed: ParsedApp = { app, appLabels, net };
  const portRaw: PortRaw[][] = [];
  const portTemplates: Record<string, [string, string]>[] = [];
  const badTemplates: ClassifiedEntry[] = [];
  for (let i = 0; i < labels.length; i++) {
    const { key, raw, c } = labels[i] as ClassifiedEntry;
    if (c.kind === 'unknown') warn('W_LABEL_UNKNOWN', app.id, 'unknown HAPROXY_ label; ignored', key);
    if (c.kind !== 'port' && c.kind !== 'template') continue;
    if (c.index >= net.ports.length) {
      warn('E_PORT_INDEX_UNKNOWN', app.id, `port index ${c.index} does not exist (the app has ${net.ports.length} port${net.ports.length === 1 ? '' : 's'}); ignored`, key);
      continue;
    }
    if (c.kind === 'port') {
      (portRaw[c.index] ??= []).push({ key: c.key, label: key, raw });
    } else if (opts.labelTemplates === false) {
      warn('W_LABEL_TEMPLATE_DISABLED', app.id, 'label templates are disabled by the operator; ignored', key);
    } else if (typeof raw !== 'string') {
      badTemplates[c.index] ??= labels[i] as ClassifiedEntry;
    } else {
      (portTemplates[c.index] ??= {})[c.template] = [key, raw];
    }
  }

  for (let p = 0; p < net.ports.length; p++) {
    const port = net.ports[p] as AppPort;
    const raws = portRaw[port.index] ?? NO_RAWS;
    if (!portMatchesGroups(raws, appLabels, opts.groups)) continue;
    const badTemplate = badTemplates[port.index];
    if (badTemplate) {
      warn('E_LABEL_INVALID', app.id, `${JSON.stringify(badTemplate.raw)} ${notTextProblem(badTemplate.raw)}; port ${port.index} dropped`, badTemplate.key);
      continue;
    }
    const labels = parsePortLabels(app.id, port.index, raws, warn);
    if (!labels) continue;
    const enabled = opts.strictMode ? labels.enabled === true : labels.enabled !== false;
    if (!enabled || opts.droppedPorts?.has(portKey(app.id, port.index))) continue;
    if (labels.healthCheckPortIndex !== undefined && labels.healthCheckPortIndex >= net.ports.length) {
      warn('E_PORT_INDEX_UNKNOWN', app.id, `health check port index ${labels.healthCheckPortIndex} does not exist; port ${port.index} dropped`, `HAPROXY_${port.index}_BACKEND_HEALTHCHECK_PORT_INDEX`);
      continue;
    }
    out.push({ parsed, port, labels, templates: portTemplates[port.index] ?? {}, servicePort: labels.port ?? port.servicePort, servicePortSource: labels.port ? 'label' : 'marathon' });
  }
}

/** A port label of an app: registry key, label name, raw value. */
interface PortRaw {
  key: keyof PortLabels;
  label: string;
  raw: unknown;
}

const NO_RAWS: PortRaw[] = [];

/** Whether a port is ours; a GROUP label that doesn't parse counts as ours, so its warning is given. */
function portMatchesGroups(raws: PortRaw[], appLabels: AppLabels, groups: string[]): boolean {
  let portGroup: PortRaw | undefined;
  for (let i = 0; i < raws.length && !portGroup; i++) if ((raws[i] as PortRaw).key === 'group') portGroup = raws[i];
  if (!portGroup) return matchesGroups(groups, appLabels.group ?? []);
  try {
    return matchesGroups(groups, PORT_LABELS.group.parse(labelText(portGroup.raw)));
  } catch (e) {
    if (e instanceof LabelValueError) return true;
    throw e;
  }
}

function parsePortLabels(appId: string, portIndex: number, raws: PortRaw[], warn: Warn): PortLabels | undefined {
  const labels: Record<string, unknown> = { ...NO_PORT_LABELS };
  for (let i = 0; i < raws.length; i++) {
    const { key, label: name, raw } = raws[i] as PortRaw;
    try {
      labels[key] = PORT_LABELS[key].parse(labelText(raw));
    } catch (e) {
      if (!(e instanceof LabelValueError)) throw e;
      warn('E_LABEL_INVALID', appId, `${JSON.stringify(raw)} ${e.message}; port ${portIndex} dropped`, name);
      return undefined;
    }
    if (PORT_LABELS[key].type === 'bool' && !isBoolWord(raw as string)) {
      warn('W_LABEL_BOOLEAN', appId, `${JSON.stringify(raw)} is not one of marathon-lb's yes/no words (true, t, yes, y; false, f, no, n, 0): taken as false`, name);
    }
    if (key === 'vhost' && (raw as string).includes(':')) {
      const ported = vhostsWithPort(raw as string);
      if (ported.length > 0) warn('W_LABEL_IGNORED', appId, `the port of ${ported.join(', ')} is ignored: vhosts route by host name, whatever the port in the Host header`, name);
    }
  }
  return labels as PortLabels;
}

function assignMissingServicePorts(candidates: Candidate[], opts: ModelOptions, warn: Warn): void {
  const min = opts.minServicePort ?? 10050;
  const max = opts.maxServicePort ?? 10100;
  // 0 and 0 (marathon-lb's way to turn assignment off): such ports are not served, and, as the
  // operator asked for that, without a warning per port.
  const assigning = min > 0 && max > 0;
  const taken = new Set([...(opts.reservedPorts ?? []), ...candidates.map((c) => c.servicePort).filter((p): p is number => p !== undefined)]);
  const needing = candidates.filter((c) => c.servicePort === undefined && c.parsed.net.mode === 'container');
  const assigned = assignServicePorts(
    needing.map((c) => ({ appId: c.parsed.app.id, portIndex: c.port.index })),
    taken,
    min,
    max,
    opts.previousServicePorts,
  );
  for (const c of candidates) {
    if (c.servicePort !== undefined) continue;
    c.servicePort = assigned.get(portKey(c.parsed.app.id, c.port.index));
    c.servicePortSource = 'assigned';
    if (c.servicePort === undefined) {
      if (c.parsed.net.mode === 'container' && !assigning) continue;
      const why = c.parsed.net.mode === 'container' ? 'the IP-per-task service port range is exhausted' : 'it has no service port and no HAPROXY_{n}_PORT';
      warn('E_NO_SERVICE_PORT', c.parsed.app.id, `port ${c.port.index} dropped: ${why}`);
    }
  }
}

const HTTP_ONLY: [keyof PortLabels, string][] = [
  ['sticky', 'STICKY'], ['redirectToHttps', 'REDIRECT_TO_HTTPS'], ['useHsts', 'USE_HSTS'], ['auth', 'AUTH'],
  ['proxypassPath', 'HTTP_BACKEND_PROXYPASS_PATH'], ['revproxyPath', 'HTTP_BACKEND_REVPROXY_PATH'], ['redirPath', 'HTTP_BACKEND_REDIR'], ['vhost', 'VHOST'],
];

function toService(c: Candidate, warn: Warn): Service {
  const { app, appLabels } = c.parsed;
  let l = c.labels;
  const i = c.port.index;
  const mode = l.mode ?? (l.vhost ? 'http' : modeFromHealthChecks(app, i));
  if (mode === 'tcp') {
    for (let h = 0; h < HTTP_ONLY.length; h++) {
      const entry = HTTP_ONLY[h] as [keyof PortLabels, string];
      const key = entry[0];
      if (l[key] === undefined || l[key] === false) continue;
      warn('W_LABEL_IGNORED', app.id, 'needs mode http; ignored in mode tcp', `HAPROXY_${i}_${entry[1]}`);
      // Unset, not deleted: the labels keep their one shape. A copy: the candidate keeps what was parsed.
      if (l === c.labels) l = { ...l };
      (l as Record<string, unknown>)[key] = undefined;
    }
  }
  if (l.path && !l.vhost) warn('W_LABEL_IGNORED', app.id, `has no effect without HAPROXY_${i}_VHOST`, `HAPROXY_${i}_PATH`);
  if (mode === 'tcp' && l.balance && isLayer7Balance(l.balance)) {
    warn('W_LABEL_IGNORED', app.id, `'${l.balance}' reads HTTP requests: needs mode http; roundrobin in mode tcp`, `HAPROXY_${i}_BALANCE`);
    if (l === c.labels) l = { ...l };
    (l as Record<string, unknown>).balance = undefined;
  }
  const servicePort = c.servicePort as number;
  const appId = appLabels.appId ?? app.id;
  const routingAppId = appId.startsWith('/') ? appId : `/${appId}`;
  const path = l.vhost ? l.path : undefined;
  // Built field by field (no spreads): this runs once per service port of the cluster.
  const s: Service = {
    appId: routingAppId,
    sourceAppIds: [app.id],
    sourcePortIndexes: [i],
    portIndex: i,
    servicePort,
    servicePortSource: c.servicePortSource,
    backend: backendName(routingAppId, servicePort),
    mode,
    vhosts: l.vhost ?? [],
    backendWeight: path && !l.backendWeight ? 1 : (l.backendWeight ?? 0),
    bindAddr: l.bindAddr ?? '*',
    bindOptions: l.bindOptions ?? '',
    balance: l.balance ?? 'roundrobin',
    sticky: l.sticky ?? false,
    redirectToHttps: (l.redirectToHttps ?? false) && (l.vhost?.length ?? 0) > 0,
    useHsts: l.useHsts ?? false,
    templates: c.templates,
    servers: [],
  };
  // Optional fields always present (undefined when unset): one shape for every service.
  s.path = path || undefined;
  s.sslCert = l.sslCert || undefined;
  s.auth = l.auth || undefined;
  s.allowedNetworks = l.allowedNetworks || undefined;
  const checkDef = serviceCheckDef(app, i, l.healthCheckPortIndex);
  s.healthCheck = haproxyHealthCheck(checkDef);
  if (s.healthCheck && s.healthCheck.protocol !== 'tcp' && checkDef?.path && !isSafeCheckPath(checkDef.path)) {
    warn('W_HEALTHCHECK_PATH', app.id, `Marathon health check path ${JSON.stringify(checkDef.path)} can't go on HAProxy's check line (it must start with '/' and have no space, quote, backslash or '#'); HAProxy checks / instead`);
  }
  // The check is looked up by port index, so the one found has the index it was looked up by.
  s.healthCheckPortIndex = l.healthCheckPortIndex ?? (s.healthCheck ? i : undefined);
  s.proxypassPath = l.proxypassPath ? l.proxypassPath.replace(/\/+$/, '') || '/' : undefined;
  s.revproxyPath = l.revproxyPath ? l.revproxyPath.replace(/\/+$/, '') : undefined;
  s.redirPath = l.redirPath || undefined;
  s.deploymentGroup = appLabels.deploymentGroup || undefined;
  return s;
}


function startedAt(c: Candidate | undefined): string {
  return c?.parsed.appLabels.deploymentStartedAt ?? '';
}

/**
 * Blue/green: apps of one HAPROXY_DEPLOYMENT_GROUP that bind the same port are one backend
 * while both exist. The older side's service (its name and settings) stays, so a deploy
 * starts without a structural change; the newer side's tasks join it.
 */
function mergeDeploymentGroups(services: Service[], sources: CandidateIndex, warn: Warn): Service[] {
  const groups = new Map<string, Service[]>();
  const out: Service[] = [];
  for (const s of services) {
    if (!s.deploymentGroup) {
      out.push(s);
      continue;
    }
    const key = `${s.deploymentGroup}\u0000${s.servicePort}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const group of groups.values()) {
    group.sort((a, b) => cmp(startedAt(sources.ownOf(a)), startedAt(sources.ownOf(b))) || cmp(a.sourceAppIds[0] ?? '', b.sourceAppIds[0] ?? '') || a.portIndex - b.portIndex);
    const feeding = firstOfEachApp(group, warn);
    const oldest = feeding[0] as Service;
    oldest.sourceAppIds = feeding.flatMap((s) => s.sourceAppIds);
    oldest.sourcePortIndexes = feeding.flatMap((s) => s.sourcePortIndexes);
    if (feeding.length > 1) sources.merge(oldest, feeding);
    out.push(oldest);
  }
  return out;
}

/** An app's first service of the group; its others bind the same port again, a conflict as without a group. */
function firstOfEachApp(group: Service[], warn: Warn): Service[] {
  const out: Service[] = [];
  for (const s of group) {
    const appId = s.sourceAppIds[0] ?? s.appId;
    if (out.some((o) => o.sourceAppIds[0] === appId)) {
      warn('E_PORT_CONFLICT', appId, `port ${s.portIndex} dropped: service port ${s.servicePort} is already bound by ${appId}`, portLabel(s));
      continue;
    }
    out.push(s);
  }
  return out;
}

const PORT_SOURCE_RANK = { marathon: 0, label: 1, assigned: 2 } as const;

/** The label that claimed the service port, for a conflict's warning line (none for Marathon's own or an assigned one). */
function portLabel(s: Service): string | undefined {
  return s.servicePortSource === 'label' ? `HAPROXY_${s.portIndex}_PORT` : undefined;
}

/** One service per port: Marathon's own service port beats a label's claim, then app id order. */
function dropConflicts(services: Service[], reserved: Set<number>, warn: Warn): Service[] {
  const sorted = [...services].sort(
    (a, b) =>
      a.servicePort - b.servicePort ||
      PORT_SOURCE_RANK[a.servicePortSource] - PORT_SOURCE_RANK[b.servicePortSource] ||
      cmp(a.sourceAppIds[0] ?? '', b.sourceAppIds[0] ?? '') ||
      a.portIndex - b.portIndex,
  );
  const owner = new Map<number, Service>();
  const out: Service[] = [];
  for (const s of sorted) {
    const appId = s.sourceAppIds[0] ?? s.appId;
    if (reserved.has(s.servicePort)) {
      warn('E_PORT_CONFLICT', appId, `port ${s.portIndex} dropped: service port ${s.servicePort} is reserved for mlb-ts's own frontends`, portLabel(s));
      continue;
    }
    const first = owner.get(s.servicePort);
    if (first) {
      warn('E_PORT_CONFLICT', appId, `port ${s.portIndex} dropped: service port ${s.servicePort} is already bound by ${first.sourceAppIds[0]}`, portLabel(s));
      continue;
    }
    owner.set(s.servicePort, s);
    out.push(s);
  }
  return out;
}

/** Apps a host's warning names before "and N more". */
const APPS_NAMED_PER_HOST = 10;

/**
 * Agent host → IP, once per host: thousands of tasks share a few hundred agents. A host that
 * gives no address is one warning (warnUnusable), naming every app whose tasks it drops.
 */
function hostResolver(opts: ModelOptions): { resolve: (host: string, appId: string) => string | undefined; warnUnusable: (warn: Warn) => void } {
  const known = new Map<string, string | undefined>();
  const unusable = new Map<string, { why: string; apps: Set<string> }>();
  const resolve = (host: string, appId: string): string | undefined => {
    if (!known.has(host)) {
      const found = isIpLiteral(host) ? host : opts.resolveHost ? opts.resolveHost(host) : host;
      const why = found === undefined ? 'does not resolve' : unspecifiedAgentWhy(host, found);
      known.set(host, why ? undefined : found);
      if (why) unusable.set(host, { why, apps: new Set() });
    }
    unusable.get(host)?.apps.add(appId);
    return known.get(host);
  };
  const warnUnusable = (warn: Warn): void => {
    for (const [host, { why, apps }] of unusable) {
      const [first, ...others] = [...apps].sort(cmp);
      const named = others.slice(0, APPS_NAMED_PER_HOST - 1);
      const more = others.length - named.length;
      const also = others.length === 0 ? '' : ` (so do those of ${named.join(', ')}${more > 0 ? ` and ${more} more apps` : ''})`;
      warn('E_HOST_UNRESOLVED', first as string, `agent host ${host} ${why}; its tasks get no traffic${also}`);
    }
  };
  return { resolve, warnUnusable };
}

/**
 * Whether a task's own IP (container networking) is an IP address, warning once per value that
 * is not: it would go onto the server line as written, and HAProxy refuses anything else.
 */
function taskIpChecker(warn: Warn): (ip: string, appId: string) => boolean {
  const bad = new Set<string>();
  return (ip, appId) => {
    if (isIpLiteral(ip) && !isUnspecifiedIp(ip)) return true;
    const why = isIpLiteral(ip) ? 'is the unspecified address' : 'is not an IP address';
    if (!bad.has(ip)) warn('E_TASK_IP_INVALID', appId, `task IP address ${JSON.stringify(ip)} ${why}; its tasks get no traffic`);
    bad.add(ip);
    return false;
  };
}

/** One warning per app whose tasks lack the port HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX names (served unchecked). */
function warnUnchecked(s: Service, warn: Warn): void {
  const tasks = new Map<string, number>();
  for (const sv of s.servers) if (sv.unchecked) tasks.set(sv.appId, (tasks.get(sv.appId) ?? 0) + 1);
  for (const [appId, n] of tasks) {
    const i = s.sourcePortIndexes[s.sourceAppIds.indexOf(appId)] ?? s.portIndex;
    warn('W_CHECK_PORT_MISSING', appId, `${n} task${n === 1 ? ' has' : 's have'} no port at the health-check port index: served on port ${i} without a health check`, `HAPROXY_${i}_BACKEND_HEALTHCHECK_PORT_INDEX`);
  }
}

function serversOf(s: Service, sources: CandidateIndex, opts: ModelOptions, resolve: (host: string, appId: string) => string | undefined, isTaskIp: (ip: string, appId: string) => boolean): Server[] {
  const servers: Server[] = [];
  const feeding = sources.sourcesOf(s);
  let taskCount = 0;
  for (let i = 0; i < feeding.length; i++) taskCount += (feeding[i] as Candidate).parsed.app.tasks?.length ?? 0;
  // Two tasks on one address are one server; most backends are small enough to check by scanning.
  const seen = taskCount > 32 ? new Set<string>() : undefined;
  const stickyHttp = s.sticky && s.mode === 'http';
  for (let f = 0; f < feeding.length; f++) {
    const c = feeding[f] as Candidate;
    const app = c.parsed.app;
    // Without a health check there is nothing to point at another port.
    const checkIndex = s.healthCheck ? c.labels.healthCheckPortIndex : undefined;
    // Task id order decides which of two tasks on one address is kept.
    const all = app.tasks ?? [];
    const tasks = all.length > 1 ? sortedSmall(all.slice(), byTaskId) : all;
    for (let t = 0; t < tasks.length; t++) {
      const server = serverOf(app, c, tasks[t] as Task, checkIndex, opts, resolve, isTaskIp);
      // A sticky client's cookie still reaches a `weight 0` server: a task being killed is left out
      // instead (as marathon-lb does), so its cookies are redispatched while it shuts down.
      if (server && server.state === 'drain' && stickyHttp) continue;
      if (server && isNewAddress(server, servers, seen)) servers.push(server);
    }
  }
  sortedSmall(servers, byServerName);
  if (hasRepeatedName(servers)) sortedSmall(withUniqueNames(servers), byServerName);
  const ids = assignServerIds(servers);
  for (let i = 0; i < servers.length; i++) (servers[i] as Server).id = ids[i] as number;
  return servers;
}

/** Whether two of the (name-sorted) servers have one name. */
function hasRepeatedName(sorted: Server[]): boolean {
  for (let i = 1; i < sorted.length; i++) if ((sorted[i] as Server).name === (sorted[i - 1] as Server).name) return true;
  return false;
}

/**
 * `servers` with a `_2`, `_3`… after the name of each that repeats an earlier one's: two addresses
 * can clean up to one marathon-lb name (`::ffff:1.2.3.4` and `::ffff:1:2:3:4`), and the runtime
 * API and the stats page tell servers apart by name.
 */
function withUniqueNames(servers: Server[]): Server[] {
  const taken = new Set(servers.map((s) => s.name));
  const seen = new Set<string>();
  for (const s of servers) {
    if (seen.has(s.name)) {
      let n = 2;
      while (taken.has(`${s.name}_${n}`)) n++;
      s.name = `${s.name}_${n}`;
      taken.add(s.name);
    }
    seen.add(s.name);
  }
  return servers;
}

function isNewAddress(sv: Server, servers: Server[], seen: Set<string> | undefined): boolean {
  if (seen) {
    const key = `${sv.ip}:${sv.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }
  for (let i = 0; i < servers.length; i++) {
    const o = servers[i] as Server;
    if (o.port === sv.port && o.ip === sv.ip) return false;
  }
  return true;
}

/**
 * `list` sorted in place, stably. A backend has a handful of tasks: an insertion sort of a
 * few items costs less than setting up Array.prototype.sort, called twice per service.
 */
function sortedSmall<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > 16) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i] as T;
    let j = i - 1;
    while (j >= 0 && compare(list[j] as T, item) > 0) {
      list[j + 1] = list[j] as T;
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}

const byTaskId = (a: Task, b: Task) => cmp(a.id, b.id);
const byServerName = (a: Server, b: Server) => cmp(a.name, b.name);

function serverOf(app: MarathonApp, c: Candidate, task: Task, checkIndex: number | undefined, opts: ModelOptions, resolve: (host: string, appId: string) => string | undefined, isTaskIp: (ip: string, appId: string) => boolean): Server | undefined {
  const state = taskState(app, task, opts.healthCheck ?? false);
  if (!state || !task.host) return undefined;
  const agentIp = c.parsed.net.mode === 'container' ? task.host : resolve(task.host, app.id);
  if (agentIp === undefined) return undefined;
  const ep = taskEndpoint(c.parsed.net.mode, c.port, task, agentIp);
  if (!ep || (c.parsed.net.mode === 'container' && !isTaskIp(ep.ip, app.id))) return undefined;
  const elsewhere = checkIndex !== undefined && checkIndex !== c.port.index;
  const checkPort = elsewhere ? taskEndpoint(c.parsed.net.mode, c.parsed.net.ports[checkIndex] as AppPort, task, agentIp)?.port : undefined;
  const server: Server = { name: serverName(task.host, ep.ip, ep.port), id: 0, host: task.host, ip: ep.ip, port: ep.port, state, taskId: task.id, appId: app.id };
  if (checkPort !== undefined) server.checkPort = checkPort;
  else if (elsewhere) server.unchecked = true;
  return server;
}

/**
 * Once the newer side of a blue/green group has HAPROXY_DEPLOYMENT_TARGET_INSTANCES ready
 * tasks, the older side drains: its connections finish, new ones go to the new side. A new
 * task counts only once it passes the newer app's Marathon health checks, if it has any (a
 * result for each, all alive), with or without -H: one still in its grace period, or failing,
 * may not serve yet, and the old side must not drain into it (as marathon-lb and `zdd` count).
 */
function applyDeploymentDrain(services: Service[], sources: CandidateIndex): void {
  for (const s of services) {
    const feeding = sources.sourcesOf(s);
    if (feeding.length < 2) continue;
    const newestSide = (feeding[feeding.length - 1] as Candidate).parsed;
    const target = newestSide.appLabels.deploymentTargetInstances;
    if (target === undefined) continue;
    const newest = newestSide.app;
    const counted = countedTaskIds(newest);
    let readyNew = 0;
    for (const sv of s.servers) if (sv.appId === newest.id && sv.state === 'ready' && counted.has(sv.taskId)) readyNew++;
    if (readyNew < target) continue;
    for (const sv of s.servers) if (sv.appId !== newest.id) sv.state = 'drain';
  }
}

/**
 * The new side's tasks that count towards its target: running (not lost or unreachable, which
 * take traffic but may not serve), and healthy when the app has health checks.
 */
function countedTaskIds(app: MarathonApp): Set<string> {
  const ids = new Set<string>();
  for (const t of app.tasks ?? []) if ((t.state ?? 'TASK_RUNNING') === 'TASK_RUNNING' && isHealthy(app, t)) ids.add(t.id);
  return ids;
}
