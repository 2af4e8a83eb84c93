import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/install.js';
import { showProc } from '../../src/haproxy/master.js';
import { validateConfig, type Validation } from '../../src/haproxy/validate.js';

export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? 'haproxy';

/** `haproxy -c` on a rendered directory, with the server-state file the config names in place. */
export async function checkRendered(dir: string, cwd = process.cwd()): Promise<Validation> {
  const state = join(dir, 'haproxy.state');
  if (!existsSync(state)) writeFileSync(state, EMPTY_SERVER_STATE);
  return validateConfig(join(dir, 'haproxy.cfg'), HAPROXY_BIN, cwd);
}

export interface StartOptions {
  /** Master CLI socket of the master-worker HAProxy (`-W -S`); default: one in a temp dir. */
  masterSocket?: string;
  /** TCP ports the config binds; ready once each accepts a connection. */
  ports?: number[];
  /** Where to probe the ports (default 127.0.0.1). */
  host?: string;
  /** Working directory (relative paths in the config resolve from it); default process.cwd(). */
  cwd?: string;
  /** How long it may take to become ready (default 10 s). */
  timeoutMs?: number;
  bin?: string;
}

export interface RunningHaproxy {
  pid: number;
  /** What HAProxy wrote to stdout/stderr so far (the last 64 KiB). */
  output(): string;
  /**
   * Stops this HAProxy and waits for it to exit: SIGUSR1 (soft stop) when graceful, else
   * SIGTERM; SIGKILL if it is still there after `timeoutMs`.
   */
  stop(opts?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

/** HAProxy did not start; `output` is what it said. */
export class HaproxyStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n${output}`);
    this.name = 'HaproxyStartError';
  }

  /** A port was taken between picking it and HAProxy binding it (other tests run alongside). */
  get portTaken(): boolean {
    return /cannot bind socket.*Address already in use/i.test(this.output);
  }
}

/**
 * Runs `attempt` (pick free ports, render, start HAProxy) again, up to `times` in all, when
 * HAProxy failed only because one of the ports it was given got taken meanwhile.
 */
export async function retryWhilePortTaken<T>(attempt: () => Promise<T>, times = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof HaproxyStartError && e.portTaken) || i >= times) throw e;
    }
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function masterHasWorker(masterSocket: string): Promise<boolean> {
  try {
    return (await showProc(masterSocket)).workers.length > 0;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs the real HAProxy on `configPath` as a child of this process and resolves once it
 * serves: the master (if any) lists a worker and every port in `ports` accepts. Rejects,
 * with HAProxy's output, if it exits first or is not ready within the timeout.
 */
export async function startHaproxy(configPath: string, opts: StartOptions = {}): Promise<RunningHaproxy> {
  // Readiness comes from the master: a port that accepts may belong to someone else.
  const socketDir = opts.masterSocket ? undefined : mkdtempSync(join(tmpdir(), 'mlb-ts-haproxy-'));
  const masterSocket = opts.masterSocket ?? join(socketDir as string, 'master.sock');
  const args = ['-W', '-S', masterSocket, '-f', configPath];
  const child = spawn(opts.bin ?? HAPROXY_BIN, args, { cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (c: Buffer) => {
    output = (output + c.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const kill = async (signal: NodeJS.Signals, waitMs: number): Promise<boolean> => {
    if (exited) return true;
    child.kill(signal);
    await Promise.race([exit, sleep(waitMs)]);
    return exited;
  };
  const handle: RunningHaproxy = {
    pid: child.pid ?? -1,
    output: () => output,
    async stop({ graceful = false, timeoutMs = 5000 } = {}) {
      try {
        if (graceful && (await kill('SIGUSR1', timeoutMs))) return;
        if (await kill('SIGTERM', timeoutMs)) return;
        await kill('SIGKILL', timeoutMs);
      } finally {
        if (socketDir) rmSync(socketDir, { recursive: true, force: true });
      }
    },
  };

  const host = opts.host ?? '127.0.0.1';
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const ready = async () => {
    if (!(await masterHasWorker(masterSocket))) return false;
    const open = await Promise.all((opts.ports ?? []).map((p) => canConnect(host, p)));
    return open.every(Boolean);
  };
  const failure = (why: string) => {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    return new HaproxyStartError(`haproxy ${args.join(' ')}: ${why}`, output);
  };
  for (;;) {
    if (spawnError) throw failure(`cannot run (${spawnError.message})`);
    if (exited) throw failure(`exited with code ${child.exitCode ?? child.signalCode}`);
    if (await ready()) {
      if (exited) throw failure(`exited with code ${child.exitCode ?? child.signalCode}`);
      return handle;
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw failure(`not ready within ${opts.timeoutMs ?? 10_000} ms`);
    }
    await sleep(50);
  }
}
