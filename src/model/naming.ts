/** Names HAProxy sees. Pure, stable: the same inputs always give the same names. */

import { createHash } from 'node:crypto';

export function stripSlash(appId: string): string {
  let i = 0;
  while (appId.charCodeAt(i) === 0x2f) i++;
  return i === 0 ? appId : appId.slice(i);
}

/** `/api/pypi` on 3141 → `api_pypi_3141`. */
export function backendName(appId: string, servicePort: number): string {
  return `${cleanIdentifier(stripSlash(appId).replaceAll('/', '_'))}_${servicePort}`;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Also `_ . : -`. */
function isIdentifierChar(c: number): boolean {
  return isAlnum(c) || c === 0x5f || c === 0x2e || c === 0x3a || c === 0x2d;
}

/**
 * `s` with every UTF-16 unit `keep` refuses replaced by `_`. A loop rather than a global
 * regexp replace: this runs for every server of the cluster, and on short strings the
 * regexp's runtime call costs more than the work. Most names need no change: no copy then.
 */
function underscored(s: string, keep: (c: number) => boolean): string {
  let i = 0;
  while (i < s.length && keep(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) out += keep(s.charCodeAt(i)) ? s[i] : '_';
  return out;
}

/** Characters HAProxy accepts in proxy, ACL and server names; everything else → `_`. */
export function cleanIdentifier(s: string): string {
  return underscored(s, isIdentifierChar);
}

/** For ACL names: only letters, digits and `_`. */
export function cleanedUp(s: string): string {
  return underscored(s, isAlnum);
}

/** Letters, digits and `-`: what marathon-lb keeps of a server name. */
function isServerNameChar(c: number): boolean {
  return isAlnum(c) || c === 0x2d;
}

const cleanedHosts = new Map<string, string>();

/** A host or IP as a part of a server name, memoized: a cluster has a few hundred agents and many tasks on each. */
function serverNamePart(s: string): string {
  let c = cleanedHosts.get(s);
  if (c === undefined) {
    c = underscored(s, isServerNameChar);
    if (cleanedHosts.size < 100_000) cleanedHosts.set(s, c);
  }
  return c;
}

/**
 * marathon-lb's server name, so stats, dashboards and its sticky cookies carry over:
 * `host_ip_port`, or `ip_port` when the agent host is the IP itself; every character but
 * letters, digits and `-` becomes `_`.
 */
export function serverName(host: string, ip: string, port: number): string {
  return host === ip ? `${serverNamePart(ip)}_${port}` : `${serverNamePart(host)}_${serverNamePart(ip)}_${port}`;
}

/** stickyCookie's values: the daemon renders every sticky server again on each sync, and names are stable. */
const cookies = new Map<string, string>();

/**
 * A server's value of the sticky cookie, as marathon-lb sets it: the first 10 hex digits of the
 * SHA-1 of its name, so a client holding marathon-lb's cookie keeps its server after the switch.
 */
export function stickyCookie(name: string): string {
  let cookie = cookies.get(name);
  if (cookie === undefined) {
    cookie = createHash('sha1').update(name).digest('hex').slice(0, 10);
    if (cookies.size < 100_000) cookies.set(name, cookie);
  }
  return cookie;
}

/** FNV-1a, 32 bits. */
export function fnv1a(s: string): number {
  return fnv1aMix(0x811c9dc5, s) >>> 0;
}

/** FNV-1a over `s`, continuing from `h` (signed 32-bit state; `>>> 0` for the hash). */
function fnv1aMix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

const PIPE = 0x7c;

/** fnv1a(`${host}|${ip}|${port}`) without building the string (once per server of the cluster). */
function serverHash(host: string, ip: string, port: number): number {
  let h = fnv1aMix(0x811c9dc5, host);
  h = Math.imul(h ^ PIPE, 0x01000193);
  h = fnv1aMix(h, ip);
  h = Math.imul(h ^ PIPE, 0x01000193);
  return fnv1aMix(h, String(port)) >>> 0;
}

/** Task servers get ids in 1..SPARE_ID_BASE; the ids above it are for spare slots. */
export const SPARE_ID_BASE = 2147482624;

/**
 * Stable server ids in 1..SPARE_ID_BASE from host, IP and port. Collisions inside one backend are
 * resolved by probing upwards in the (sorted) order of the servers.
 */
export function assignServerIds<T extends { host: string; ip: string; port: number }>(servers: T[]): number[] {
  const ids: number[] = [];
  // Most backends have a handful of servers: a scan of the list beats building a Set.
  const used = servers.length > 32 ? new Set<number>() : undefined;
  const taken = (id: number) => (used ? used.has(id) : ids.includes(id));
  for (let k = 0; k < servers.length; k++) {
    const s = servers[k] as T;
    let id = (serverHash(s.host, s.ip, s.port) % SPARE_ID_BASE) + 1;
    while (taken(id)) id = (id % SPARE_ID_BASE) + 1;
    ids.push(id);
    used?.add(id);
  }
  return ids;
}

/**
 * ACL-safe names for host names or app ids, unique per value: two values that clean up to the
 * same text (a-b.com and a.b.com, /team-api and /team/api) get distinct suffixes in sorted
 * order, so one ACL never matches both.
 */
export function uniqueAclNames(values: Iterable<string>): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const h of [...new Set(values)].sort()) {
    const base = cleanedUp(h);
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    names.set(h, name);
  }
  return names;
}
