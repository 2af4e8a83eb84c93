/**
 * Named VIPs and IP VIPs from `VIP_n` port labels → a VipModel (see design/VIPS.md).
 * Pure and deterministic: the same apps give the same model, whatever their order.
 */
import type { MarathonApp, Task } from '../marathon/types.js';
import { isIpv4, isIpv6, isUnspecifiedIp, labelText, LabelValueError, parsePort, unspecifiedAgentWhy } from './labels/values.js';
import { type AppPort, appNetworking, taskEndpoint } from './networking.js';
import { fnv1a } from './naming.js';
import { cmp } from './service-ports.js';
import { isHealthy } from './tasks.js';
import { type NetworkingMode, type Warn, type Warning, warnInto } from './types.js';

const VIP_DOMAIN = 'marathon.l4lb.thisdcos.directory';

export type VipProtocol = 'tcp' | 'udp';

export interface VipBackend {
  ip: string;
  port: number;
  /** 1: takes new connections; 0: quiescent (unhealthy, not yet healthy, or TASK_KILLING). */
  weight: 0 | 1;
  appId: string;
  taskId: string;
}

export interface Vip {
  /** DNS name of a named VIP (`httpi.marathon.l4lb.thisdcos.directory`); absent for an IP VIP. */
  name?: string;
  ip: string;
  port: number;
  protocol: VipProtocol;
  /** Marathon app ids whose ports carry this VIP, sorted. */
  apps: string[];
  /** Sorted by address, then port. */
  backends: VipBackend[];
}

export interface VipModel {
  /** Sorted by address, port, protocol. */
  vips: Vip[];
}

export interface VipOptions {
  /** Agent host → IPv4 (undefined: unresolvable). IP literals never reach it. */
  resolveHost?: (host: string) => string | undefined;
}

export interface VipResult {
  model: VipModel;
  warnings: Warning[];
}

/** What a VIP label's value names: a DNS name (mangled, with the domain) or an IP. */
export type VipTarget = { kind: 'named'; name: string; port: number } | { kind: 'ip'; ip: string; port: number };

const VIP_KEY = /^vip_/i;
const MAX_DNS_LABEL = 63;
const MAX_DNS_NAME = 253;

/** One label of a DC/OS name: lowercase, `[a-z0-9]` kept, `-`/`_` → `-`, the rest dropped, no leading `-`. */
function mangleDnsLabel(label: string): string {
  const kept = label
    .toLowerCase()
    .replace(/[-_]/g, '-')
    .replace(/[^a-z0-9-]/g, '');
  return kept.replace(/^-+/, '').slice(0, MAX_DNS_LABEL);
}

/** `/group/My_App.v2` → `groupmy-app.v2`; empty labels are dropped, so the result may be ''. */
export function mangleVipName(raw: string): string {
  return raw
    .split('.')
    .map(mangleDnsLabel)
    .filter((l) => l !== '')
    .join('.');
}

/** `/httpi` → `httpi.marathon.l4lb.thisdcos.directory`; undefined when nothing survives mangling. */
export function vipDnsName(raw: string): string | undefined {
  const mangled = mangleVipName(raw);
  return mangled === '' ? undefined : `${mangled}.${VIP_DOMAIN}`;
}

/** An IPv4 address that can be a service address: not 0/8, loopback, multicast or above. */
function isUsableVipIp(ip: string): boolean {
  const first = Number(ip.split('.')[0]);
  return first !== 0 && first !== 127 && first < 224;
}

/**
 * A VIP label's value: split at the last `:` into name and port. Throws LabelValueError with a
 * reason that completes `VIP_0 "value": <reason>`.
 */
export function parseVipValue(raw: string): VipTarget {
  const value = raw.trim();
  const colon = value.lastIndexOf(':');
  if (colon < 0) throw new LabelValueError("is not 'name:port'");
  const port = parsePort(value.slice(colon + 1));
  const name = value.slice(0, colon).trim();
  if (name === '') throw new LabelValueError("has no name before ':'");
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  if (isIpv6(bare)) throw new LabelValueError('is an IPv6 VIP, which mlb-ts does not support');
  if (isIpv4(name)) {
    if (!isUsableVipIp(name)) throw new LabelValueError('is not a usable VIP address (0/8, loopback, multicast or reserved)');
    return { kind: 'ip', ip: name, port };
  }
  const dns = vipDnsName(name);
  if (dns === undefined) throw new LabelValueError('has no letter or digit in its name');
  if (dns.length > MAX_DNS_NAME) throw new LabelValueError(`gives a DNS name longer than ${MAX_DNS_NAME} characters`);
  return { kind: 'named', name: dns, port };
}

