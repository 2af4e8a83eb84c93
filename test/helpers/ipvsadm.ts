/**
 * An independent reading of ipvsadm(8)'s command grammar (the lines `ipvsadm -R` reads) and a
 * model of the kernel's IPVS table, to check every rules file mlb-ts writes without a kernel.
 */

export type Op = '-A' | '-E' | '-D' | '-C' | '-a' | '-e' | '-d';
export type Method = 'g' | 'i' | 'm';

export interface ServiceId {
  /** `tcp 11.0.0.1:80`, `udp …`, `sctp …` or `fwmark 7` */
  key: string;
  port?: number;
}

export interface Command {
  op: Op;
  service?: ServiceId;
  scheduler?: string;
  persistent?: number;
  netmask?: string;
  real?: { addr: string; port?: number };
  method?: Method;
  weight?: number;
  upper?: number;
  lower?: number;
}

export class GrammarError extends Error {}

const OPS: Record<string, Op> = {
  '-A': '-A', '--add-service': '-A', '-E': '-E', '--edit-service': '-E', '-D': '-D', '--delete-service': '-D', '-C': '-C', '--clear': '-C',
  '-a': '-a', '--add-server': '-a', '-e': '-e', '--edit-server': '-e', '-d': '-d', '--delete-server': '-d',
};
const SERVICE_FLAGS: Record<string, 'tcp' | 'udp' | 'sctp' | 'fwmark'> = {
  '-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp', '--sctp-service': 'sctp', '-f': 'fwmark', '--fwmark-service': 'fwmark',
};
const METHODS: Record<string, Method> = { '-g': 'g', '--gatewaying': 'g', '-i': 'i', '--ipip': 'i', '-m': 'm', '--masquerading': 'm' };
const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh']);

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

function integer(tok: string | undefined, what: string, min: number, max: number): number {
  if (tok === undefined || !/^\d+$/.test(tok)) throw new GrammarError(`${what}: '${tok ?? ''}' is not an integer`);
  const n = Number(tok);
  if (n < min || n > max) throw new GrammarError(`${what}: ${n} is outside ${min}..${max}`);
  return n;
}

/** `a.b.c.d[:port]` or `[v6][:port]`, numeric only (the -n form). */
function address(tok: string | undefined, what: string): { addr: string; port?: number } {
  if (tok === undefined) throw new GrammarError(`${what}: missing address`);
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(tok);
  if (v6) return { addr: `[${v6[1]}]`, ...(v6[2] !== undefined ? { port: integer(v6[2], `${what} port`, 0, 65535) } : {}) };
  const [ip, port, extra] = tok.split(':');
  if (extra !== undefined || ip === undefined || !IPV4.test(ip)) throw new GrammarError(`${what}: '${tok}' is not ADDR[:PORT]`);
  return { addr: ip, ...(port !== undefined ? { port: integer(port, `${what} port`, 0, 65535) } : {}) };
}

/** One line of `ipvsadm -R` input → a command; GrammarError for anything ipvsadm would refuse. */
export function parseLine(line: string): Command {
  const toks = line.trim().split(/\s+/);
  if (toks[0] === 'ipvsadm') toks.shift();
  const op = OPS[toks[0] ?? ''];
  if (!op) throw new GrammarError(`'${toks[0] ?? ''}' is not a command`);
  const cmd: Command = { op };
  const seen = new Set<string>();
  const once = (name: string) => {
    if (seen.has(name)) throw new GrammarError(`${name} given twice`);
    seen.add(name);
  };
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i] as string;
    const next = () => toks[++i];
    if (SERVICE_FLAGS[t]) {
      once('service');
      const proto = SERVICE_FLAGS[t];
      if (proto === 'fwmark') cmd.service = { key: `fwmark ${integer(next(), 'fwmark', 1, 0xffffffff)}` };
      else {
        const a = address(next(), 'service');
        cmd.service = { key: `${proto} ${a.addr}:${a.port ?? 0}`, port: a.port ?? 0 };
      }
    } else if (t === '-s' || t === '--scheduler') {
      once('scheduler');
      const s = next();
      if (!s || !SCHEDULERS.has(s)) throw new GrammarError(`'${s ?? ''}' is not a scheduler`);
      cmd.scheduler = s;
    } else if (t === '-p' || t === '--persistent') {
      once('persistent');
      const v = toks[i + 1];
      cmd.persistent = v !== undefined && /^\d+$/.test(v) ? integer(next(), 'persistent', 1, 2 ** 31 - 1) : 300;
    } else if (t === '-M' || t === '--netmask') {
      once('netmask');
      const m = next();
      if (!m || !(IPV4.test(m) || /^\d+$/.test(m))) throw new GrammarError(`'${m ?? ''}' is not a netmask`);
      cmd.netmask = m;
    } else if (t === '-r' || t === '--real-server') {
      once('real');
      cmd.real = address(next(), 'real server');
    } else if (METHODS[t]) {
      once('method');
      cmd.method = METHODS[t];
    } else if (t === '-w' || t === '--weight') {
      once('weight');
      cmd.weight = integer(next(), 'weight', 0, 2147483647);
    } else if (t === '-x' || t === '--u-threshold') {
      once('upper');
      cmd.upper = integer(next(), 'upper threshold', 0, 65535);
    } else if (t === '-y' || t === '--l-threshold') {
      once('lower');
      cmd.lower = integer(next(), 'lower threshold', 0, 65535);
    } else {
      throw new GrammarError(`unknown option '${t}'`);
    }
  }
  checkCombination(cmd);
  return cmd;
}

