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
      out.set(`${proxy}/${words[1]}`, { addr, port, ...settingsOf(words.slice(3), current) });
    }
  }
  return out;
}

/**
 * The server-state file for the next worker, from a `show servers state` answer. Servers in
 * maintenance or drain are left out: the new config decides their state. With `next` (the
 * servers of the config that worker loads), so is every server that config does not have at
 * the address, port and check port the answer shows — a slot the runtime API pointed at
 * another task, whose saved port HAProxy would apply over the config's — and the weight
 * saved is the one the config gives, so only health and check state survive the reload.
 * Undefined when the answer is not a `show servers state` one.
 */
export function serverStateFile(answer: string, next?: ConfiguredServers): string | undefined {
  const lines = answer.split('\n');
  const header = lines.findIndex((l) => l.startsWith('# be_id'));
  if (!/^\d+\s*$/.test(lines[0] ?? '') || header < 0) return undefined;
  const cols = (lines[header] as string).replace(/^#\s*/, '').split(/\s+/);
  const col = (name: string) => cols.indexOf(name);
  const [admin, backend, name, addr, port, checkPort, uweight, iweight] = [
    'srv_admin_state', 'be_name', 'srv_name', 'srv_addr', 'srv_port', 'srv_check_port', 'srv_uweight', 'srv_iweight',
  ].map(col) as [number, number, number, number, number, number, number, number];
  const kept: string[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    if (Number(f[admin] ?? 0) !== 0) continue;
    if (!next) {
      kept.push(line);
      continue;
    }
    const conf = next.get(`${f[backend]}/${f[name]}`);
    if (!conf || Number(f[port]) !== conf.port || (isIpLiteral(conf.addr) && f[addr] !== conf.addr)) continue;
    if (checkPort >= 0 && Number(f[checkPort]) !== conf.checkPort) continue;
    if (uweight >= 0) f[uweight] = String(conf.weight);
    if (iweight >= 0) f[iweight] = String(conf.weight);
    kept.push(f.join(' '));
  }
  return [lines[0], lines[header], ...kept].join('\n') + '\n';
}
