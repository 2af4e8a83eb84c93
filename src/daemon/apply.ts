import { resolve } from 'node:path';
import { execa } from 'execa';
import { MlbError, errorLine } from '../errors.js';
import { installFiles } from '../haproxy/install.js';
import { installOptionsOf, type Settings } from '../settings.js';
import type { RenderResult } from './render-set.js';

/** Runs the operator's reload command through the shell; E_RELOAD with its output if it fails. */
export async function runReloadCommand(command: string): Promise<void> {
  const res = await execa(command, { shell: true, reject: false, all: true, timeout: 120_000 });
  if (res.exitCode !== 0) {
    const out = String(res.all ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new MlbError('E_RELOAD', `reload command exited ${res.exitCode ?? res.signal}: ${out}`);
  }
}

/** One-shot mode: install (validated) and reload once. Exit code 0 or 1. */
export async function applyOnce(s: Settings, result: RenderResult): Promise<number> {
  const configPath = resolve(s.haproxyConfig);
  const install = await installFiles(result.files, installOptionsOf(s, configPath));
  if (!install.changed) {
    process.stderr.write(`mlb-ts: ${configPath} is already up to date; no reload\n`);
    return 0;
  }
  for (const w of install.validation?.warnings ?? []) process.stderr.write(`haproxy: ${w}\n`);
  process.stderr.write(`mlb-ts: installed ${configPath}\n`);
  try {
    if (s.command) {
      await runReloadCommand(s.command);
      process.stderr.write('mlb-ts: reloaded (reason: config changed)\n');
    } else {
      const { reloadThroughMaster } = await import('../haproxy/master.js');
      const reloaded = await reloadThroughMaster(s.masterSocket);
      process.stderr.write(reloaded ? 'mlb-ts: reloaded through the master socket (reason: config changed)\n' : `mlb-ts: no --command and no HAProxy master at ${s.masterSocket}; config installed, nothing reloaded\n`);
    }
  } catch (e) {
    process.stderr.write(`mlb-ts: ${errorLine(e)}\n`);
    return 1;
  }
  return 0;
}