function checkCombination(cmd: Command): void {
  const serviceOpts = cmd.scheduler !== undefined || cmd.persistent !== undefined || cmd.netmask !== undefined;
  const realOpts = cmd.method !== undefined || cmd.weight !== undefined || cmd.upper !== undefined || cmd.lower !== undefined;
  if (cmd.op === '-C') {
    if (cmd.service || serviceOpts || cmd.real || realOpts) throw new GrammarError('-C takes no options');
    return;
  }
  if (!cmd.service) throw new GrammarError(`${cmd.op} needs a virtual service (-t/-u/--sctp-service/-f)`);
  const upper = cmd.op === '-A' || cmd.op === '-E' || cmd.op === '-D';
  if (upper) {
    if (cmd.real || realOpts) throw new GrammarError(`${cmd.op} takes no real-server options`);
    if (cmd.op === '-D' && serviceOpts) throw new GrammarError('-D takes only the virtual service');
    if (cmd.service.port === 0 && cmd.persistent === undefined && cmd.op !== '-D') throw new GrammarError('port 0 is only valid for a persistent service');
    return;
  }
  if (serviceOpts) throw new GrammarError(`${cmd.op} takes no scheduling options`);
  if (!cmd.real) throw new GrammarError(`${cmd.op} needs -r`);
  if (cmd.op === '-d' && realOpts) throw new GrammarError('-d takes only the service and -r');
  const method = cmd.method ?? 'g';
  const rport = cmd.real.port ?? cmd.service.port;
  if (cmd.op !== '-d' && method !== 'm' && cmd.service.port !== undefined && rport !== cmd.service.port) {
    throw new GrammarError('direct routing and tunnelling need the real server port to equal the service port');
  }
}

/** Every non-empty line; ipvsadm-restore drops lines starting with '#'. Throws naming the line. */
export function parseRules(text: string): Command[] {
  if (text !== '' && !text.endsWith('\n')) throw new GrammarError('the last line has no newline');
  const out: Command[] = [];
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    try {
      out.push(parseLine(line));
    } catch (e) {
      throw new GrammarError(`line ${n + 1} '${line}': ${(e as Error).message}`);
    }
  });
  return out;
}

/* ---------- the table ---------- */

interface Real {
  method: Method;
  weight: number;
}

interface Service {
  scheduler: string;
  persistent?: number;
  reals: Map<string, Real>;
}

export class TableError extends Error {}

/** The kernel's table as ipvsadm changes it: errors where the kernel refuses (exists / missing). */
export class IpvsTable {
  private readonly services = new Map<string, Service>();

  apply(cmd: Command): void {
    const key = cmd.service?.key ?? '';
    const svc = this.services.get(key);
    const realKey = cmd.real ? `${cmd.real.addr}:${cmd.real.port ?? cmd.service?.port ?? 0}` : '';
    switch (cmd.op) {
      case '-C':
        this.services.clear();
        return;
      case '-A':
        if (svc) throw new TableError(`service ${key} already exists`);
        this.services.set(key, { scheduler: cmd.scheduler ?? 'wlc', ...(cmd.persistent !== undefined ? { persistent: cmd.persistent } : {}), reals: new Map() });
        return;
      case '-E':
        if (!svc) throw new TableError(`no service ${key}`);
        svc.scheduler = cmd.scheduler ?? 'wlc';
        return;
      case '-D':
        if (!svc) throw new TableError(`no service ${key}`);
        this.services.delete(key);
        return;
      case '-a':
        if (!svc) throw new TableError(`no service ${key}`);
        if (svc.reals.has(realKey)) throw new TableError(`real server ${realKey} of ${key} already exists`);
        svc.reals.set(realKey, { method: cmd.method ?? 'g', weight: cmd.weight ?? 1 });
        return;
      case '-e':
        if (!svc?.reals.has(realKey)) throw new TableError(`no real server ${realKey} in ${key}`);
        // Unspecified options take their defaults on -e as on -a.
        svc.reals.set(realKey, { method: cmd.method ?? 'g', weight: cmd.weight ?? 1 });
        return;
      case '-d':
        if (!svc?.reals.delete(realKey)) throw new TableError(`no real server ${realKey} in ${key}`);
        return;
    }
  }

  applyAll(cmds: Command[]): this {
    for (const c of cmds) this.apply(c);
    return this;
  }

  /** Canonical, sorted: one line per service and per real server. */
  dump(): string[] {
    const out: string[] = [];
    for (const [key, s] of this.services) {
      out.push(`S ${key} ${s.scheduler}${s.persistent !== undefined ? ` p${s.persistent}` : ''}`);
      for (const [r, real] of s.reals) out.push(`R ${key} ${r} ${real.method} ${real.weight}`);
    }
    return out.sort();
  }

  get size(): number {
    return this.services.size;
  }
}

export function tableOf(text: string): IpvsTable {
  return new IpvsTable().applyAll(parseRules(text));
}