/** `tcp` → [tcp]; `udp,tcp` → [tcp, udp]; anything else is reported in `unsupported`. */
export function vipProtocols(protocol: string): { protocols: VipProtocol[]; unsupported: string[] } {
  const words = protocol.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  const protocols = new Set<VipProtocol>();
  const unsupported: string[] = [];
  for (const w of words.length > 0 ? words : ['tcp']) {
    if (w === 'tcp' || w === 'udp') protocols.add(w);
    else unsupported.push(w);
  }
  return { protocols: [...protocols].sort(), unsupported };
}

/**
 * A task's weight behind a VIP, or undefined when it gets no traffic at all: TASK_RUNNING and
 * healthy → 1; TASK_RUNNING with a failing check or no result yet (active once healthy), or
 * TASK_KILLING → 0; any other state → undefined.
 */
export function vipBackendWeight(app: MarathonApp, task: Task): 0 | 1 | undefined {
  const state = task.state ?? 'TASK_RUNNING';
  if (state === 'TASK_KILLING') return 0;
  if (state !== 'TASK_RUNNING') return undefined;
  return isHealthy(app, task) ? 1 : 0;
}

/* ---------- addresses ---------- */

/** Last octet 1..254 only, so no address looks like a network (.0) or broadcast (.255) one. */
const HOSTS_PER_24 = 254;
/** Named-VIP addresses in 11.0.0.0/8: 65,536 /24s × 254 = 16,646,144. */
export const VIP_SLOTS = 65536 * HOSTS_PER_24;

function slotAddress(slot: number): string {
  const net24 = Math.floor(slot / HOSTS_PER_24);
  return `11.${net24 >> 8}.${net24 & 255}.${(slot % HOSTS_PER_24) + 1}`;
}

/** The slot of an address in 11.0.0.0/8, or undefined outside the slot space. */
function addressSlot(ip: string): number | undefined {
  const o = ip.split('.').map(Number);
  if (o.length !== 4 || o[0] !== 11) return undefined;
  const [, b, c, d] = o as [number, number, number, number];
  if (d < 1 || d > HOSTS_PER_24) return undefined;
  return ((b << 8) | c) * HOSTS_PER_24 + d - 1;
}

/** Where a name's probing starts: FNV-1a (32 bits) of the name modulo VIP_SLOTS. */
export function vipHomeAddress(name: string): string {
  return slotAddress(fnv1a(name) % VIP_SLOTS);
}

/**
 * Addresses of named VIPs: a pure function of the set of names (and of the IP VIPs in
 * 11.0.0.0/8, which are `reserved`).
 *
 * The slots are the 16,646,144 addresses 11.b.c.d with d in 1..254 (never .0 or .255),
 * numbered k = (b·256 + c)·254 + (d − 1). Names are taken in ascending code-unit order; each
 * starts at its home slot fnv1a(name) mod 16,646,144 and probes k+1, k+2, … (wrapping) until
 * a slot is neither reserved nor taken by an earlier name.
 *
 * Consequences: a name's address depends only on the reserved addresses and the names that
 * sort before it, so adding or removing a name that sorts after it never moves it. A name
 * moves only when its probe path meets another name's: a newcomer sorting first takes its
 * slot, or the name it lost a collision to disappears (then it returns home). For n names
 * that touches about n/16.6M of them per change; a stateless allocation can't do better,
 * since of two names with the same home one must yield while the other exists.
 *
 * Throws RangeError when there are more names than free slots.
 */
export function allocateVipAddresses(names: Iterable<string>, reserved: Iterable<string> = []): Map<string, string> {
  const taken = new Set<number>();
  for (const ip of reserved) {
    const slot = addressSlot(ip);
    if (slot !== undefined) taken.add(slot);
  }
  const sorted = [...new Set(names)].sort(cmp);
  if (sorted.length + taken.size > VIP_SLOTS) throw new RangeError(`${sorted.length} VIP names do not fit in 11.0.0.0/8`);
  const out = new Map<string, string>();
  for (const name of sorted) {
    let slot = fnv1a(name) % VIP_SLOTS;
    for (let i = 0; i < VIP_SLOTS && taken.has(slot); i++) slot = (slot + 1) % VIP_SLOTS;
    taken.add(slot);
    out.set(name, slotAddress(slot));
  }
  return out;
}

/* ---------- the model ---------- */

/** One VIP label of one port of one app, for one protocol. */
interface VipRef {
  target: VipTarget;
  protocol: VipProtocol;
  app: MarathonApp;
  mode: NetworkingMode;
  port: AppPort;
}

