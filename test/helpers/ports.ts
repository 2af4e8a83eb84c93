import { createServer, type Server } from 'node:net';

/**
 * Ports handed to tests come from below Linux's ephemeral range (32768–60999 by default), where
 * the kernel picks the local ports of outgoing connections and of `listen(0)`: a load run's tens
 * of thousands of connections could otherwise take a port a test chose earlier and binds later.
 * Above 20000: clear of the service ports fixtures and flags use (10000–10100, 9090…).
 */
const TEST_PORTS = { min: 20000, max: 32767 };

async function listenOnAnyPort(host: string): Promise<Server> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORTS.min + Math.floor(Math.random() * (TEST_PORTS.max - TEST_PORTS.min + 1));
    const server = await listenOn(host, port);
    if (server) return server;
  }
  throw new Error(`no free port on ${host} in ${TEST_PORTS.min}–${TEST_PORTS.max} after 200 tries`);
}

function portOf(server: Server): number {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server has no TCP address');
  return addr.port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A port that was free on `host` a moment ago: the kernel picks it (listen on port 0), then
 * it is released. Another process may still take it before the caller binds it.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = await listenOnAnyPort(host);
  const port = portOf(server);
  await close(server);
  return port;
}

/** `n` distinct free ports: all are held open together, so none is handed out twice. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listenOnAnyPort(host));
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

function listenOn(host: string, port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/** `n` consecutive ports (a range to hand to a flag) that were all free on `host` a moment ago. */
export async function freeAdjacentPorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await listenOnAnyPort(host);
    const base = portOf(first);
    const rest: Server[] = [];
    try {
      for (let i = 1; i < n && base + i <= 65535; i++) {
        const s = await listenOn(host, base + i);
        if (!s) break;
        rest.push(s);
      }
      if (rest.length === n - 1) return Array.from({ length: n }, (_, i) => base + i);
    } finally {
      await Promise.all([first, ...rest].map(close));
    }
  }
  throw new Error(`no ${n} consecutive free ports on ${host}`);
}
