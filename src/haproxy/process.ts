import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { MlbError } from '../errors.js';
import { awaitReload, isSocketGone, reloadAndVerify, runningMaster, showProc, type ShowProc } from './master.js';
import { INSTALL_HINT } from './validate.js';
import { isProcessAlive } from '../io/files.js';

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
 * Alerts the running workers print about their servers' health, whatever a reload does: not
 * about the config being loaded, so never grounds to blame (and drop) an app.
 */
const HEALTH_ALERT = /has no server available!/;

/** The alerts among HAProxy's output lines, without their tag and pid, but for HEALTH_ALERT ones. */
export function alertsOf(lines: string[]): string[] {
  return lines
    .filter((l) => l.includes('[ALERT]') && !HEALTH_ALERT.test(l))
    .map((l) => l.replace(/^\[\w+\]\s*\(\d+\)\s*:\s*/, '').trim());
}

/**
 * What to do about a failure whose cure is outside the config, to append to its message: HAProxy
 * reserves a file descriptor per listener and per server with checks (spare slots included), and
 * refuses to start past the hard open-files limit (20,000 on some machines: about 5,000 apps).
 */
export function remedyOf(lines: string[]): string {
  for (const l of lines) {
    const m = /Cannot raise FD limit to (\d+), limit is (\d+)/.exec(l);
    if (m) return `; HAProxy needs ${m[1]} open files and the hard limit is ${m[2]}: raise it (systemd LimitNOFILE=, docker run --ulimit nofile=) or lower --spare-slots (each spare slot of a backend with health checks takes one)`;
  }
  return '';
}

/** `e` with HAProxy's alert lines attached (MlbError.details), for attributing the failure. */
function withAlerts(e: unknown, alerts: string[]): unknown {
  if (!(e instanceof MlbError) || alerts.length === 0) return e;
  return new MlbError(e.code, `${e.message}${remedyOf(alerts)}`, { cause: e.cause, details: [...e.details, ...alerts] });
}

/**
 * The HAProxy mlb-ts runs itself: master-worker mode (`-W`) with a master CLI socket (`-S`);
 * reloads go through the master, which hands the listening sockets to the new worker.
 */