function vipRefsOf(app: MarathonApp, warn: Warn): VipRef[] {
  const net = appNetworking(app);
  const refs: VipRef[] = [];
  for (const port of net.ports) {
    const keys = Object.keys(port.labels).filter((k) => VIP_KEY.test(k)).sort(cmp);
    if (keys.length === 0) continue;
    const { protocols, unsupported } = vipProtocols(port.protocol);
    for (const key of keys) {
      const raw = port.labels[key];
      let target: VipTarget;
      try {
        target = parseVipValue(labelText(raw));
      } catch (e) {
        if (!(e instanceof LabelValueError)) throw e;
        warn('E_LABEL_INVALID', app.id, `port ${port.index}: ${JSON.stringify(raw)} ${e.message}; VIP ignored`, key);
        continue;
      }
      for (const p of unsupported) warn('W_VIP_IGNORED', app.id, `port ${port.index}: protocol ${JSON.stringify(p)} is not tcp or udp; no VIP for it`, key);
      for (const protocol of protocols) refs.push({ target, protocol, app, mode: net.mode, port });
    }
  }
  return refs;
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function byAddress(a: { ip: string; port: number }, b: { ip: string; port: number }): number {
  return ipv4Number(a.ip) - ipv4Number(b.ip) || a.port - b.port;
}

function agentResolver(opts: VipOptions, warn: Warn): (host: string, appId: string) => string | undefined {
  const reported = new Set<string>();
  return (host, appId) => {
    const found = isIpv4(host) ? host : isIpv6(host) ? undefined : opts.resolveHost?.(host);
    const why = isIpv6(host) ? 'is IPv6, which VIPs do not support' : found === undefined ? 'does not resolve' : unspecifiedAgentWhy(host, found);
    if (why && !reported.has(host)) {
      reported.add(host);
      warn('E_HOST_UNRESOLVED', appId, `agent host ${host} ${why}; its tasks get no traffic`);
    }
    return why ? undefined : found;
  };
}

/** Where the VIP sends a task's traffic: agent IP + host port, or (container) task IPv4 + container port. */
function backendOf(ref: VipRef, task: Task, resolve: (host: string, appId: string) => string | undefined): VipBackend | undefined {
  const weight = vipBackendWeight(ref.app, task);
  if (weight === undefined) return undefined;
  let agentIp = '';
  if (ref.mode !== 'container') {
    if (!task.host) return undefined;
    const ip = resolve(task.host, ref.app.id);
    if (ip === undefined) return undefined;
    agentIp = ip;
  }
  const ipv4Only: Task = { ...task, ipAddresses: (task.ipAddresses ?? []).filter((a) => isIpv4(a.ipAddress) && !isUnspecifiedIp(a.ipAddress)) };
  const ep = taskEndpoint(ref.mode, ref.port, ipv4Only, agentIp);
  return ep ? { ip: ep.ip, port: ep.port, weight, appId: ref.app.id, taskId: task.id } : undefined;
}

/**
 * Apps + tasks → VipModel. VIPs are cluster-wide: HAPROXY_* labels and --group play no part.
 * VIPs with the same address, port and protocol (e.g. two apps naming `myservice:6666`) are one
 * service with the backends of all; a VIP whose app has no running task stays, without backends,
 * so its address holds while the app scales through zero.
 */
export function buildVipModel(apps: readonly MarathonApp[], opts: VipOptions = {}): VipResult {
  const warnings: Warning[] = [];
  const warn = warnInto(warnings);
  const refs = [...apps].sort((a, b) => cmp(a.id, b.id)).flatMap((app) => vipRefsOf(app, warn));

  const names = refs.flatMap((r) => (r.target.kind === 'named' ? [r.target.name] : []));
  const ipVips = refs.flatMap((r) => (r.target.kind === 'ip' ? [r.target.ip] : []));
  const addresses = allocateVipAddresses(names, ipVips);
  const resolve = agentResolver(opts, warn);

  const vips = new Map<string, { vip: Vip; apps: Set<string>; backends: Map<string, VipBackend> }>();
  for (const ref of refs) {
    const t = ref.target;
    const ip = t.kind === 'ip' ? t.ip : (addresses.get(t.name) as string);
    const key = `${ip}:${t.port}/${ref.protocol}`;
    let entry = vips.get(key);
    if (!entry) {
      const vip: Vip = { ...(t.kind === 'named' ? { name: t.name } : {}), ip, port: t.port, protocol: ref.protocol, apps: [], backends: [] };
      entry = { vip, apps: new Set(), backends: new Map() };
      vips.set(key, entry);
    }
    entry.apps.add(ref.app.id);
    for (const task of [...(ref.app.tasks ?? [])].sort((a, b) => cmp(a.id, b.id))) {
      const b = backendOf(ref, task, resolve);
      if (!b) continue;
      const bKey = `${b.ip}:${b.port}`;
      const seen = entry.backends.get(bKey);
      if (!seen || seen.weight < b.weight) entry.backends.set(bKey, b);
    }
  }

  const out = [...vips.values()].map(({ vip, apps: ids, backends }) => ({ ...vip, apps: [...ids].sort(cmp), backends: [...backends.values()].sort(byAddress) }));
  out.sort((a, b) => byAddress(a, b) || cmp(a.protocol, b.protocol));
  warnings.sort((a, b) => cmp(a.appId, b.appId) || cmp(a.label ?? '', b.label ?? '') || cmp(a.message, b.message));
  return { model: { vips: out }, warnings };
}
