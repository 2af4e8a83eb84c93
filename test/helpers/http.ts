import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { expect } from 'vitest';
import type { BackendReply } from './backends.js';

export interface RequestOptions {
  port: number;
  /** Where to connect (default 127.0.0.1). */
  host?: string;
  path?: string;
  method?: string;
  /** Sent as the Host header (default: host:port). */
  hostHeader?: string;
  headers?: OutgoingHttpHeaders;
  /** TLS; certificates are not verified (the test certificates are self-signed). */
  https?: boolean;
  /** TLS SNI server name. */
  servername?: string;
  auth?: { user: string; password: string };
  body?: string;
  /** Whole exchange, connect to last byte (default 5000 ms). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request on a fresh connection (no agent, no keep-alive); redirects are returned, not
 * followed. Rejects on a network error or when the timeout passes.
 */
export function request(opts: RequestOptions): Promise<HttpResponse> {
  const host = opts.host ?? '127.0.0.1';
  const headers: OutgoingHttpHeaders = { host: opts.hostHeader ?? `${host}:${opts.port}`, connection: 'close', ...opts.headers };
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}`;
  const common = { host, port: opts.port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, agent: false as const };
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = opts.https
      ? httpsRequest({ ...common, rejectUnauthorized: false, ...(opts.servername !== undefined ? { servername: opts.servername } : {}) })
      : httpRequest(common);
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer from ${host}:${opts.port}${common.path} within ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(opts.body);
  });
}

/** The body parsed as JSON (a backend's reply). */
export function jsonOf<T>(res: HttpResponse): T {
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${res.body.slice(0, 200)}`);
  }
}

/** Which backend (test/helpers/backends.ts) answered a request, or the status when none did (e.g. "503"). */
export async function servedBy(opts: RequestOptions): Promise<string> {
  const res = await request(opts);
  return res.status === 200 ? jsonOf<BackendReply>(res).name : String(res.status);
}

/** The backend's reply to a request that must have succeeded. */
export function replyOf(res: HttpResponse): BackendReply {
  expect(res.status, res.body).toBe(200);
  return jsonOf<BackendReply>(res);
}
