import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { MlbError, errorLine, isMlbError } from '../errors.js';
import { clearReloadPending, installFiles, type InstallOptions, type InstallResult, isReloadPending, validateSet } from '../haproxy/install.js';
import { removeStaleTemps } from '../io/files.js';
import type { MarathonApp } from '../marathon/types.js';
import { installOptionsOf, type Settings } from '../settings.js';
import { type Checked, droppedPortLine, dropBrokenPorts, plainApps, refusedWithoutApps } from './narrow.js';
import type { RenderResult } from './render-set.js';
import { say } from '../io/say.js';

/** Runs the operator's reload command through the shell; E_RELOAD with its output if it fails. */
export async function runReloadCommand(command: string): Promise<void> {
  const res = await execa(command, { shell: true, reject: false, all: true, timeout: 120_000 });
  if (res.exitCode !== 0) {
    const lines = String(res.all ?? '').trim().split('\n');
    const out = lines.slice(-3).join(' | ') || '(it printed nothing)';
    // All of its output goes along: HAProxy's alerts in it may name the proxies at fault.
    throw new MlbError('E_RELOAD', `reload command exited ${res.exitCode ?? res.signal}: ${out}`, { details: lines.filter(Boolean) });
  }
}

/** What one-shot mode needs to render again without the app ports HAProxy refuses. */
export interface Narrowing {
  apps: readonly MarathonApp[];
  /** --group: the control apps of narrowing must be rendered (see plainApps). */
  groups: readonly string[];
  /** The same render (settings, templates, resolved hosts) of these apps, without `droppedPorts` (portKey). */
  render: (apps: MarathonApp[], droppedPorts?: ReadonlySet<string>) => RenderResult;
}

/**
 * Installs `first`; when HAProxy refuses it and some app ports are to blame, installs the config
 * without them instead, as the daemon does, each dropped port said on one warning line. The
 * result is the render installed (or found installed).
 */
async function installDroppingBrokenPorts(first: RenderResult, opts: InstallOptions, narrowing: Narrowing | undefined): Promise<{ install: InstallResult; result: RenderResult }> {
  try {
    return { install: await installFiles(first.files, opts), result: first };
  } catch (e) {
    if (!narrowing || !isMlbError(e) || e.code !== 'E_HAPROXY_INVALID') throw e;
    const check = async (apps: MarathonApp[], dropped?: ReadonlySet<string>): Promise<Checked> => {
      const result = narrowing.render(apps, dropped);
      return { result, validation: await validateSet(result.files, dirname(opts.configPath), opts.haproxyBin, opts.stateFile) };
    };
    const none = await check(plainApps(narrowing.groups));
    if (!none.validation.ok) throw refusedWithoutApps(none.validation);
    const all = [...narrowing.apps];
    const result = await dropBrokenPorts(all, first, e, (dropped) => check(all, dropped), (port) => say('warn', `warning: ${droppedPortLine(port)}`));
    return { install: await installFiles(result.files, { ...opts, skipValidation: true }), result };
  }
}

/**
 * One-shot mode: install (validated) and reload, retried --max-reload-retries times. Exit code 0
 * or 1. Nothing to do only when the installed files are these and their last reload succeeded: a
 * reload that still failed (the install left <config>.reload-pending) is tried again by the next run. Without --command, a
 * HAProxy that is not running (no master socket, or a stale one) is left alone: nothing to reload.
 */
export async function applyOnce(s: Settings, first: RenderResult, narrowing?: Narrowing): Promise<{ code: number; installed: RenderResult }> {
  const configPath = resolve(s.haproxyConfig);
  const opts = { ...installOptionsOf(s, configPath), markPending: true };
  // Temp files an earlier run was killed with between writing and renaming them.
  removeStaleTemps(first.files.map((f) => join(dirname(configPath), f.name)));
  const { install, result } = await installDroppingBrokenPorts(first, opts, narrowing);
  return { code: await reloadOnce(s, configPath, install), installed: result };
}

/** The wait before retry `attempt` (0-based) of a failed reload: 0.2 s doubling, at most 5 s (10 retries: 31.2 s). */
export function reloadRetryPauseMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** attempt);
}

/** `reload`, retried up to `retries` times when it fails (--max-reload-retries), each failure said on one line. */
async function withReloadRetries(retries: number, reload: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await reload();
    } catch (e) {
      if (attempt >= retries) throw e;
      const wait = reloadRetryPauseMs(attempt);
      say('warn', `mlb-ts: reload failed (${errorLine(e)}); retry ${attempt + 1} of ${retries} in ${wait} ms`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Reloads after an install when anything is to load; 0 or 1. */
async function reloadOnce(s: Settings, configPath: string, install: InstallResult): Promise<number> {
  const upToDate = !install.changed && !isReloadPending(configPath);
  const reason = install.changed ? 'config changed' : 'the installed config is not loaded yet (an earlier reload failed or found no HAProxy)';
  const noReload = () => {
    say('info', `mlb-ts: ${configPath} is already up to date; no reload`);
    return 0;
  };
  if (upToDate && s.command) return noReload();
  if (install.changed) {
    for (const w of install.validation?.warnings ?? []) say('warn', `haproxy: ${w}`);
    say('info', `mlb-ts: installed ${configPath}`);
  }
  try {
    if (s.command) {
      const command = s.command;
      await withReloadRetries(s.maxReloadRetries, () => runReloadCommand(command));
      say('info', `mlb-ts: reloaded (reason: ${reason})`);
    } else {
      const { reloadAndVerify, runningMaster } = await import('../haproxy/master.js');
      // No master answering (no socket, or a stale one a dead HAProxy left): nothing to reload;
      // the marker stays, so a run that finds HAProxy running loads these files.
      if (!(await runningMaster(s.masterSocket))) {
        say('info', `mlb-ts: no --command and no HAProxy master at ${s.masterSocket}; config installed, nothing reloaded`);
        return 0;
      }
      if (upToDate) return noReload();
      await withReloadRetries(s.maxReloadRetries, async () => {
        await reloadAndVerify(s.masterSocket);
      });
      say('info', `mlb-ts: reloaded through the master socket (reason: ${reason})`);
    }
    clearReloadPending(configPath);
  } catch (e) {
    say('error', `mlb-ts: ${errorLine(e)}`);
    return 1;
  }
  return 0;
}
