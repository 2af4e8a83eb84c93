/**
 * VipModel → ipvs.rules (full and incremental), vips.hosts, vips.json. Pure: text in the
 * form `ipvsadm-save -n` prints, one command per line, in the model's (sorted) order.
 */
import { MlbError } from '../errors.js';
import { isIpv4 } from '../model/labels/values.js';
import type { Vip, VipBackend, VipModel } from '../model/vips.js';

const IPVS_SCHEDULER = 'wlc';

function serviceArg(v: Vip): string {
  return `${v.protocol === 'udp' ? '-u' : '-t'} ${v.ip}:${v.port}`;
}

function addService(v: Vip): string {
  return `-A ${serviceArg(v)} -s ${IPVS_SCHEDULER}`;
}

/** `op` is -a or -e: -e needs the forwarding method too, or ipvsadm falls back to direct routing. */
function realServer(op: '-a' | '-e', v: Vip, b: VipBackend): string {
  return `${op} ${serviceArg(v)} -r ${b.ip}:${b.port} -m -w ${b.weight}`;
}

function lines(list: string[]): string {
  return list.map((l) => `${l}\n`).join('');
}

/** The whole table, for `ipvsadm-restore` (which clears the table first) on a fresh node. */
export function renderIpvsRules(model: VipModel): string {
  return lines(model.vips.flatMap((v) => [addService(v), ...v.backends.map((b) => realServer('-a', v, b))]));
}

function serviceKey(v: Vip): string {
  return `${v.protocol} ${v.ip}:${v.port}`;
}

function backendKey(b: VipBackend): string {
  return `${b.ip}:${b.port}`;
}

function serviceDelta(prev: Vip, next: Vip): string[] {
  const before = new Map(prev.backends.map((b) => [backendKey(b), b]));
  const after = new Set(next.backends.map(backendKey));
  const removed = prev.backends.filter((b) => !after.has(backendKey(b))).map((b) => `-d ${serviceArg(next)} -r ${b.ip}:${b.port}`);
  const changed: string[] = [];
  for (const b of next.backends) {
    const old = before.get(backendKey(b));
    if (!old) changed.push(realServer('-a', next, b));
    else if (old.weight !== b.weight) changed.push(realServer('-e', next, b));
  }
  return [...removed, ...changed];
}

/**
 * The commands that turn the table of `prev` into that of `next`, for `ipvsadm -R` (not
 * `ipvsadm-restore`, which clears the table first). Only -D/-A/-d/-e/-a, never -C: services and
 * real servers that stay keep their connections. Removed services first, then `next`'s in order.
 */
export function renderIpvsDelta(prev: VipModel, next: VipModel): string {
  const before = new Map(prev.vips.map((v) => [serviceKey(v), v]));
  const after = new Set(next.vips.map(serviceKey));
  const out: string[] = [];
  for (const v of prev.vips) if (!after.has(serviceKey(v))) out.push(`-D ${serviceArg(v)}`);
  for (const v of next.vips) {
    const old = before.get(serviceKey(v));
    if (old) out.push(...serviceDelta(old, v));
    else out.push(addService(v), ...v.backends.map((b) => realServer('-a', v, b)));
  }
  return lines(out);
}

/** `IP name` lines, one per named VIP, sorted by name (hosts-file format). */
export function renderVipHosts(model: VipModel): string {
  const byName = new Map<string, string>();
  for (const v of model.vips) if (v.name !== undefined) byName.set(v.name, v.ip);
  return lines([...byName.keys()].sort().map((name) => `${byName.get(name)} ${name}`));
}

export function renderVipJson(model: VipModel): string {
  return `${JSON.stringify({ vips: model.vips }, null, 2)}\n`;
}

/* ---------- reading vips.json back (e.g. the previous model of a daemon that restarted) ---------- */

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isPort = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 65535;

function backendFrom(x: unknown): VipBackend | undefined {
  if (!isObj(x) || typeof x.ip !== 'string' || !isIpv4(x.ip) || !isPort(x.port) || (x.weight !== 0 && x.weight !== 1)) return undefined;
  return { ip: x.ip, port: x.port, weight: x.weight, appId: String(x.appId ?? ''), taskId: String(x.taskId ?? '') };
}

function vipFrom(x: unknown): Vip | undefined {
  if (!isObj(x) || typeof x.ip !== 'string' || !isIpv4(x.ip) || !isPort(x.port) || (x.protocol !== 'tcp' && x.protocol !== 'udp')) return undefined;
  if (!Array.isArray(x.backends) || (x.name !== undefined && typeof x.name !== 'string')) return undefined;
  const backends = x.backends.map(backendFrom);
  if (backends.some((b) => b === undefined)) return undefined;
  const apps = Array.isArray(x.apps) ? x.apps.map(String) : [];
  return { ...(typeof x.name === 'string' ? { name: x.name } : {}), ip: x.ip, port: x.port, protocol: x.protocol, apps, backends: backends as VipBackend[] };
}

/** vips.json → VipModel; throws E_INPUT_NOT_JSON, or E_INPUT_UNREADABLE when it is not a VIP model. */
export function parseVipJson(text: string): VipModel {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new MlbError('E_INPUT_NOT_JSON', 'vips.json is not JSON', { cause: e });
  }
  const list = isObj(doc) && Array.isArray(doc.vips) ? doc.vips : undefined;
  const vips = list?.map(vipFrom);
  if (!vips || vips.some((v) => v === undefined)) throw new MlbError('E_INPUT_UNREADABLE', 'vips.json is not a VIP model ({"vips": [{ip, port, protocol, backends}]})');
  return { vips: vips as Vip[] };
}
