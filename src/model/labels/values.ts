/**
 * Parsers for label values. Each returns the parsed value or throws LabelValueError with a
 * reason that completes the sentence `HAPROXY_0_X "value": <reason>`.
 */
export class LabelValueError extends Error {}

/**
 * A label's value as text. Marathon only ever sends strings, but a hand-written apps file may
 * hold `"HAPROXY_0_PORT": 8080`: that label is refused like any bad value, not the document.
 */
export function labelText(raw: unknown): string {
  const problem = notTextProblem(raw);
  if (problem) throw new LabelValueError(problem);
  return raw as string;
}

/** Why a label's value is not text (see labelText), or undefined when it is a string. */
export function notTextProblem(raw: unknown): string | undefined {
  if (typeof raw === 'string') return undefined;
  return `is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw === 'object' ? 'an object' : `a ${typeof raw}`}, not a string (label values are strings: quote it)`;
}

const LINE_BREAK_CHARS = '\\r\\n\\v\\f\\u0085\\u2028\\u2029';
const CONTROL_CHARS = '\\u0000-\\u0008\\u000e-\\u001f\\u007f';
const LINE_BREAK = new RegExp(`[${LINE_BREAK_CHARS}]`);
const CONTROL = new RegExp(`[${CONTROL_CHARS}]`);
/** Anything assertSingleLine could object to: one test for the common, clean value. */
const SUSPECT = new RegExp(`[${LINE_BREAK_CHARS}${CONTROL_CHARS}#]`);

/** Rejects what would break out of a config line: line breaks and `#` (a comment start). */
export function assertSingleLine(raw: string, allowHash = false): void {
  if (!SUSPECT.test(raw)) return;
  if (LINE_BREAK.test(raw)) throw new LabelValueError('contains a line break, which would inject config');
  if (!allowHash && raw.includes('#')) throw new LabelValueError("contains '#', which would start a comment");
  if (CONTROL.test(raw)) throw new LabelValueError('contains a control character');
}

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', '0', '']);

/** marathon-lb's yes/no: true for its true words, false for anything else. */
export function parseBool(raw: string): boolean {
  assertSingleLine(raw);
  return TRUE_WORDS.has(raw.trim().toLowerCase());
}

/** Whether a yes/no label's value is a word either way: anything else (`ture`, `1`, `on`) is false too, which deserves a line. */
export function isBoolWord(raw: string): boolean {
  const w = raw.trim().toLowerCase();
  return TRUE_WORDS.has(w) || FALSE_WORDS.has(w);
}

export function parseInteger(raw: string): number {
  assertSingleLine(raw);
  const s = raw.trim();
  if (!/^-?\d+$/.test(s)) throw new LabelValueError('is not an integer');
  return Number(s);
}

export function parsePort(raw: string): number {
  assertSingleLine(raw);
  const s = raw.trim();
  if (!/^\d+$/.test(s)) throw new LabelValueError('is not a port number');
  const n = Number(s);
  if (n < 1 || n > 65535) throw new LabelValueError('is not a port number (1-65535)');
  return n;
}

export function parsePortIndex(raw: string): number {
  assertSingleLine(raw);
  const s = raw.trim();
  if (!/^\d+$/.test(s)) throw new LabelValueError('is not a port index');
  return Number(s);
}

export function parseMode(raw: string): 'http' | 'tcp' {
  assertSingleLine(raw);
  const s = raw.trim().toLowerCase();
  if (s !== 'http' && s !== 'tcp') throw new LabelValueError("is not a mode (use 'http' or 'tcp')");
  return s;
}

