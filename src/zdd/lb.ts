import { MlbError } from '../errors.js';
import { socketCommand } from '../haproxy/socket.js';
import { httpCall } from '../marathon/http.js';

/** A load balancer zdd watches: its admin socket (`show stat`) or its stats page as CSV. */
export type LbSource = { kind: 'socket'; path: string } | { kind: 'url'; url: string };

/** One server row of HAProxy's stats. */
export interface StatRow {
  proxy: string;
  server: string;
  /** Current sessions. */
  scur: number;
  /** `ip:port` the server points at (HAProxy ≥ 1.9). */
  addr?: string;
  status: string;
}

export function lbName(lb: LbSource): string {
  return lb.kind === 'socket' ? lb.path : lb.url;
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

/** Sessions on the servers that point at any of `addrs`, and which servers those are (`backend/server`). */
export function sessionsOn(rows: readonly StatRow[], addrs: ReadonlySet<string>): { sessions: number; servers: string[] } {
  const hits = rows.filter((r) => r.addr !== undefined && addrs.has(r.addr));
  return { sessions: hits.reduce((n, r) => n + r.scur, 0), servers: hits.map((r) => `${r.proxy}/${r.server}`) };
}

/** The load balancer's server rows now. */
export async function readStats(lb: LbSource, timeoutMs = 5000): Promise<StatRow[]> {
  if (lb.kind === 'socket') return parseStatsCsv(await socketCommand(lb.path, 'show stat', timeoutMs), lb.path);
  let res;
  try {
    res = await httpCall(lb.url, { timeoutMs, headers: { Accept: 'text/csv, text/plain, */*' } });
  } catch (e) {
    throw new MlbError('E_RUNTIME', `${lb.url}: no answer`, { cause: e });
  }
  if (res.status !== 200) throw new MlbError('E_RUNTIME', `${lb.url} answered HTTP ${res.status}`);
  return parseStatsCsv(res.body.toString('utf8'), lb.url);
}

/** Servers (`backend/server`) HAProxy still sends new sessions to: not in maintenance, not draining. */
export function drainable(rows: readonly StatRow[], addrs: ReadonlySet<string>): string[] {
  return rows.filter((r) => r.addr !== undefined && addrs.has(r.addr) && !/^(MAINT|DRAIN)/.test(r.status)).map((r) => `${r.proxy}/${r.server}`);
}

/** `set server <backend/server> state <state>` on an admin socket; E_RUNTIME if HAProxy refuses. */
export async function setServerState(socket: string, server: string, state: 'drain' | 'ready'): Promise<void> {
  const answer = (await socketCommand(socket, `set server ${server} state ${state}`)).trim();
  if (answer !== '') throw new MlbError('E_RUNTIME', `${socket}: set server ${server} state ${state}: ${answer}`);
}
