import type { ClientRequest, IncomingMessage } from 'node:http';

export interface HttpAuth {
  /** `user:password` for Basic auth. */
  basic?: string;
  /** DC/OS token: `Authorization: token=<jwt>`. */
  token?: string;
}

export interface HttpOptions {
  auth?: HttpAuth;
  ca?: string | Buffer;
  /** Longest silence (no byte) before giving up; 30 s. */
  timeoutMs?: number;
  /** Longest the whole answer may take, body included, however it trickles; 4 × timeoutMs. */
  deadlineMs?: number;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  maxRedirects?: number;
  /** Aborts the request (the daemon's stop: a Marathon that never answers must not hold it up). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: Buffer;
  headers: IncomingMessage['headers'];
}

export function authHeaders(auth: HttpAuth | undefined): Record<string, string> {
  if (auth?.token) return { Authorization: `token=${auth.token}` };
  if (auth?.basic) return { Authorization: `Basic ${Buffer.from(auth.basic).toString('base64')}` };
  return {};
}

/** `url` as logs and messages show it: without the user:password a --marathon URL may carry. */
export function displayUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^/?#\\]*@/i, '$1');
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray `%`: taken as written
  }
}

/**
 * `url` without its user:password, and the auth to send: the explicit one (a credential
 * file) wins, else the URL's user:password as Basic auth, percent-decoded. Sent as auth
 * rather than in the URL, the credentials survive Marathon's redirect to its leader.
 */
export function requestTarget(url: URL, auth: HttpAuth | undefined): { url: URL; auth: HttpAuth | undefined } {
  if (!url.username && !url.password) return { url, auth };
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  return { url: bare, auth: auth?.basic ? auth : { ...auth, basic: `${decoded(url.username)}:${decoded(url.password)}` } };
}

/** A kept-alive connection the server closed as the request went out on it (the agent reuses idle sockets). */
function isStaleSocket(req: ClientRequest, e: unknown): boolean {
  return req.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET';
}

/**
 * One HTTP request with auth, CA, timeout and redirects (Marathon redirects to its leader). A GET
 * that meets a kept-alive connection the server had just closed is sent again, once, on a new one.
 */
export async function httpCall(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  return oneCall(url, opts, (opts.method ?? 'GET') === 'GET');
}

async function oneCall(url: string, opts: HttpOptions, retryStale: boolean): Promise<HttpResponse> {
  const { url: u, auth } = requestTarget(new URL(url), opts.auth);
  // Loaded on first use: rendering from a file never needs them, and loading them takes ~10 ms of every start.
  const { request } = u.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolveCall, rejectCall) => {
    // A server that sends a byte now and then never trips the silence timeout: a deadline for the whole answer.
    const deadlineMs = opts.deadlineMs ?? 4 * (opts.timeoutMs ?? 30_000);
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${deadlineMs} ms`)), deadlineMs);
    deadline.unref();
    const resolve = (r: HttpResponse) => {
      clearTimeout(deadline);
      resolveCall(r);
    };
    const reject = (e: unknown) => {
      clearTimeout(deadline);
      rejectCall(e);
    };
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(auth), ...opts.headers };
    if (body) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    const req = request(
      u,
      { method: opts.method ?? 'GET', headers, ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.signal ? { signal: opts.signal } : {}), timeout: opts.timeoutMs ?? 30_000 },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && (opts.maxRedirects ?? 5) > 0) {
          res.resume();
          httpCall(new URL(location, u).toString(), { ...opts, auth, maxRedirects: (opts.maxRedirects ?? 5) - 1 }).then(resolve, reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', (e) => {
      if (retryStale && isStaleSocket(req, e)) oneCall(url, opts, false).then(resolve, reject);
      else reject(e);
    });
    req.end(body);
  });
}
