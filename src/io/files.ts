import { randomInt } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MlbError } from '../errors.js';

/** A file's text, or undefined when it can't be read (missing, a directory, no permission). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Writes every byte (a full disk makes writeSync write less than asked, then throw) and fsyncs. */
function writeDurably(path: string, content: string): void {
  const bytes = Buffer.from(content, 'utf8');
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let at = 0; at < bytes.length; ) {
      const n = writeSync(fd, bytes, at, bytes.length - at);
      if (n <= 0) throw new Error(`short write: ${at} of ${bytes.length} bytes`);
      at += n;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the renames are still atomic.
  }
}

export interface StagedFile {
  final: string;
  temp: string;
}

/**
 * mkdir -p, one level at a time. Node 20's recursive mkdirSync never returns for a path under a
 * directory that refuses new entries without saying it does not exist (/proc/x: it tries again
 * for ever); this fails with that level's error.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  for (; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  if (!statSync(d).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${missing[0] ?? d}'`), { code: 'ENOTDIR' });
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      // Another process made it meanwhile: as good.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Writes each file as a hidden temp file beside its destination; nothing is visible yet. */
export function stageFiles(files: { path: string; content: string }[], tag = tempTag()): StagedFile[] {
  const staged: StagedFile[] = [];
  try {
    for (const f of files) {
      makeDirs(dirname(f.path));
      const temp = join(dirname(f.path), `.${f.path.split('/').pop()}.${tag}.tmp`);
      // Listed before it is written: a write that fails half-way leaves no temp file behind either.
      staged.push({ final: f.path, temp });
      writeDurably(temp, f.content);
    }
  } catch (e) {
    discardStaged(staged);
    throw new MlbError('E_INSTALL', `cannot write ${files.map((f) => f.path).join(', ')}`, { cause: e });
  }
  return staged;
}

/** Renames staged files into place (each rename atomic), maps first and config last. */
export function commitStaged(staged: StagedFile[]): void {
  try {
    for (const f of [...staged].reverse()) renameSync(f.temp, f.final);
    for (const d of new Set(staged.map((f) => dirname(f.final)))) fsyncDir(d);
  } catch (e) {
    discardStaged(staged);
    throw new MlbError('E_INSTALL', `cannot install ${staged.map((f) => f.final).join(', ')}`, { cause: e });
  }
}

export function discardStaged(staged: StagedFile[]): void {
  for (const f of staged) rmSync(f.temp, { force: true });
}

/** Whether `path` is a directory (false when it is missing or cannot be looked at). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether process `pid` exists (one of another user's, which may not be signalled, does). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files (see stageFiles) that a run killed between staging and renaming left
 * beside these destinations: those of a process that is gone. A live one's are its own business.
 */
export function removeStaleTemps(paths: string[]): string[] {
  const removed: string[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    const names = new Set(paths.filter((p) => dirname(p) === dir).map((p) => basename(p)));
    for (const entry of entries) {
      const m = /^\.(.+)\.(\d+)\.\d+\.tmp$/.exec(entry);
      if (!m || !names.has(m[1] as string)) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || isProcessAlive(pid)) continue;
      rmSync(join(dir, entry), { force: true });
      removed.push(join(dir, entry));
    }
  }
  return removed;
}

/**
 * `<pid>.<digits>` for temp names: the time and six random digits, so two processes with one PID
 * (PID 1 in two containers sharing the directory) writing in the same millisecond don't collide.
 */
function tempTag(): string {
  return `${process.pid}.${Date.now()}${String(randomInt(1_000_000)).padStart(6, '0')}`;
}

/** All files or none (as far as renames allow): staged, then renamed into place. */
export function writeFilesAtomically(files: { path: string; content: string }[]): void {
  commitStaged(stageFiles(files));
}
