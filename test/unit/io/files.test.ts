import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { commitStaged, discardStaged, removeStaleTemps, stageFiles, writeFilesAtomically } from '../../../src/io/files.js';
import { scratchDirs } from '../../helpers/dirs.js';

const newDir = scratchDirs('mlb-ts-files-');

const listing = (dir: string) => readdirSync(dir).sort();

function thrown(fn: () => void): MlbError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlbError);
    return e as MlbError;
  }
  throw new Error('expected an error');
}

describe('a write cut short (a full disk, a file-size limit)', () => {
  it('is an error, not a truncated file: the old file stays and no temp file is left', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'haproxy.cfg'), 'old config\n');
    // 16 blocks of 512 bytes: write() stores 8 KB of the 50 KB, then fails with EFBIG.
    const script = `import { writeFilesAtomically } from ${JSON.stringify(new URL('../../../dist/io/files.js', import.meta.url).pathname)};
try { writeFilesAtomically([{ path: ${JSON.stringify(join(dir, 'haproxy.cfg'))}, content: 'x'.repeat(50000) + '\\n' }]); console.log('written'); }
catch (e) { console.log(e.code + ': ' + e.message + ': ' + e.cause?.code); }`;
    const run = spawnSync('/bin/sh', ['-c', `ulimit -f 16; exec "${process.execPath}" --input-type=module -e "$0"`, script], { encoding: 'utf8' });
    expect(run.stdout.trim(), run.stderr).toBe(`E_INSTALL: cannot write ${join(dir, 'haproxy.cfg')}: EFBIG`);
    expect(listing(dir)).toEqual(['haproxy.cfg']);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe('old config\n');
  });
});

describe('removeStaleTemps', () => {
  it("removes the temp files of a run that is gone, beside the given destinations only; a live process's and other files stay", () => {
    const dir = newDir();
    const gone = 2 ** 22 + 1; // above Linux's default pid_max: no such process
    const live = process.ppid;
    const files = {
      [`.haproxy.cfg.${gone}.1700000000000.tmp`]: 'removed',
      [`.domain2backend.map.${gone}.1700000000000.tmp`]: 'removed',
      [`.haproxy.cfg.${live}.1700000000000.tmp`]: 'kept: its process runs',
      [`.haproxy.cfg.${process.pid}.1700000000000.tmp`]: 'kept: this process',
      [`.other.cfg.${gone}.1700000000000.tmp`]: 'kept: not a destination',
      [`.haproxy.cfg.${gone}.tmp`]: 'kept: not our pattern',
      'haproxy.cfg': 'kept',
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const removed = removeStaleTemps([join(dir, 'haproxy.cfg'), join(dir, 'domain2backend.map'), join(newDir(), 'haproxy.cfg')]);
    expect(removed.sort()).toEqual([join(dir, `.domain2backend.map.${gone}.1700000000000.tmp`), join(dir, `.haproxy.cfg.${gone}.1700000000000.tmp`)]);
    expect(listing(dir)).toEqual(Object.keys(files).filter((f) => files[f] !== 'removed').sort());
  });
});

describe('stageFiles / commitStaged / discardStaged', () => {
  it('staging writes hidden temp files beside the destinations; nothing visible under the final names', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'haproxy.cfg'), 'old config');
    const staged = stageFiles(
      [
        { path: join(dir, 'haproxy.cfg'), content: 'new config' },
        { path: join(dir, 'domain2backend.map'), content: 'a.test be\n' },
      ],
      'T1',
    );
    expect(staged).toEqual([
      { final: join(dir, 'haproxy.cfg'), temp: join(dir, '.haproxy.cfg.T1.tmp') },
      { final: join(dir, 'domain2backend.map'), temp: join(dir, '.domain2backend.map.T1.tmp') },
    ]);
    expect(listing(dir)).toEqual(['.domain2backend.map.T1.tmp', '.haproxy.cfg.T1.tmp', 'haproxy.cfg']);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe('old config');
    expect(readFileSync(join(dir, '.haproxy.cfg.T1.tmp'), 'utf8')).toBe('new config');

    commitStaged(staged);
    expect(listing(dir)).toEqual(['domain2backend.map', 'haproxy.cfg']);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe('new config');
    expect(readFileSync(join(dir, 'domain2backend.map'), 'utf8')).toBe('a.test be\n');
  });

  it('discardStaged removes the temp files and leaves the destinations alone', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'haproxy.cfg'), 'old');
    const staged = stageFiles([{ path: join(dir, 'haproxy.cfg'), content: 'new' }], 'T2');
    discardStaged(staged);
    expect(listing(dir)).toEqual(['haproxy.cfg']);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe('old');
    // discarding twice is harmless
    discardStaged(staged);
  });

  it('missing directories are created', () => {
    const dir = join(newDir(), 'a', 'b');
    commitStaged(stageFiles([{ path: join(dir, 'x.cfg'), content: 'x' }]));
    expect(readFileSync(join(dir, 'x.cfg'), 'utf8')).toBe('x');
  });

  it('a write that fails while staging: E_INSTALL, the files staged before it removed, nothing else touched', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'haproxy.cfg'), 'old');
    // a file whose directory can't be created: its parent is a regular file
    const e = thrown(() =>
      stageFiles([
        { path: join(dir, 'haproxy.cfg'), content: 'new' },
        { path: join(dir, 'haproxy.cfg', 'under-a-file.map'), content: 'm' },
      ]),
    );
    expect(e.code).toBe('E_INSTALL');
    expect(e.message).toContain('cannot write');
    expect(e.cause).toBeInstanceOf(Error);
    expect(listing(dir)).toEqual(['haproxy.cfg']);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe('old');
  });

  it('a rename that fails while committing: E_INSTALL and no temp files left', () => {
    const dir = newDir();
    // the destination is a non-empty directory: renaming a file onto it fails
    mkdirSync(join(dir, 'haproxy.cfg'));
    writeFileSync(join(dir, 'haproxy.cfg', 'inside'), '');
    const staged = stageFiles([{ path: join(dir, 'haproxy.cfg'), content: 'new' }], 'T3');
    const e = thrown(() => commitStaged(staged));
    expect(e.code).toBe('E_INSTALL');
    expect(e.message).toContain('cannot install');
    expect(listing(dir)).toEqual(['haproxy.cfg']);
    expect(statSync(join(dir, 'haproxy.cfg')).isDirectory()).toBe(true);
  });
});

