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

/** Runs `haproxy -c -f <config>`; E_HAPROXY_MISSING if there is no HAProxy to run. */
export async function validateConfig(config: string, haproxyBin = 'haproxy', cwd?: string, signal?: AbortSignal): Promise<Validation> {
  // execa loads on first use: `mlb-ts render` and --dry-run never run HAProxy.
  const { execa } = await import('execa');
  let res;
  try {
    res = await execa(haproxyBin, ['-c', '-f', config], { reject: false, all: true, timeout: 60_000, ...(cwd ? { cwd } : {}), ...(signal ? { cancelSignal: signal } : {}) });
  } catch (e) {
    throw new MlbError('E_HAPROXY_MISSING', `cannot run ${haproxyBin}; ${INSTALL_HINT}`, { cause: e });
  }
  // mlb-ts is stopping: a `haproxy -c` that hangs must not hold the stop up to its 60 s timeout.
  if (res.isCanceled) throw new MlbError('E_INSTALL', `${haproxyBin} -c stopped: mlb-ts is stopping`);
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
