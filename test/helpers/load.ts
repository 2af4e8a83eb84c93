import { Agent, request as httpRequest } from 'node:http';

export interface LoadOptions {
  port: number;
  /** Where to connect (default 127.0.0.1). */
  host?: string;
  /** Host header (default host:port). */
  hostHeader?: string;
  path?: string;
  /** Concurrent clients, each sending one request after the other. */
  concurrency: number;
  /** Stop after this many requests in all… */
  maxRequests: number;
  /** …or after this long, whichever comes first. */
  maxSeconds: number;
  /**
   * Each client keeps one connection open (HTTP/1.1 keep-alive) instead of one connection per
   * request. A request whose reused connection the server closed before answering is retried
   * once on a new connection, as HTTP clients do for idempotent requests (RFC 9112 §9.3.1);
   * those are counted in `staleRetries`, and a failure of the retry is a failure.
   */
  keepAlive?: boolean;
  /** Per request, connect to last byte (default 10 s). */
  timeoutMs?: number;
  /** Pause between two requests of one client (default 0). */
  pauseMs?: number;
}

/** One request: when it started and ended (ms since the run started) and how it went. */
export interface Sample {
  start: number;
  end: number;
  status?: number;
  /** X-Task-Id of the answer: which task served it. */
  task?: string;
  error?: string;
}

export interface LoadResult {
  requests: number;
  /** Answers with a status below 500. */
  ok: number;
  /** Connection errors and timeouts, plus 5xx answers. */
  failed: number;
  statuses: Record<number, number>;
  errors: Record<string, number>;
  /** Answers by task (X-Task-Id). */
  byTask: Record<string, number>;
  staleRetries: number;
  durationMs: number;
  /** Wall clock (Date.now()) when the run started; sample times are relative to it. */
  startedAt: number;
  samples: Sample[];
  /** A few failures, for messages. */
  firstFailures: Sample[];
}

export interface RunningLoad {
  /** Stop early (clients finish their current request) and get the result. */
  stop(): Promise<LoadResult>;
  /** Resolves when the bounds are reached (or after stop()). */
  readonly done: Promise<LoadResult>;
  /** Requests completed so far. */
  completed(): number;
  /** Tasks that answered so far. */
  answeredBy(): Set<string>;
}

/** Summary for assertion messages. */
export function describeLoad(r: LoadResult): string {
  return `${r.requests} requests in ${r.durationMs} ms: ok ${r.ok}, failed ${r.failed}, statuses ${JSON.stringify(r.statuses)}, errors ${JSON.stringify(r.errors)}, stale retries ${r.staleRetries}, by task ${JSON.stringify(r.byTask)}; first failures ${JSON.stringify(r.firstFailures)}`;
}

interface Attempt {
  status?: number;
  task?: string;
  error?: string;
  /** The request went out on a kept-alive connection that closed before any answer. */
  stale?: boolean;
}

function once(opts: LoadOptions, agent: Agent | false, signal: { stopped: boolean }): Promise<Attempt> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = httpRequest({
      host,
      port: opts.port,
      path: opts.path ?? '/',
      method: 'GET',
      agent,
      headers: { host: opts.hostHeader ?? `${host}:${opts.port}`, ...(agent ? {} : { connection: 'close' }) },
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      const task = res.headers['x-task-id'];
      res.on('data', () => undefined);
      res.on('error', (e) => finish({ status: res.statusCode ?? 0, error: `body: ${e.message}` }));
      res.on('end', () => finish({ status: res.statusCode ?? 0, ...(typeof task === 'string' ? { task } : {}) }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const stale = agent !== false && req.reusedSocket && !signal.stopped && (e.code === 'ECONNRESET' || e.message === 'socket hang up');
      finish({ error: e.code ?? e.message, ...(stale ? { stale: true } : {}) });
    });
    req.end();
  });
}

/**
 * A bounded load: `concurrency` clients send GETs until `maxRequests` were sent in all or
 * `maxSeconds` passed, recording every status, error and answering task.
 */
export function startLoad(opts: LoadOptions): RunningLoad {
  const startedAt = Date.now();
  const t0 = performance.now();
  const deadline = t0 + opts.maxSeconds * 1000;
  const signal = { stopped: false };
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let sent = 0;
  let staleRetries = 0;
  const agents: Agent[] = [];

  const client = async () => {
    const agent = opts.keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    while (!signal.stopped && sent < opts.maxRequests && performance.now() < deadline) {
      sent++;
      const start = performance.now() - t0;
      let a = await once(opts, agent, signal);
      if (a.stale) {
        staleRetries++;
        a = await once(opts, agent, signal);
      }
      const sample: Sample = { start, end: performance.now() - t0, ...(a.status !== undefined ? { status: a.status } : {}), ...(a.task ? { task: a.task } : {}), ...(a.error ? { error: a.error } : {}) };
      samples.push(sample);
      if (sample.task) seen.add(sample.task);
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };

  const done = Promise.all(Array.from({ length: opts.concurrency }, client)).then((): LoadResult => {
    for (const a of agents) a.destroy();
    const statuses: Record<number, number> = {};
    const errors: Record<string, number> = {};
    const byTask: Record<string, number> = {};
    let ok = 0;
    const failures: Sample[] = [];
    for (const s of samples) {
      if (s.status !== undefined) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
      if (s.error) errors[s.error] = (errors[s.error] ?? 0) + 1;
      if (s.task) byTask[s.task] = (byTask[s.task] ?? 0) + 1;
      if (!s.error && s.status !== undefined && s.status < 500) ok++;
      else failures.push(s);
    }
    return {
      requests: samples.length,
      ok,
      failed: failures.length,
      statuses,
      errors,
      byTask,
      staleRetries,
      durationMs: Math.round(performance.now() - t0),
      startedAt,
      samples,
      firstFailures: failures.slice(0, 5),
    };
  });
  return {
    done,
    stop: () => {
      signal.stopped = true;
      return done;
    },
    completed: () => samples.length,
    answeredBy: () => new Set(seen),
  };
}