describe('writeFilesAtomically', () => {
  it('writes every file, replaces existing ones, leaves no temp file', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'a.txt'), 'old a');
    writeFilesAtomically([
      { path: join(dir, 'a.txt'), content: 'new a' },
      { path: join(dir, 'b.txt'), content: 'b' },
      { path: join(dir, 'empty.txt'), content: '' },
      { path: join(dir, 'unicode.txt'), content: 'ünïcödé ✓\n' },
    ]);
    expect(listing(dir)).toEqual(['a.txt', 'b.txt', 'empty.txt', 'unicode.txt']);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('new a');
    expect(readFileSync(join(dir, 'empty.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'unicode.txt'), 'utf8')).toBe('ünïcödé ✓\n');
  });

  it('a failing write leaves no partial file: none of the set appears', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'plain-file'), 'x');
    const e = thrown(() =>
      writeFilesAtomically([
        { path: join(dir, 'first.txt'), content: 'first' },
        { path: join(dir, 'plain-file', 'second.txt'), content: 'its directory is a file' },
        { path: join(dir, 'third.txt'), content: 'third' },
      ]),
    );
    expect(e.code).toBe('E_INSTALL');
    expect(listing(dir)).toEqual(['plain-file']);
  });

  it('a failing rename of the last file (renamed first): none of the set appears', () => {
    const dir = newDir();
    mkdirSync(join(dir, 'is-a-directory'));
    writeFileSync(join(dir, 'is-a-directory', 'inside'), '');
    const e = thrown(() =>
      writeFilesAtomically([
        { path: join(dir, 'first.txt'), content: 'first' },
        { path: join(dir, 'second.txt'), content: 'second' },
        { path: join(dir, 'is-a-directory'), content: 'cannot replace a directory' },
      ]),
    );
    expect(e.code).toBe('E_INSTALL');
    expect(listing(dir)).toEqual(['is-a-directory']);
  });

  it('nothing to write: nothing happens', () => {
    const dir = newDir();
    writeFilesAtomically([]);
    expect(listing(dir)).toEqual([]);
  });
});
