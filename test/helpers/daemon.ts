import type { Task } from '../../src/marathon/types.js';
import type { AppInput } from '../../src/demo/fake-marathon.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from './http.js';
import { TEST_CERT } from './lb.js';
import { freePorts } from './ports.js';

/** The CLI as operators run it (built by `npx tsc -p tsconfig.build.json`). */
export const CLI = resolve('dist/cli/main.js');

/** One line the daemon logged (pino JSON); a line that is not JSON is kept as `{ msg, raw: true }`. */
export interface LogLine {
  level?: string;
  msg?: string;
  reason?: string;
  change?: string;
  [field: string]: unknown;
}

export interface DaemonPorts {
  http: number;
  https: number;
  appId: number;
  stats: number;
  /** mlb-ts's own endpoints (--listen). */
  api: number;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parsed /metrics: every sample, and sums over the samples whose labels include `labels`. */
export class MetricsSnapshot {
  constructor(
    readonly samples: Sample[],
    readonly text: string,
  ) {}

  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
  }

  /** Families named by `# TYPE` lines. */
  families(): string[] {
    return [...this.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
  }
}

export function parseMetrics(text: string): MetricsSnapshot {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return new MetricsSnapshot(samples, text);
}

export interface StartDaemonOptions {
  /** Don't pass `--sse` (one-shot mode). */
  noSse?: boolean;
  /** Extra environment for the daemon. */
  env?: Record<string, string>;
  /** Resolve once this many ms passed without the 'mlb-ts running' line (default 30 s). */
  startTimeoutMs?: number;
  /** Start without waiting for 'mlb-ts running' (the caller inspects logs/exit). */
  noWait?: boolean;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** HAProxy pids seen during the run that are still alive after the stop. */
  haproxyAlive: number[];
}

export interface RunningDaemon {
  readonly pid: number;
  readonly dir: string;
  readonly configPath: string;
  readonly adminSocket: string;
  readonly masterSocket: string;
  readonly ports: DaemonPorts;
  readonly logs: LogLine[];
  /** Everything written to stderr. */
  stderr(): string;
  /** Index of the next log line: pass it as `after` to wait for lines logged from now on. */
  mark(): number;
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs?: number, after?: number): Promise<LogLine>;
  logsMatching(predicate: (l: LogLine) => boolean, after?: number): LogLine[];
  get(path: string): Promise<{ status: number; body: string }>;
  metrics(): Promise<MetricsSnapshot>;
  /** /_haproxy_getpids: master first, then workers. */
  pids(): Promise<number[]>;
  /** /_haproxy_getconfig. */
  config(): Promise<string>;
  /** The haproxy.cfg on disk. */
  installed(): string;
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait for the exit (SIGKILL after `timeoutMs`), check its HAProxy is gone, remove the temp dir. */
  stop(opts?: { timeoutMs?: number; keepDir?: boolean; waitHaproxyMs?: number }): Promise<StopResult>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers signal 0: look at its state.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits until none of `pids` runs; returns those still running after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await sleep(50);
  }
}

/** Polls `check` every `everyMs` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

const PORT_TAKEN = /Address already in use|cannot bind socket/i;

/**
 * Runs the daemon as operators do — `node dist/cli/main.js --sse -m <url> --group external …`
 * — with its files in a temp dir, every port free, and `extraArgs` appended. Resolves once it
 * logged 'mlb-ts running' (its HAProxy serves). Retries with other ports if one got taken.
 */
export async function startDaemon(marathonUrl: string, extraArgs: string[] = [], opts: StartDaemonOptions = {}): Promise<RunningDaemon> {
  for (let attempt = 1; ; attempt++) {
    const d = await spawnDaemon(marathonUrl, extraArgs, opts);
    if (opts.noWait) return d;
    try {
      await Promise.race([
        d.waitForLog((l) => l.msg === 'mlb-ts running', opts.startTimeoutMs ?? 30_000),
        d.exited.then((e) => {
          throw new Error(`daemon exited at start (code ${e.code}, signal ${e.signal})`);
        }),
      ]);
      return d;
    } catch (e) {
      const output = `${d.logs.map((l) => JSON.stringify(l)).join('\n')}\n${d.stderr()}`;
      await d.stop();
      if (attempt < 3 && PORT_TAKEN.test(output)) continue;
      throw new Error(`${(e as Error).message}\n${output.slice(-4000)}`);
    }
  }
}

