import { MlbError } from '../errors.js';

export interface Validation {
  ok: boolean;
  /** `[WARNING]` lines, without HAProxy's pid prefix. */
  warnings: string[];
  /** `[ALERT]` lines: why the config was refused. */
  alerts: string[];
  output: string;
}

export const INSTALL_HINT = 'install it with: apt-get install -y haproxy (Debian), or pass --haproxy-bin PATH';

function linesOf(output: string, tag: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.includes(`[${tag}]`))
    .map((l) => l.replace(/^\[\w+\]\s*\(\d+\)\s*:\s*/, '').trim());
}

const VALIDATION_TIMEOUT_MS = 60_000;

/** Ends the process group `pid` leads (one we started detached), if it is still there. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Runs `haproxy -c -f <config>`; E_HAPROXY_MISSING if there is no HAProxy to run. */
export async function validateConfig(config: string, haproxyBin = 'haproxy', cwd?: string, signal?: AbortSignal): Promise<Validation> {
  // execa loads on first use: `mlb-ts render` and --dry-run never run HAProxy.
  const { execa } = await import('execa');
  let res;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    // Its own process group, ended whole when mlb-ts stops or the run times out: a --haproxy-bin
    // wrapper script's HAProxy would otherwise outlive the script and hold the output open.
    const child = execa(haproxyBin, ['-c', '-f', config], { reject: false, all: true, detached: true, ...(cwd ? { cwd } : {}) });
    stop = () => killGroup(child.pid);
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop);
    timer = setTimeout(() => {
      timedOut = true;
      stop?.();
    }, VALIDATION_TIMEOUT_MS);
    res = await child;
  } catch (e) {
    throw new MlbError('E_HAPROXY_MISSING', `cannot run ${haproxyBin}; ${INSTALL_HINT}`, { cause: e });
  } finally {
    clearTimeout(timer);
    if (stop) signal?.removeEventListener('abort', stop);
  }
  // mlb-ts is stopping: a `haproxy -c` that hangs must not hold the stop up to its timeout.
  if (signal?.aborted) throw new MlbError('E_INSTALL', `${haproxyBin} -c stopped: mlb-ts is stopping`);
  if (timedOut) throw new MlbError('E_INSTALL', `${haproxyBin} -c did not finish within ${VALIDATION_TIMEOUT_MS / 1000} s`);
  if (res.failed && res.exitCode === undefined) {
    throw new MlbError('E_HAPROXY_MISSING', `cannot run ${haproxyBin} (${res.shortMessage}); ${INSTALL_HINT}`);
  }
  const output = String(res.all ?? '');
  if (res.exitCode !== 0 && !/\[(ALERT|WARNING|NOTICE)\]|Configuration file/.test(output)) {
    const said = output.trim().split('\n')[0];
    throw new MlbError('E_HAPROXY_MISSING', `${haproxyBin} -c exited with status ${res.exitCode} and ${said ? `said only ${JSON.stringify(said.slice(0, 200))}` : 'printed nothing'}: not HAProxy? ${INSTALL_HINT}`);
  }
  return { ok: res.exitCode === 0, warnings: linesOf(output, 'WARNING'), alerts: linesOf(output, 'ALERT'), output };
}
