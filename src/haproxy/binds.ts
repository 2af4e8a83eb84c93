import { createServer, isIP } from 'node:net';
import { SECTION } from './server-state.js';

/** One TCP address a `bind` line of a config listens on. */
export interface TcpBind {
  /** The frontend/listen section holding the line. */
  section: string;
  /** IP address; the wildcard as 0.0.0.0 (or :: for IPv6). */
  host: string;
  port: number;
  /** As written in the config. */
  addr: string;
}

/**
 * The TCP addresses the `bind` lines of a config listen on, section by section: IPv4, IPv6
 * and wildcard addresses with one port. Unix sockets, port ranges, host names and environment
 * variables are left out (nothing to check them against).
 */
export function tcpBinds(config: string): TcpBind[] {
  const out: TcpBind[] = [];
  let section: string | undefined;
  for (const line of config.split('\n')) {
    const head = SECTION.exec(line);
    if (head) {
      section = head[1] === 'frontend' || head[1] === 'listen' ? head[2] : undefined;
      continue;
    }
    const bind = /^\s+bind\s+(\S+)/.exec(line);
    if (!bind || !section) continue;
    for (const addr of (bind[1] ?? '').split(',')) {
      const m = /^(?:(ipv4|ipv6|tcp|tcp4|tcp6)@)?(.*):(\d+)$/.exec(addr);
      if (!m) continue;
      const v6 = m[1] === 'ipv6' || m[1] === 'tcp6';
      const raw = (m[2] ?? '').replace(/^\[(.*)\]$/, '$1');
      const host = raw === '' || raw === '*' ? (v6 ? '::' : '0.0.0.0') : raw;
      if (isIP(host) === 0) continue;
      out.push({ section, host, port: Number(m[3]), addr });
    }
  }
  return out;
}

/** Tries to listen on host:port; the error when it can't (undefined when it can). */
export function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * The binds of `config` on a port no bind of `running` (the config the running HAProxy loaded)
 * uses that another process already listens on: HAProxy could not bind them either, and a reload
 * would fail. Each with why, by section.
 */
export async function takenBinds(config: string, running: string): Promise<Map<string, string>> {
  const held = new Set(tcpBinds(running).map((b) => b.port));
  const taken = new Map<string, string>();
  const seen = new Set<string>();
  for (const b of tcpBinds(config)) {
    const key = `${b.host}|${b.port}`;
    if (held.has(b.port) || b.port === 0 || seen.has(key)) continue;
    seen.add(key);
    const e = await tryListen(b.host, b.port);
    if (e?.code === 'EADDRINUSE' && !taken.has(b.section)) taken.set(b.section, `cannot bind ${b.addr} (frontend ${b.section}): another process listens on it (EADDRINUSE)`);
  }
  return taken;
}
