import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { MlbError } from '../errors.js';
import { reloadAndVerify, showProc, type ShowProc } from './master.js';
import { INSTALL_HINT } from './validate.js';

export interface SupervisorOptions {
  bin: string;
  configPath: string;
  masterSocket: string;
  /** Directories the config's sockets live in (created if missing). */
  socketDirs?: string[];
  onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called when the master exits without being asked to. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The HAProxy mlb-ts runs itself: master-worker mode (`-W`) with a master CLI socket (`-S`);
 * reloads go through the master, which hands the listening sockets to the new worker.
 */
export class SupervisedHaproxy {
  private child: ChildProcess | undefined;
  private stopping = false;
  private adoptedPid: number | undefined;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Whether start() found a master still running (from an earlier mlb-ts) and took it over. */
  get adopted(): boolean {
    return this.adoptedPid !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid ?? this.adoptedPid;
  }

  /** Starts HAProxy, or adopts a master still running from an earlier mlb-ts. */
  async start(timeoutMs = 15_000): Promise<ShowProc> {
    for (const d of [dirname(this.opts.masterSocket), ...(this.opts.socketDirs ?? [])]) mkdirSync(d, { recursive: true });
    if (existsSync(this.opts.masterSocket)) {
      try {
        const proc = await showProc(this.opts.masterSocket);
        this.adoptedPid = proc.master.pid;
        this.opts.onLog?.(`adopted running HAProxy master ${proc.master.pid}`, 'stdout');
        return proc;
      } catch {
        rmSync(this.opts.masterSocket, { force: true });
      }
    }
    this.stopping = false;
    const stderrTail: string[] = [];
    const child = spawn(this.opts.bin, ['-W', '-S', `${this.opts.masterSocket},mode,600`, '-f', this.opts.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new MlbError('E_HAPROXY_MISSING', `cannot start ${this.opts.bin}; ${INSTALL_HINT}`, { cause: e }))));
    spawnError.catch(() => undefined);
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (name === 'stderr') stderrTail.splice(0, Math.max(0, stderrTail.length - 5), line);
        this.opts.onLog?.(line, name);
      });
    }
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.stopping) this.opts.onExit?.(code, signal);
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new MlbError('E_RELOAD', `HAProxy exited at start (${child.exitCode ?? child.signalCode}): ${stderrTail.join(' | ')}`);
      }
      try {
        const proc = await Promise.race([showProc(this.opts.masterSocket), spawnError]);
        if (proc.workers.length > 0) return proc;
      } catch (e) {
        if (e instanceof MlbError && e.code === 'E_HAPROXY_MISSING') throw e;
      }
      await sleep(50);
    }
    throw new MlbError('E_RELOAD', `HAProxy did not start within ${timeoutMs} ms: ${stderrTail.join(' | ')}`);
  }

  reload(): Promise<ShowProc> {
    return reloadAndVerify(this.opts.masterSocket);
  }

  status(): Promise<ShowProc> {
    return showProc(this.opts.masterSocket);
  }

  /** Graceful stop: SIGUSR1 lets workers finish their connections; SIGTERM after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const pid = this.pid;
    if (pid === undefined) return;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      process.kill(pid, 'SIGUSR1');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (alive() && Date.now() < deadline) await sleep(50);
    if (alive()) {
      process.kill(pid, 'SIGTERM');
      while (alive() && Date.now() < deadline + 5000) await sleep(50);
    }
    this.child = undefined;
    this.adoptedPid = undefined;
  }
}
