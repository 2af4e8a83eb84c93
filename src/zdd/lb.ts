import { MlbError } from '../errors.js';
import { showProc } from '../haproxy/master.js';
import { sendCommands } from '../haproxy/runtime.js';
import { socketCommand } from '../haproxy/socket.js';
import { displayUrl, httpCall } from '../marathon/http.js';

/**
 * A load balancer zdd watches: its admin socket (`show stat` of the current worker), its
 * master CLI (every worker, the old ones still finishing their connections included), or
 * its stats page as CSV.
 */
export type LbSource = { kind: 'socket'; path: string } | { kind: 'master'; path: string } | { kind: 'url'; url: string };

/** One server row of HAProxy's stats. */
export interface StatRow {
  proxy: string;
  server: string;
  /** Current sessions. */
  scur: number;
  /** `ip:port` the server points at (HAProxy ≥ 1.9). */
  addr?: string;
  status: string;
  /** The worker's pid, when read through the master CLI. */
  worker?: number;
  /** Read from an old worker (a previous config's, finishing its connections). */
  old?: boolean;
}

export function lbName(lb: LbSource): string {
  return lb.kind === 'url' ? displayUrl(lb.url) : lb.path;
}

/** One CSV line; HAProxy quotes fields that hold a comma or a quote. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** The server rows of HAProxy's stats CSV (`show stat`, or the stats page with `;csv`); E_RUNTIME if it isn't one. */
export function parseStatsCsv(text: string, source: string): StatRow[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new MlbError('E_RUNTIME', `${source}: not HAProxy stats CSV (no '# pxname,svname,…' header): ${text.slice(0, 80)}`);
  const names = csvFields(header.slice(2));
  const col = (name: string) => names.indexOf(name);
  const [px, sv, scur, addr, status] = [col('pxname'), col('svname'), col('scur'), col('addr'), col('status')];
  if (px < 0 || sv < 0 || scur < 0) throw new MlbError('E_RUNTIME', `${source}: stats CSV without pxname, svname or scur`);
  const rows: StatRow[] = [];
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    const f = csvFields(line);
    const server = f[sv] ?? '';
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    const a = addr >= 0 ? f[addr] : undefined;
    rows.push({ proxy: f[px] ?? '', server, scur: Number(f[scur] ?? 0) || 0, ...(a ? { addr: a } : {}), status: status >= 0 ? (f[status] ?? '') : '' });
  }
  return rows;
}

/** Whether a stats row is one of a task's servers: by its address (`ip:port`), or by its name where the stats show no address. */
function isTaskRow(r: StatRow, keys: ReadonlySet<string>): boolean {
  return r.addr !== undefined ? keys.has(r.addr) : keys.has(r.server);
}

/** Sessions on the servers that are any of `addrs` (see taskAddresses), and which servers those are (`backend/server`). */
export function sessionsOn(rows: readonly StatRow[], addrs: ReadonlySet<string>): { sessions: number; servers: string[] } {
  const hits = rows.filter((r) => isTaskRow(r, addrs));
  return { sessions: hits.reduce((n, r) => n + r.scur, 0), servers: hits.map((r) => `${r.proxy}/${r.server}`) };
}

/** The load balancer's server rows now (through a master CLI: every worker's, each tagged with its pid). */
export async function readStats(lb: LbSource, timeoutMs = 5000): Promise<StatRow[]> {
  if (lb.kind === 'socket') return parseStatsCsv(await socketCommand(lb.path, 'show stat', timeoutMs), lb.path);
  if (lb.kind === 'master') {
    const proc = await showProc(lb.path);
    const rows: StatRow[] = [];
    const workers = [...proc.workers.map((w) => ({ pid: w.pid, old: false })), ...proc.oldWorkers.map((w) => ({ pid: w.pid, old: true }))];
    // Asked side by side (this runs on every drain poll); an old worker may finish (and go)
    // between `show proc` and this: its sessions are gone.
    const texts = await Promise.all(workers.map((w) => sendCommands({ masterSocket: lb.path, worker: w.pid }, ['show stat'], timeoutMs).catch(() => '')));
    workers.forEach((w, i) => {
      const text = texts[i] as string;
      if (!text.includes('# pxname')) return;
      for (const r of parseStatsCsv(text, `${lb.path} (worker ${w.pid})`)) rows.push({ ...r, worker: w.pid, ...(w.old ? { old: true } : {}) });
    });
    return rows;
  }
  let res;
  try {
    res = await httpCall(lb.url, { timeoutMs, headers: { Accept: 'text/csv, text/plain, */*' } });
  } catch (e) {
    throw new MlbError('E_RUNTIME', `${lbName(lb)}: no answer`, { cause: e });
  }
  if (res.status !== 200) throw new MlbError('E_RUNTIME', `${lbName(lb)} answered HTTP ${res.status}`);
  return parseStatsCsv(res.body.toString('utf8'), lbName(lb));
}

/** A server of one worker: `backend/server`, and the worker's pid when read through a master CLI. */
export interface ServerRef {
  server: string;
  worker?: number;
}

/**
 * Servers HAProxy still sends new sessions to: not in maintenance, not draining, and not in
 * an old worker (it takes no new connections, and refuses `set server` on its stopped proxies).
 */
export function drainable(rows: readonly StatRow[], addrs: ReadonlySet<string>): ServerRef[] {
  return rows
    .filter((r) => isTaskRow(r, addrs) && !r.old && !/^(MAINT|DRAIN)/.test(r.status))
    .map((r) => ({ server: `${r.proxy}/${r.server}`, ...(r.worker !== undefined ? { worker: r.worker } : {}) }));
}

/**
 * `set server <backend/server> state <state>` on an admin socket, or through a master CLI on
 * the worker given; E_RUNTIME if HAProxy refuses.
 */
export async function setServerState(lb: { kind: 'socket' | 'master'; path: string }, ref: ServerRef, state: 'drain' | 'ready'): Promise<void> {
  const command = `set server ${ref.server} state ${state}`;
  const route = lb.kind === 'master' ? { masterSocket: lb.path, ...(ref.worker !== undefined ? { worker: ref.worker } : {}) } : lb.path;
  // It answers nothing when done: any answer is a refusal (runCommands' patterns miss some, e.g. "Proxy is disabled.").
  const answer = (await sendCommands(route, [command])).trim();
  if (answer !== '') throw new MlbError('E_RUNTIME', `${lb.path}: ${command}${ref.worker !== undefined ? ` (worker ${ref.worker})` : ''}: ${answer}`);
}
