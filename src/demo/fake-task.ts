import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './fake-http.js';

/** An address to bind; port 0 = any free one. */
export interface Bind {
  ip: string;
  port: number;
}

export interface TaskIdentity {
  taskId: string;
  appId: string;
}

/** Read on every request, so changes apply at once. */
export interface TaskBehaviour {
  healthy(): boolean;
  responseDelayMs(): number;
  healthPaths: ReadonlySet<string>;
}

export interface TaskListener {
  /** The addresses actually bound, in the order asked. */
  readonly bound: Bind[];
  close(): Promise<void>;
}

/** What a task answers: who it is and what reached it, so tests see how HAProxy forwarded. */
export interface TaskEcho {
  taskId: string;
  appId: string;
  ip: string;
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
}

function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && (name === 'host' || name.startsWith('x-forwarded-') || name === 'x-real-ip' || name === 'forwarded')) {
      out[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return out;
}

function echoOf(req: IncomingMessage, id: TaskIdentity): TaskEcho {
  const local = req.socket.address() as AddressInfo;
  return { ...id, ip: local.address, port: local.port, method: req.method ?? 'GET', path: req.url ?? '/', headers: forwardedHeaders(req) };
}

function answer(req: IncomingMessage, res: ServerResponse, status: number, body: object, taskId: string): void {
  if (res.destroyed || res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'X-Task-Id': taskId });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function listen(server: Server, bind: Bind): Promise<Bind> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(bind.port, bind.ip, () => {
      server.off('error', onError);
      resolve({ ip: bind.ip, port: (server.address() as AddressInfo).port });
    });
  });
}

/**
 * A task's process: an HTTP server on each address that answers every request with 200 and
 * a JSON echo (after the app's response delay), and its health paths with 200 or 503.
 */
export async function listenTask(binds: Bind[], id: TaskIdentity, behaviour: TaskBehaviour): Promise<TaskListener> {
  const delays = new Set<NodeJS.Timeout>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://task').pathname;
    if (behaviour.healthPaths.has(path)) {
      const healthy = behaviour.healthy();
      answer(req, res, healthy ? 200 : 503, { ...echoOf(req, id), healthy }, id.taskId);
      return;
    }
    const delay = behaviour.responseDelayMs();
    if (delay <= 0) return answer(req, res, 200, echoOf(req, id), id.taskId);
    const echo = echoOf(req, id);
    const timer = setTimeout(() => {
      delays.delete(timer);
      answer(req, res, 200, echo, id.taskId);
    }, delay);
    delays.add(timer);
  };
  const servers: Server[] = [];
  const bound: Bind[] = [];
  const closeAll = async () => {
    for (const t of delays) clearTimeout(t);
    delays.clear();
    await Promise.all(servers.map(closeServer));
  };
  try {
    for (const b of binds) {
      const server = createServer(handler);
      servers.push(server);
      bound.push(await listen(server, b));
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return { bound, close: closeAll };
}
