import { isIpLiteral } from '../model/labels/values.js';

/** A server-state file with no servers: HAProxy needs at least the format version. */
export const EMPTY_SERVER_STATE = '1\n';

/** What a config's `server` line sets that a saved server state can override or contradict. */
export interface ConfiguredServer {
  /** The address as written: an IP, or a name HAProxy resolves. */
  addr: string;
  /** 0 when the line has none (HAProxy then uses the client's destination port). */
  port: number;
  /** `port N`: health checks on another port; 0 without, as `show servers state` shows it then. */
  checkPort: number;
  /** `weight N`; HAProxy's default is 1. */
  weight: number;
  /** `id N`, when the line sets one. */
  id?: number;
}

/** `backend/server` → what the config says of it. */
export type ConfiguredServers = Map<string, ConfiguredServer>;

/** A section header line: its keyword and name. */
export const SECTION = /^(global|defaults|frontend|backend|listen|userlist|peers|resolvers|mailers|program|http-errors|ring|cache)\b\s*(\S*)/;

/** The `weight` and `port` settings in `words` (later ones win, as in HAProxy). */
function settingsOf(words: string[], base: Pick<ConfiguredServer, 'checkPort' | 'weight'>): Pick<ConfiguredServer, 'checkPort' | 'weight'> {
  const out = { ...base };
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === 'weight') out.weight = Number(words[i + 1]);
    else if (words[i] === 'port') out.checkPort = Number(words[i + 1]);
  }
  return out;
}

/**
 * The servers of a config's backends and listen sections, with their address, port, check
 * port and weight (`default-server` lines of the `defaults` section and of the backend
 * included).
 */
export function configuredServers(config: string): ConfiguredServers {
  const out: ConfiguredServers = new Map();
  const none = { checkPort: 0, weight: 1 };
  let defaults = none;
  let proxy: string | undefined;
  let inDefaults = false;
  let current = none;
  for (const raw of config.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '');
    const section = SECTION.exec(line);
    if (section) {
      inDefaults = section[1] === 'defaults';
      // A defaults section starts afresh.
      if (inDefaults) defaults = none;
      proxy = section[1] === 'backend' || section[1] === 'listen' ? section[2] : undefined;
      current = defaults;
      continue;
    }
    const words = line.trim().split(/\s+/);
    if (words[0] === 'default-server') {
      if (inDefaults) defaults = settingsOf(words.slice(1), defaults);
      else if (proxy) current = settingsOf(words.slice(1), current);
    } else if (words[0] === 'server' && proxy && words.length >= 3) {
      const target = (words[2] as string).replace(/^[a-z0-9]+@/i, '');
      const colon = target.lastIndexOf(':');
      const addr = (colon < 0 ? target : target.slice(0, colon)).replace(/^\[(.*)\]$/, '$1');
      const port = colon < 0 ? 0 : Number(target.slice(colon + 1));
      const idAt = words.indexOf('id', 3);
      const id = idAt > 0 ? Number(words[idAt + 1]) : NaN;
      out.set(`${proxy}/${words[1]}`, { addr, port, ...settingsOf(words.slice(3), current), ...(Number.isInteger(id) ? { id } : {}) });
    }
  }
  return out;
}

const CONFIG_DISABLED = 0x04;

/** `backend ip:port` → the server of `servers` there (IP addresses only: a name resolves to whatever). */
function serversByAddress(servers: ConfiguredServers): Map<string, { name: string; conf: ConfiguredServer }> {
  const out = new Map<string, { name: string; conf: ConfiguredServer }>();
  for (const [key, conf] of servers) {
    if (!isIpLiteral(conf.addr)) continue;
    const slash = key.indexOf('/');
    out.set(`${key.slice(0, slash)} ${conf.addr}:${conf.port}`, { name: key.slice(slash + 1), conf });
  }
  return out;
}

/**
 * The server-state file for the next worker, from a `show servers state` answer. Servers in
 * maintenance or drain are left out: the new config decides their state. With `next` (the
 * servers of the config that worker loads), so is every server that config does not have at
 * the address, port and check port the answer shows — a slot the runtime API pointed at
 * another task, whose saved port HAProxy would apply over the config's (but a spare slot's task
 * keeps its state under the name and id the config gives it at that address) — and the weight
 * saved is the one the config gives, so only health and check state survive the reload.
 * Undefined when the answer is not a `show servers state` one.
 */
export function serverStateFile(answer: string, next?: ConfiguredServers): string | undefined {
  const lines = answer.split('\n');
  const header = lines.findIndex((l) => l.startsWith('# be_id'));
  if (!/^\d+\s*$/.test(lines[0] ?? '') || header < 0) return undefined;
  const cols = (lines[header] as string).replace(/^#\s*/, '').split(/\s+/);
  const col = (name: string) => cols.indexOf(name);
  const [admin, backend, name, addr, port, checkPort, uweight, iweight, srvId] = [
    'srv_admin_state', 'be_name', 'srv_name', 'srv_addr', 'srv_port', 'srv_check_port', 'srv_uweight', 'srv_iweight', 'srv_id',
  ].map(col) as [number, number, number, number, number, number, number, number, number];
  const byAddress = next ? serversByAddress(next) : undefined;
  const kept: string[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const flags = Number(f[admin] ?? 0);
    // Forced maintenance or drain (anything but the config's `disabled`, 0x04, which a spare slot
    // the runtime API filled keeps while it serves).
    if ((flags & ~CONFIG_DISABLED) !== 0) continue;
    if (!next || !byAddress) {
      if (flags === 0) kept.push(line);
      continue;
    }
    let conf = next.get(`${f[backend]}/${f[name]}`);
    if (!conf || flags !== 0 || Number(f[port]) !== conf.port || (isIpLiteral(conf.addr) && f[addr] !== conf.addr)) {
      // A task that joined through a spare slot: the next config names it after the task. Its
      // health goes with it (a task HAProxy found DOWN must not get traffic again after the reload).
      const moved = byAddress.get(`${f[backend]} ${f[addr]}:${f[port]}`);
      if (!moved || moved.name === f[name]) continue;
      f[name] = moved.name;
      f[admin] = '0';
      if (moved.conf.id !== undefined && srvId >= 0) f[srvId] = String(moved.conf.id);
      conf = moved.conf;
    }
    if (checkPort >= 0 && Number(f[checkPort]) !== conf.checkPort) continue;
    if (uweight >= 0) f[uweight] = String(conf.weight);
    if (iweight >= 0) f[iweight] = String(conf.weight);
    kept.push(f.join(' '));
  }
  return [lines[0], lines[header], ...kept].join('\n') + '\n';
}
