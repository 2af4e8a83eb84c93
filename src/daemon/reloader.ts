import { showProc } from '../haproxy/master.js';
import { SupervisedHaproxy } from '../haproxy/process.js';
import { dirname } from 'node:path';
import type { Settings } from '../settings.js';
import { runReloadCommand } from './apply.js';
import type { Logger } from './log.js';

/** How new config reaches HAProxy: the supervised master-worker HAProxy, or the operator's --command. */
export interface Reloader {
  readonly kind: 'supervised' | 'command';
  /** After the first install: start (or adopt) HAProxy. Returns true when a running one was adopted. */
  start(): Promise<boolean>;
  /**
   * Rejects with E_RELOAD when HAProxy did not take the config; its details carry what HAProxy
   * (or the command) said, which may name the proxies at fault.
   */
  reload(): Promise<void>;
  /** PIDs of HAProxy processes: master first, then workers (current, then old). */
  pids(): Promise<number[]>;
  stop(): Promise<void>;
}

export class SupervisedReloader implements Reloader {
  readonly kind = 'supervised';
  private readonly haproxy: SupervisedHaproxy;

  constructor(s: Settings, configPath: string, log: Logger, onUnexpectedExit: () => void) {
    this.haproxy = new SupervisedHaproxy({
      bin: s.haproxyBin,
      configPath,
      masterSocket: s.masterSocket,
      socketDirs: [dirname(s.haproxySocket)],
      onLog: haproxyLineLogger(log),
      onExit: (code, signal) => {
        log.error({ code, signal }, 'HAProxy master exited unexpectedly; restarting it');
        onUnexpectedExit();
      },
    });
  }

  async start(): Promise<boolean> {
    await this.haproxy.start();
    return this.haproxy.adopted;
  }

  async reload(): Promise<void> {
    await this.haproxy.reload();
  }

  async pids(): Promise<number[]> {
    const p = await this.haproxy.status();
    return [p.master.pid, ...p.workers.map((w) => w.pid), ...p.oldWorkers.map((w) => w.pid)];
  }

  stop(): Promise<void> {
    return this.haproxy.stop();
  }
}

/** --command: mlb-ts writes the config and runs the operator's command; HAProxy is theirs. */
export class CommandReloader implements Reloader {
  readonly kind = 'command';
  constructor(
    private readonly command: string,
    private readonly masterSocket: string,
  ) {}

  async start(): Promise<boolean> {
    return false;
  }

  reload(): Promise<void> {
    return runReloadCommand(this.command);
  }

  async pids(): Promise<number[]> {
    try {
      const p = await showProc(this.masterSocket);
      return [p.master.pid, ...p.workers.map((w) => w.pid), ...p.oldWorkers.map((w) => w.pid)];
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    // HAProxy keeps serving: it is not ours to stop.
  }
}

/**
 * HAProxy's output, folded into mlb-ts's log. The master writes to stderr and the workers'
 * `log stdout` repeats some of it: a message seen on the other stream within a second is skipped.
 */
function haproxyLineLogger(log: Logger): (line: string, stream: string) => void {
  const recent = new Map<string, { stream: string; at: number }>();
  return (line, stream) => {
    const text = line.replace(/^\[\w+\]\s*\(\d+\)\s*:\s*/, '');
    const now = Date.now();
    const seen = recent.get(text);
    if (seen && seen.stream !== stream && now - seen.at < 1000) return;
    recent.set(text, { stream, at: now });
    if (recent.size > 200) for (const [k, v] of recent) if (now - v.at > 1000) recent.delete(k);
    log[haproxyLineLevel(line)]({ src: 'haproxy', stream }, text);
  };
}

/**
 * What HAProxy says at every reload, runtime update or clean stop, at its WARNING level: an
 * operator who alerts on warnings must not be paged by routine work. A server going DOWN on
 * its checks, or a worker exiting with another code, keeps HAProxy's level.
 */
const ROUTINE: [RegExp, 'debug' | 'info'][] = [
  // Every reload makes each old proxy report that it stopped.
  [/Proxy \S+ stopped|Stopping (frontend|backend|proxy)/, 'debug'],
  [/\b(Former|Current) worker (\(\d+\)|#?\d+) exited with code 0\b/, 'info'],
  [/Exiting Master process|All workers exited\. Exiting\.\.\. \(0\)/, 'info'],
  // mlb-ts's own runtime commands: a spare slot filled, a server taken out.
  // (Not maintenance for a cause of HAProxy's own, e.g. `(DNS NX status)`.)
  [/\bis going DOWN for maintenance\.|\(leaving forced maintenance\)/, 'info'],
];

/** The log level of one line of HAProxy's output. */
export function haproxyLineLevel(line: string): 'debug' | 'info' | 'warn' | 'error' {
  for (const [pattern, level] of ROUTINE) if (pattern.test(line)) return level;
  return /\[ALERT\]/.test(line) ? 'error' : /\[WARNING\]/.test(line) ? 'warn' : 'info';
}