export class SupervisedHaproxy {
  private child: ChildProcess | undefined;
  private stopping = false;
  private adoptedPid: number | undefined;
  /** HAProxy's latest output lines, numbered: what a failed start or reload said. */
  private readonly output: { seq: number; line: string }[] = [];
  private seq = 0;
  /** What `show proc` said after the last start or reload: the counters a reload by signal is checked against. */
  private lastProc: ShowProc | undefined;
  /** stop() calls so far: a start() that sees one arrive before it spawns spawns nothing. */
  private stopRequests = 0;
  /** Watches an adopted master (not our child: no exit event). */
  private adoptedWatch: NodeJS.Timeout | undefined;

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
    const stopsBefore = this.stopRequests;
    for (const d of [dirname(this.opts.masterSocket), ...(this.opts.socketDirs ?? [])]) mkdirSync(d, { recursive: true });
    // A socket file nothing answers on (HAProxy died), or one that gives no sensible answer, is
    // removed: a new master starts.
    const running = await runningMaster(this.opts.masterSocket).catch(() => {
      rmSync(this.opts.masterSocket, { force: true });
      return undefined;
    });
    if (running) {
      this.adoptedPid = running.master.pid;
      this.lastProc = running;
      this.opts.onLog?.(`adopted running HAProxy master ${running.master.pid}`, 'stdout');
      this.watchAdopted(running.master.pid);
      return running;
    }
    if (this.stopRequests !== stopsBefore) throw new MlbError('E_RELOAD', 'HAProxy not started: mlb-ts is stopping');
    this.stopping = false;
    const stderrTail: string[] = [];
    const from = this.seq;
    // Until it runs, an exit is start()'s failure to report, not an unexpected one to act on.
    let started = false;
    const child = spawn(this.opts.bin, ['-W', '-S', `${this.opts.masterSocket},mode,600`, '-f', this.opts.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new MlbError('E_HAPROXY_MISSING', `cannot start ${this.opts.bin}; ${INSTALL_HINT}`, { cause: e }))));
    spawnError.catch(() => undefined);
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (name === 'stderr') {
          stderrTail.push(line);
          if (stderrTail.length > 6) stderrTail.shift();
        }
        this.output.push({ seq: ++this.seq, line });
        if (this.output.length > 500) this.output.shift();
        this.opts.onLog?.(line, name);
      });
    }
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.stopping && started) this.opts.onExit?.(code, signal);
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await sleep(20); // the last lines it wrote
        throw new MlbError('E_RELOAD', `HAProxy exited at start (${child.exitCode ?? child.signalCode}): ${stderrTail.join(' | ')}${remedyOf(stderrTail)}`, { details: this.alertsSince(from) });
      }
      try {
        const proc = await Promise.race([showProc(this.opts.masterSocket), spawnError]);
        if (proc.workers.length > 0) {
          started = true;
          this.lastProc = proc;
          return proc;
        }
      } catch (e) {
        if (e instanceof MlbError && e.code === 'E_HAPROXY_MISSING') throw e;
      }
      await sleep(50);
    }
    // Not left running unwatched: a start reported failed must not come up later on its own.
    this.stopping = true;
    child.kill('SIGTERM');
    throw new MlbError('E_RELOAD', `HAProxy did not start within ${timeoutMs} ms: ${stderrTail.join(' | ')}`, { details: this.alertsSince(from) });
  }

  /** HAProxy's alert lines since output line `from` (only a master this process started is heard). */
  private alertsSince(from: number): string[] {
    return alertsOf(this.output.filter((o) => o.seq > from).map((o) => o.line));
  }

  /**
   * Reloads through the master CLI; a refused reload's error carries the alerts HAProxy printed
   * (E_RELOAD, details). A master CLI that can't be reached (its socket file deleted) while the
   * master runs: reloadBySignal.
   */
  async reload(): Promise<ShowProc> {
    const from = this.seq;
    let before: ShowProc | undefined;
    try {
      before = await showProc(this.opts.masterSocket);
    } catch (e) {
      // Only a master that finished starting (lastProc is its own): one still starting dies of SIGUSR2.
      const pid = this.pid;
      const last = this.lastProc;
      if (!isSocketGone(e) || pid === undefined || last?.master.pid !== pid || !isProcessAlive(pid)) throw withAlerts(e, this.alertsSince(from));
      return this.reloadBySignal(last, from);
    }
    try {
      return (this.lastProc = await reloadAndVerify(this.opts.masterSocket, 15_000, before));
    } catch (e) {
      await sleep(100); // its alerts may still be on their way through the pipe
      throw withAlerts(e, this.alertsSince(from));
    }
  }

  /**
   * SIGUSR2 makes the master reload: it executes itself again, which loads the config and binds
   * its master CLI socket (-S) again, so a deleted socket file does not turn every later reload
   * into a failure. Verified once the socket answers, against what the master showed last (`last`).
   */
  private async reloadBySignal(last: ShowProc, from: number, timeoutMs = 15_000): Promise<ShowProc> {
    const pid = last.master.pid;
    this.opts.onLog?.(`master CLI ${this.opts.masterSocket} unreachable; reloading the master (pid ${pid}) with SIGUSR2, which makes the socket again`, 'stdout');
    process.kill(pid, 'SIGUSR2');
    try {
      return (this.lastProc = await awaitReload(this.opts.masterSocket, last, timeoutMs, `master CLI ${this.opts.masterSocket} unreachable, and no reload seen within ${timeoutMs} ms of SIGUSR2`));
    } catch (e) {
      throw withAlerts(e, this.alertsSince(from));
    }
  }

  /**
   * An adopted master is not our child, so its exit is not heard: it is looked at every second,
   * and its death reported as a child's would be (onExit), so the daemon starts HAProxy again.
   */
  private watchAdopted(pid: number): void {
    clearInterval(this.adoptedWatch);
    this.adoptedWatch = setInterval(() => {
      if (this.stopping || this.adoptedPid !== pid) return clearInterval(this.adoptedWatch);
      if (isProcessAlive(pid)) return;
      clearInterval(this.adoptedWatch);
      this.adoptedPid = undefined;
      this.opts.onExit?.(null, null);
    }, 1000);
    this.adoptedWatch.unref();
  }

  status(): Promise<ShowProc> {
    return showProc(this.opts.masterSocket);
  }

  /** Graceful stop: SIGUSR1 lets workers finish their connections; SIGTERM after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.stopRequests++;
    clearInterval(this.adoptedWatch);
    const pid = this.pid;
    if (pid === undefined) return;
    const alive = () => isProcessAlive(pid);
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