export function parseList(raw: string): string[] {
  assertSingleLine(raw);
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*\.?$/;

/** A `:port` after a host name (marathon-lb matched `host:port` against the whole Host header). */
const HOST_PORT = /:\d{1,5}$/;

/** The VHOST entries written with a port, which routing by host name ignores (see parseVhosts). */
export function vhostsWithPort(raw: string): string[] {
  return parseList(raw).filter((h) => HOST_PORT.test(h));
}

/**
 * Host names, lowercased, each once. `host:port` counts as `host`: HAProxy's host ACLs here
 * compare the Host header without its port, and SNI has none (the caller warns: vhostsWithPort).
 */
export function parseVhosts(raw: string): string[] {
  const hosts = parseList(raw).map((h) => h.toLowerCase().replace(HOST_PORT, ''));
  if (hosts.length === 0) throw new LabelValueError('names no host');
  for (const h of hosts) {
    if (!HOST_NAME.test(h)) throw new LabelValueError(`'${h}' is not a host name`);
  }
  return [...new Set(hosts)];
}

/** A path or prefix: starts with '/', no spaces or quotes. */
export function parseUrlPath(raw: string): string {
  assertSingleLine(raw);
  const s = raw.trim();
  if (!s.startsWith('/')) throw new LabelValueError("does not start with '/'");
  if (/[\s"'\\]/.test(s)) throw new LabelValueError('contains a space, quote or backslash');
  if (s.includes('^')) throw new LabelValueError("contains '^', which a URL path can't (percent-encode it: %5E)");
  return s;
}

/**
 * HAPROXY_{n}_PATH, as marathon-lb reads it: the arguments of HAProxy's `path_beg`, so one or
 * more prefixes separated by spaces, optionally after `-i` (ignore case). Normalised to single
 * spaces.
 */
export function parsePathPrefixes(raw: string): string {
  assertSingleLine(raw);
  const words = raw.trim().split(/\s+/).filter(Boolean);
  const prefixes = words[0] === '-i' ? words.slice(1) : words;
  if (prefixes.length === 0) throw new LabelValueError("has no path (a path starts with '/')");
  for (const w of prefixes) {
    if (!w.startsWith('/')) throw new LabelValueError(`'${w}' does not start with '/'`);
    if (/["'\\]/.test(w)) throw new LabelValueError(`'${w}' contains a quote or backslash`);
  }
  return words.join(' ');
}

/** The length of the longest prefix of a PATH label value: more specific paths are matched first. */
export function longestPathPrefix(path: string | undefined): number {
  if (!path) return 0;
  let longest = 0;
  for (const w of path.split(' ')) if (w.startsWith('/') && w.length > longest) longest = w.length;
  return longest;
}

export function parseWord(raw: string): string {
  assertSingleLine(raw);
  const s = raw.trim();
  if (s === '' || /[\s"'\\]/.test(s)) throw new LabelValueError('is not a single word');
  return s;
}

/**
 * Controls (C0, C1) and the invisible characters that make one name print like another or
 * reorder it: bidi marks, embeddings, overrides and isolates, zero-width space, word joiner and
 * invisible operators, soft hyphen. Not ZWJ / ZWNJ (U+200C, U+200D), which some scripts and
 * emoji need.
 */
const INVISIBLE = /[\p{Cc}\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

/**
 * Longest app id (Marathon's or HAPROXY_APP_ID) mlb-ts writes into backend and ACL names: HAProxy
 * loses track of a backend whose name is about 4 KB (`unable to find required use_backend`).
 */
export const MAX_APP_ID_LENGTH = 1000;

/** An app id: one word, of at most MAX_APP_ID_LENGTH characters. */
export function parseAppId(raw: string): string {
  const id = parseWord(raw);
  if (id.length > MAX_APP_ID_LENGTH) throw new LabelValueError(`is longer than ${MAX_APP_ID_LENGTH} characters`);
  const invisible = INVISIBLE.exec(id);
  // HAProxy takes them, but a backend name or map key that prints like another app's is a trap for whoever reads the config.
  if (invisible) throw new LabelValueError(`contains an invisible character (U+${(invisible[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')})`);
  return id;
}

/** Free words for the end of a config line (bind options). */
export function parseWords(raw: string): string {
  assertSingleLine(raw);
  // HAProxy reads quotes and backslashes itself: an unmatched quote fails the whole config
  if (/["'\\]/.test(raw)) throw new LabelValueError('contains a quote or backslash');
  return raw.trim().split(/\s+/).filter(Boolean).join(' ');
}

/** HAProxy 2.6's `balance` algorithms, each with the arguments it takes. */
const BALANCE_FORMS = [
  /^(roundrobin|static-rr|leastconn|first|source)$/,
  /^uri( (whole|path-only|len \d+|depth \d+))*$/,
  /^url_param [^\s()]+( check_post( \d+)?)?$/,
  /^hdr\([^\s()]+\)( use_domain_only)?$/,
  /^random(\(\d+\))?$/,
  /^rdp-cookie(\([^\s()]+\))?$/,
  /^hash [^\s()]+(\([^\s()]*\))?(,[^\s()]+(\([^\s()]*\))?)*$/,
];

/** The algorithms that read the HTTP request: meaningless (and warned about by HAProxy) in mode tcp. */
export function isLayer7Balance(balance: string): boolean {
  return /^(uri|url_param|hdr\()/.test(balance);
}

/** `uri len N`, `uri depth N` and `random(N)` with an N HAProxy refuses: 0, or more than fits in an int. */
function hasCountOutOfRange(balance: string): boolean {
  if (!/^(uri|random)\b/.test(balance)) return false;
  for (const [n] of balance.matchAll(/\d+/g)) if (Number(n) < 1 || Number(n) > 2147483647) return true;
  return false;
}

export function parseBalance(raw: string): string {
  const words = parseWords(raw);
  if (hasCountOutOfRange(words)) throw new LabelValueError('has a count HAProxy refuses: uri len/depth and random(N) take 1 to 2147483647');
  if (!BALANCE_FORMS.some((form) => form.test(words))) {
    throw new LabelValueError(
      'is not a balance algorithm HAProxy takes: roundrobin, static-rr, leastconn, first, source, uri [whole|path-only|len N|depth N], url_param NAME [check_post], hdr(NAME) [use_domain_only], random[(N)], rdp-cookie[(NAME)], hash EXPR',
    );
  }
  return words;
}

export interface BasicAuth {
  realm: string;
  user: string;
  password: string;
}

export function parseAuth(raw: string): BasicAuth {
  assertSingleLine(raw, false);
  const [realm, user, ...rest] = raw.split(':');
  const password = rest.join(':');
  if (!realm || !user || !password) throw new LabelValueError("is not 'realm:user:encrypted-password'");
  // The realm goes in double quotes, where HAProxy expands ${VARIABLES}; user and password are
  // bare words, where a quote or backslash would change them.
  if (/["\\$]/.test(realm)) throw new LabelValueError("realm contains a quote, backslash or '$'");
  if (/[\s"'\\]/.test(user) || /[\s"'\\]/.test(password)) throw new LabelValueError('user or password contains a space, quote or backslash');
  return { realm, user, password };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** Eight hex groups, or fewer around one `::`; an IPv4 tail counts as two groups. */
export function isIpv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  const last = groups[groups.length - 1] ?? '';
  const v4Tail = last.includes('.');
  if (v4Tail && (!isIpv4(last) || !s.endsWith(last))) return false;
  const hex = v4Tail ? groups.slice(0, -1) : groups;
  if (!hex.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const count = hex.length + (v4Tail ? 2 : 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

export function isIpLiteral(s: string): boolean {
  return isIpv4(s) || isIpv6(s);
}

/**
 * 0.0.0.0 or ::, the "any" address, in any spelling (`0:0::0`, `::0.0.0.0`, IPv4-mapped
 * `::ffff:0.0.0.0`): as a server's address it reaches no task (on Linux, the load balancer's own host).
 */
export function isUnspecifiedIp(ip: string): boolean {
  if (isIpv4(ip)) return ip === '0.0.0.0';
  if (!isIpv6(ip)) return false;
  const groups = ipv6Groups(ip);
  // The last two groups are the IPv4 address of ::a.b.c.d and ::ffff:a.b.c.d.
  return groups.every((g, i) => g === 0 || (i === 5 && g === 0xffff && groups.slice(0, 5).every((z) => z === 0)));
}

/** Why an agent at `ip` (its host `host`, maybe a name) gets no traffic, for `agent host <host> <why>`; undefined when it can. */
export function unspecifiedAgentWhy(host: string, ip: string): string | undefined {
  return isUnspecifiedIp(ip) ? `${ip === host ? '' : `resolves to ${ip}, which `}is the unspecified address` : undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (isIpv6), an IPv4 tail as the last two. */
function ipv6Groups(ip: string): number[] {
  const halves = ip.split('::').map((h) => (h === '' ? [] : h.split(':')).flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [parseInt(g, 16)])));
  const [head = [], tail] = halves;
  return tail === undefined ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function ipv4Groups(ip: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return [a * 256 + b, c * 256 + d];
}

export function parseNetworks(raw: string): string[] {
  assertSingleLine(raw);
  const nets = raw.trim().split(/\s+/).filter(Boolean);
  if (nets.length === 0) throw new LabelValueError('names no network');
  for (const net of nets) {
    const [ip, prefix, extra] = net.split('/');
    const max = ip && isIpv4(ip) ? 32 : ip && isIpv6(ip) ? 128 : -1;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= max);
    if (max < 0 || !prefixOk || extra !== undefined) throw new LabelValueError(`'${net}' is not an IP address or CIDR`);
  }
  return nets;
}

export function parseBindAddr(raw: string): string {
  assertSingleLine(raw);
  const s = raw.trim();
  const hostName = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(s) && !/^[\d.]+$/.test(s);
  if (s === '*' || isIpLiteral(s) || hostName) return s;
  throw new LabelValueError('is not a bind address');
}

export function parseTimestamp(raw: string): string {
  assertSingleLine(raw);
  return raw.trim();
}
