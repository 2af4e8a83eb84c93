import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';

/** How a backend answers one request target: its status and headers added to the usual ones. */
export interface PathReply {
  status?: number;
  headers?: OutgoingHttpHeaders;
}

export interface BackendOptions {
  /** Identifies the backend in every answer. */
  name: string;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Status of every answer (default 200). */
  status?: number;
  /**
   * Per request target (path and query, exactly as received): the status and extra headers of
   * the answer to it (e.g. a redirect's Location); the body is the usual JSON reply.
   */
  replies?: Record<string, PathReply>;
}

/** What a backend answers: which backend served, and the request as it arrived. */
export interface BackendReply {
  name: string;
  port: number;
  /** The request target as received (path and query). */
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
}

export interface Backend {
  name: string;
  host: string;
  port: number;
  /** Requests answered so far, every path included. */
  readonly count: number;
  /** Every request seen, oldest first. */
  readonly requests: readonly BackendReply[];
  /** Forget the requests seen so far. */
  reset(): void;
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('backend has no TCP address'));
      else resolve(addr.port);
    });
  });
}

function reply(res: ServerResponse, status: number, body: BackendReply, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-backend': body.name });
  res.end(text);
}

/** A real HTTP server on loopback that answers every request with JSON naming itself. */
export async function startBackend(opts: BackendOptions): Promise<Backend> {
  const host = opts.host ?? '127.0.0.1';
  const requests: BackendReply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let port = 0;
  const server = createServer((req, res) => {
    const seen: BackendReply = { name: opts.name, port, path: req.url ?? '', method: req.method ?? '', headers: req.headers };
    requests.push(seen);
    req.resume();
    const special = opts.replies && Object.hasOwn(opts.replies, seen.path) ? opts.replies[seen.path] : undefined;
    const status = special?.status ?? opts.status ?? 200;
    if (!opts.delayMs) return reply(res, status, seen, special?.headers);
    const timer = setTimeout(() => {
      timers.delete(timer);
      reply(res, status, seen, special?.headers);
    }, opts.delayMs);
    timers.add(timer);
  });
  server.keepAliveTimeout = 1000;
  port = await listen(server, host, opts.port ?? 0);
  return {
    name: opts.name,
    host,
    port,
    get count() {
      return requests.length;
    },
    get requests() {
      return requests;
    },
    reset() {
      requests.length = 0;
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Stops every backend, even if some fail. */
export async function stopAll(backends: Iterable<Backend>): Promise<void> {
  await Promise.allSettled([...backends].map((b) => b.stop()));
}