async function spawnDaemon(marathonUrl: string, extraArgs: string[], opts: StartDaemonOptions): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-daemon-'));
  const [http, https, appId, stats, api] = (await freePorts(5)) as [number, number, number, number, number];
  const ports: DaemonPorts = { http, https, appId, stats, api };
  const flag = (name: string, fallback: string) => {
    const i = extraArgs.indexOf(name);
    return i >= 0 && extraArgs[i + 1] !== undefined ? (extraArgs[i + 1] as string) : fallback;
  };
  const configPath = flag('--haproxy-config', join(dir, 'haproxy.cfg'));
  const adminSocket = flag('--haproxy-socket', join(dir, 'admin.sock'));
  const masterSocket = flag('--master-socket', join(dir, 'master.sock'));
  const defaults: [string, string][] = [
    ['--haproxy-config', configPath],
    ['--haproxy-socket', adminSocket],
    ['--master-socket', masterSocket],
    ['--listen', `127.0.0.1:${api}`],
    ['--http-port', String(http)],
    ['--https-port', String(https)],
    ['--appid-port', String(appId)],
    ['--stats-port', String(stats)],
    ['--ssl-certs', TEST_CERT],
  ];
  // A flag given in extraArgs replaces the default one.
  const args = [
    CLI,
    ...(opts.noSse ? [] : ['--sse']),
    '-m', marathonUrl,
    '--group', 'external',
    ...defaults.filter(([flag]) => !extraArgs.includes(flag)).flat(),
    ...extraArgs,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { msg: line, raw: true };
    }
    logs.push(parsed);
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-64 * 1024);
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const w of waiters) w();
      res(exitInfo);
    });
  });
  const seenPids = new Set<number>();

  const get = async (path: string) => {
    const r = await request({ port: api, path, timeoutMs: 5000 });
    return { status: r.status, body: r.body };
  };
  const pids = async () => {
    const r = await get('/_haproxy_getpids');
    if (r.status !== 200) throw new Error(`/_haproxy_getpids answered ${r.status}: ${r.body}`);
    const list = r.body.trim().split(/\s+/).filter(Boolean).map(Number);
    for (const p of list) seenPids.add(p);
    return list;
  };

  const daemon: RunningDaemon = {
    pid: child.pid ?? -1,
    dir,
    configPath,
    adminSocket,
    masterSocket,
    ports,
    logs,
    exited,
    stderr: () => stderr,
    mark: () => logs.length,
    logsMatching: (predicate, after = 0) => logs.slice(after).filter(predicate),
    waitForLog(predicate, timeoutMs = 10_000, after = 0) {
      return new Promise((res, rej) => {
        let from = after;
        const check = () => {
          for (; from < logs.length; from++) {
            const l = logs[from] as LogLine;
            if (predicate(l)) {
              done();
              res(l);
              return;
            }
          }
          if (exitInfo) {
            done();
            rej(new Error(`daemon exited (code ${exitInfo.code}) before the awaited log line`));
          }
        };
        const timer = setTimeout(() => {
          done();
          rej(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    get,
    metrics: async () => {
      const r = await get('/metrics');
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
      return parseMetrics(r.body);
    },
    pids,
    config: async () => (await get('/_haproxy_getconfig')).body,
    installed: () => readFileSync(configPath, 'utf8'),
    signal: (sig) => {
      if (!exitInfo) process.kill(child.pid as number, sig);
    },
    async stop({ timeoutMs = 20_000, keepDir = false, waitHaproxyMs = 5000 } = {}) {
      if (!exitInfo) {
        // The pids of the HAProxy it runs now, so the check below covers them.
        await pids().catch(() => undefined);
        child.kill('SIGTERM');
        const t = await Promise.race([exited, sleep(timeoutMs).then(() => undefined)]);
        if (!t) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      const info = exitInfo ?? (await exited);
      const haproxyAlive = await waitGone([...seenPids], waitHaproxyMs);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
      return { ...info, haproxyAlive };
    },
  };
  return daemon;
}

/** The `server` lines of a config: backend, server name, address and flags, spare slots left out. */
export interface ConfigServer {
  backend: string;
  name: string;
  addr: string;
  line: string;
}

export function configServers(config: string, withSpare = false): ConfigServer[] {
  const out: ConfigServer[] = [];
  let backend = '';
  for (const line of config.split('\n')) {
    const b = /^backend\s+(\S+)/.exec(line);
    if (b) backend = b[1] as string;
    else if (/^\S/.test(line)) backend = '';
    const s = /^\s+server\s+(\S+)\s+(\S+)/.exec(line);
    if (s && backend && (withSpare || !(s[1] as string).startsWith('mlb_spare_'))) out.push({ backend, name: s[1] as string, addr: s[2] as string, line: line.trim() });
  }
  return out;
}

/** An app as the daemon tests post it: one port bound on loopback as HAPROXY_0_PORT, group external. */
export function servedApp(id: string, port: number, labels: Record<string, string>, extra: Record<string, unknown> = {}): AppInput {
  return {
    id,
    instances: 1,
    labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', ...labels },
    portDefinitions: [{ port, protocol: 'tcp', name: 'http', labels: {} }],
    ...extra,
  } as AppInput;
}

/** A Marathon HTTP health check the fake answers on its tasks' /health. */
export const HEALTH_CHECK = { protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 1, gracePeriodSeconds: 5, maxConsecutiveFailures: 3 };

export const taskAddress = (t: Task) => `127.0.0.1:${t.ports?.[0]}`;
export const isRunning = (t: Task) => t.state === 'TASK_RUNNING';
export const isHealthy = (t: Task) => isRunning(t) && (t.healthCheckResults ?? []).length > 0 && (t.healthCheckResults ?? []).every((r) => r.alive === true);
export const isReloadDone = (l: LogLine) => l.msg === 'HAProxy reloaded';

/**
 * A --haproxy-bin for fault tests: a temp dir (`prefix`…) holding `haproxy-wrapper.sh`, a shell
 * script whose body is `body(dir)`; it should end by running HAProxy (`exec haproxy "$@"`).
 */
export function haproxyWrapper(prefix: string, body: (dir: string) => string): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, 'haproxy-wrapper.sh');
  writeFileSync(bin, `#!/bin/sh\n${body(dir)}`, { mode: 0o755 });
  return { dir, bin };
}
