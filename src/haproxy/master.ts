import { existsSync, rmSync } from 'node:fs';
import { MlbError } from '../errors.js';
import { socketCommand } from './socket.js';

export interface ProcEntry {
  pid: number;
  reloads: number;
  uptime: string;
}

export interface ShowProc {
  master: ProcEntry & { failedReloads: number };
  workers: ProcEntry[];
  /** Workers of earlier configs still finishing their connections. */
  oldWorkers: ProcEntry[];
}

/** Parses the master CLI's `show proc`. */
export function parseShowProc(text: string): ShowProc {
  let section = 'master';
  let master: ShowProc['master'] | undefined;
  const workers: ProcEntry[] = [];
  const oldWorkers: ProcEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old';
    else if (line.startsWith('# programs')) section = 'programs';
    if (!line || line.startsWith('#')) continue;
    const m = /^(\d+)\s+(\S+)\s+(\d+|\[was: \d+\])(?:\s+\[failed: (\d+)\])?\s+(\S+)/.exec(line);
    if (!m) continue;
    const entry = { pid: Number(m[1]), reloads: Number(/\d+/.exec(m[3] ?? '0')?.[0] ?? 0), uptime: m[5] ?? '' };
    if (m[2] === 'master') master = { ...entry, failedReloads: Number(m[4] ?? 0) };
    else if (section === 'workers') workers.push(entry);
    else if (section === 'old') oldWorkers.push(entry);
  }
  if (!master) throw new MlbError('E_RUNTIME', `unexpected 'show proc' answer: ${text.slice(0, 200)}`);
  return { master, workers, oldWorkers };
}

export async function showProc(masterSocket: string): Promise<ShowProc> {
  return parseShowProc(await socketCommand(masterSocket, 'show proc'));
}

/**
 * Asks the master to reload and verifies from `show proc` that it did: the reload counter
 * rose, the failed-reload counter did not, and a worker runs. Returns the new state.
 */
export async function reloadAndVerify(masterSocket: string, timeoutMs = 15_000, given?: ShowProc): Promise<ShowProc> {
  const before = given ?? (await showProc(masterSocket));
  await socketCommand(masterSocket, 'reload', timeoutMs).catch(() => '');
  return awaitReload(masterSocket, before, timeoutMs, `no new HAProxy worker within ${timeoutMs} ms of the reload`);
}

/**
 * The master's state once `show proc` shows a reload more than `before` and a worker; E_RELOAD
 * when it shows a failed reload more, or with `timeoutMessage` after `timeoutMs`. A master that
 * does not answer yet (re-executing itself) is asked again.
 */
export async function awaitReload(masterSocket: string, before: ShowProc, timeoutMs: number, timeoutMessage: string): Promise<ShowProc> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const last = await showProc(masterSocket).catch(() => undefined);
    if (!last) continue;
    if (last.master.failedReloads > before.master.failedReloads) {
      throw new MlbError('E_RELOAD', `HAProxy refused the reload (failed reloads ${before.master.failedReloads} → ${last.master.failedReloads})`);
    }
    if (last.master.reloads > before.master.reloads && last.workers.length > 0) return last;
  }
  throw new MlbError('E_RELOAD', timeoutMessage);
}

/** A failure to ask a master CLI whose socket file is gone, or that nothing listens on (HAProxy died, or the file was removed). */
export function isSocketGone(e: unknown): boolean {
  const code = e instanceof MlbError ? (e.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/**
 * The master answering on `masterSocket`, or undefined when no HAProxy runs there: no socket
 * file, or a stale one nothing listens on (left by a HAProxy that died; removed, so a new master
 * can create it). Any other failure to ask it throws.
 */
export async function runningMaster(masterSocket: string): Promise<ShowProc | undefined> {
  if (!existsSync(masterSocket)) return undefined;
  try {
    return await showProc(masterSocket);
  } catch (e) {
    if (!isSocketGone(e)) throw e;
    rmSync(masterSocket, { force: true });
    return undefined;
  }
}
