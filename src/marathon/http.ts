import type { IncomingMessage } from 'node:http';

export interface HttpAuth {
  /** `user:password` for Basic auth. */
  basic?: string;
  /** DC/OS token: `Authorization: token=<jwt>`. */
  token?: string;
}

export interface HttpOptions {
  auth?: HttpAuth;
  ca?: string | Buffer;
  timeoutMs?: number;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  maxRedirects?: number;
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

/** One HTTP request with auth, CA, timeout and redirects (Marathon redirects to its leader). */
export async function httpCall(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  // Loaded on first use: rendering from a file never needs them, and loading them takes ~10 ms of every start.
  const { request } = u.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(opts.auth), ...opts.headers };
    if (body) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    const req = request(
      u,
      { method: opts.method ?? 'GET', headers, ...(opts.ca ? { ca: opts.ca } : {}), timeout: opts.timeoutMs ?? 30_000 },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && (opts.maxRedirects ?? 5) > 0) {
          res.resume();
          httpCall(new URL(location, u).toString(), { ...opts, maxRedirects: (opts.maxRedirects ?? 5) - 1 }).then(resolve, reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
