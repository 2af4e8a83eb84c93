import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MlbError } from '../errors.js';
import { commitStaged, discardStaged, isDirectory, readIfExists, stageFiles } from '../io/files.js';
import { validateConfig, type Validation } from './validate.js';

import { EMPTY_SERVER_STATE } from './server-state.js';

export { EMPTY_SERVER_STATE };

export interface InstallFile {
  /** Name inside the config directory (haproxy.cfg, domain2backend.map, …). */
  name: string;
  content: string;
}

export interface InstallOptions {
  configPath: string;
  haproxyBin: string;
  skipValidation: boolean;
  archiveVersions: number;
  /** The server-state file the config names: created (empty) once the config is installed. */
  stateFile?: string;
  /**
   * Mark the new files as not loaded yet (<config>.reload-pending, written before they go in
   * place): a reload or start that loads them clears it (clearReloadPending), so one that failed
   * is tried again even though the files are already installed.
   */
  markPending?: boolean;
  /** Stops a validation under way (the daemon stopping). */
  signal?: AbortSignal;
}

export interface InstallResult {
  changed: boolean;
  validation?: Validation;
}

export function reloadPendingPath(configPath: string): string {
  return `${configPath}.reload-pending`;
}

/** Whether the installed config has not been loaded by HAProxy since it was installed (see InstallOptions.markPending). */
export function isReloadPending(configPath: string): boolean {
  return existsSync(reloadPendingPath(configPath));
}

/** HAProxy loaded the installed config. */
export function clearReloadPending(configPath: string): void {
  rmSync(reloadPendingPath(configPath), { force: true });
}

/** True when every file already holds exactly these bytes. */
export function isInstalled(dir: string, files: InstallFile[]): boolean {
  return files.every((f) => readIfExists(join(dir, f.name)) === f.content);
}

/** The files named `names` as installed in `dir` now, or undefined if one can't be read. */
export function installedFiles(dir: string, names: string[]): InstallFile[] | undefined {
  const files: InstallFile[] = [];
  for (const name of names) {
    const content = readIfExists(join(dir, name));
    if (content === undefined) return undefined;
    files.push({ name, content });
  }
  return files;
}

/**
 * Validates the whole set in a scratch directory: the config is checked against the new
 * maps, not the ones currently installed (their paths are pointed at the scratch copies).
 */
export async function validateSet(files: InstallFile[], configDir: string, haproxyBin: string, stateFile?: string, signal?: AbortSignal): Promise<Validation> {
  const scratch = mkdtempSync(join(tmpdir(), 'mlb-ts-validate-'));
  try {
    const [config, ...others] = files as [InstallFile, ...InstallFile[]];
    let text = config.content;
    for (const f of others) {
      writeFileSync(join(scratch, f.name), f.content);
      text = text.split(join(configDir, f.name)).join(join(scratch, f.name));
    }
    // A scratch server-state file too: HAProxy warns about a missing one, and validating must not create files.
    if (stateFile) {
      writeFileSync(join(scratch, 'haproxy.state'), EMPTY_SERVER_STATE);
      text = text.split(stateFile).join(join(scratch, 'haproxy.state'));
    }
    const cfgPath = join(scratch, config.name);
    writeFileSync(cfgPath, text);
    return withoutScratchPaths(await validateConfig(cfgPath, haproxyBin, undefined, signal), scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** HAProxy's lines cite the scratch copy (`[/tmp/mlb-ts-validate-…/haproxy.cfg:73]`), gone once read: they name the file alone. */
function withoutScratchPaths(v: Validation, scratch: string): Validation {
  const strip = (line: string) => line.split(`${scratch}/`).join('');
  return { ...v, warnings: v.warnings.map(strip), alerts: v.alerts.map(strip), output: strip(v.output) };
}

export function validationError(v: Validation): MlbError {
  const reason = v.alerts.filter((a) => !/^(config : )?(Fatal errors found|Error\(s\) found)/.test(a)).slice(0, 3).join(' | ') || v.output.trim().split('\n').pop() || 'unknown';
  return new MlbError('E_HAPROXY_INVALID', `haproxy -c refused the config: ${reason}`);
}

/** An archived config's name: the config's, then `.` and a UTC time stamp (20261122T120355123Z). */
const ARCHIVE_STAMP = /^\d{8}T\d{9}Z$/;

/**
 * Keeps the newest `keep` earlier configs beside the live one, as haproxy.cfg.<UTC time stamp>
 * (CLI.md); with 0, none: those of runs with a larger --archive-versions go too.
 */
function archive(configPath: string, keep: number): void {
  if (!existsSync(configPath)) return;
  const dir = dirname(configPath);
  const base = `${basename(configPath)}.`;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  if (keep > 0) copyFileSync(configPath, join(dir, `${base}${stamp}`));
  // Not <config>.reload-pending, nor anything else named after the config.
  const old = readdirSync(dir)
    .filter((f) => f.startsWith(base) && ARCHIVE_STAMP.test(f.slice(base.length)))
    .sort();
  for (const f of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(dir, f), { force: true });
}

/**
 * Validate, then install the whole file set atomically (temp files in the target directory,
 * fsync, rename). Invalid: nothing changes and E_HAPROXY_INVALID says why.
 */
export async function installFiles(files: InstallFile[], opts: InstallOptions): Promise<InstallResult> {
  const dir = dirname(opts.configPath);
  if (isDirectory(opts.configPath)) throw new MlbError('E_INSTALL', `--haproxy-config ${opts.configPath} is a directory; it names the config file (its maps go beside it)`);
  if (isInstalled(dir, files)) return { changed: false };
  let validation: Validation | undefined;
  if (!opts.skipValidation) {
    validation = await validateSet(files, dir, opts.haproxyBin, opts.stateFile, opts.signal);
    if (!validation.ok) throw validationError(validation);
  }
  const staged = stageFiles(files.map((f) => ({ path: join(dir, f.name), content: f.content })));
  try {
    archive(opts.configPath, opts.archiveVersions);
  } catch (e) {
    discardStaged(staged);
    throw new MlbError('E_INSTALL', `cannot archive ${opts.configPath}`, { cause: e });
  }
  // A marker already there (an earlier install not loaded yet) says it all; one this install
  // writes goes again if the install fails: nothing new awaits a reload then.
  const newMarker = opts.markPending === true && !isReloadPending(opts.configPath);
  const dropNewMarker = () => {
    if (newMarker) clearReloadPending(opts.configPath);
  };
  if (newMarker) {
    try {
      writeFileSync(reloadPendingPath(opts.configPath), `${new Date().toISOString()}\n`);
    } catch (e) {
      discardStaged(staged);
      dropNewMarker();
      throw new MlbError('E_INSTALL', `cannot write ${reloadPendingPath(opts.configPath)}`, { cause: e });
    }
  }
  try {
    commitStaged(staged);
  } catch (e) {
    dropNewMarker();
    throw e;
  }
  if (opts.stateFile && !existsSync(opts.stateFile)) writeFileSync(opts.stateFile, EMPTY_SERVER_STATE);
  return { changed: true, ...(validation ? { validation } : {}) };
}
