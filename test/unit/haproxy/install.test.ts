import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { clearReloadPending, EMPTY_SERVER_STATE, type InstallFile, installFiles, type InstallOptions, isInstalled, isReloadPending, reloadPendingPath } from '../../../src/haproxy/install.js';
import { HAPROXY_BIN } from '../../helpers/haproxy.js';

const root = mkdtempSync(join(tmpdir(), 'mlb-ts-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let seq = 0;
/** A fresh directory (not created) for one test. */
const newDir = () => join(root, `case-${++seq}`);

/** A valid config of directory `dir`, naming its state file and (optionally) a map in it. */
function config(dir: string, opts: { marker?: string; mapConverter?: string; broken?: boolean } = {}): string {
  return [
    'global',
    `  server-state-file ${join(dir, 'haproxy.state')}`,
    `  # ${opts.marker ?? 'v1'}`,
    'defaults',
    '  mode http',
    '  load-server-state-from-file global',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend fe',
    '  bind 127.0.0.1:18080', // haproxy -c binds nothing
    ...(opts.mapConverter ? [`  http-request set-var(txn.n) req.hdr(host),${opts.mapConverter}(${join(dir, 'domain2backend.map')})`] : []),
    '  default_backend be',
    'backend be',
    '  server s1 127.0.0.1:1',
    ...(opts.broken ? ['  this-is-not-a-keyword'] : []),
    '',
  ].join('\n');
}

function options(dir: string, over: Partial<InstallOptions> = {}): InstallOptions {
  return { configPath: join(dir, 'haproxy.cfg'), haproxyBin: HAPROXY_BIN, skipValidation: false, archiveVersions: 3, stateFile: join(dir, 'haproxy.state'), ...over };
}

/** Every file under `dir`, relative, with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = readFileSync(join(d, e.name), 'latin1');
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

const tempFiles = (dir: string) => Object.keys(snapshot(dir)).filter((f) => /\.tmp$/.test(f) || f.split('/').pop()?.startsWith('.'));
/** Archived configs sit beside the live one (CLI.md): haproxy.cfg.<UTC time stamp>. */
const archived = (dir: string) => readdirSync(dir).filter((f) => /^haproxy\.cfg\.\d{8}T\d{9}Z$/.test(f)).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function refusal(p: Promise<unknown>): Promise<MlbError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MlbError);
    return e as MlbError;
  }
  throw new Error('expected E_HAPROXY_INVALID');
}

describe('installFiles', () => {
  it('a valid set, first time: validated, installed, state file created, no temp files, nothing archived', async () => {
    const dir = newDir();
    const files: InstallFile[] = [
      { name: 'haproxy.cfg', content: config(dir) },
      { name: 'domain2backend.map', content: 'a.test be\n' },
    ];
    const r = await installFiles(files, options(dir));
    expect(r.changed).toBe(true);
    expect(r.validation?.ok).toBe(true);
    expect(snapshot(dir)).toEqual({ 'haproxy.cfg': files[0]?.content, 'domain2backend.map': 'a.test be\n', 'haproxy.state': EMPTY_SERVER_STATE });
    expect(tempFiles(dir)).toEqual([]);
    expect(isInstalled(dir, files)).toBe(true);
  });

  it('the same set again: changed:false, not validated, nothing archived, nothing touched', async () => {
    const dir = newDir();
    const files: InstallFile[] = [{ name: 'haproxy.cfg', content: config(dir) }];
    await installFiles(files, options(dir));
    writeFileSync(join(dir, 'haproxy.state'), '1\n# kept\n');
    const before = snapshot(dir);
    // with a binary that cannot run: an unchanged set must not even be validated
    expect(await installFiles(files, options(dir, { haproxyBin: join(root, 'no-such-haproxy') }))).toEqual({ changed: false });
    expect(snapshot(dir)).toEqual(before);
    expect(archived(dir)).toEqual([]);
  });

  it('a changed set replaces the files and archives the previous config', async () => {
    const dir = newDir();
    const v1 = config(dir, { marker: 'v1' });
    await installFiles([{ name: 'haproxy.cfg', content: v1 }], options(dir));
    await sleep(5);
    const v2 = config(dir, { marker: 'v2' });
    const r = await installFiles([{ name: 'haproxy.cfg', content: v2 }], options(dir));
    expect(r.changed).toBe(true);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe(v2);
    const arch = archived(dir);
    expect(arch).toHaveLength(1);
    expect(arch[0]).toMatch(/^haproxy\.cfg\.\d{8}T\d{9}Z$/);
    expect(readFileSync(join(dir, arch[0] as string), 'utf8')).toBe(v1);
    expect(tempFiles(dir)).toEqual([]);
  });

  it('the archive keeps only the newest N earlier configs', async () => {
    const dir = newDir();
    const versions = [1, 2, 3, 4, 5, 6].map((i) => config(dir, { marker: `v${i}` }));
    for (const v of versions) {
      await installFiles([{ name: 'haproxy.cfg', content: v }], options(dir, { archiveVersions: 2 }));
      await sleep(5);
    }
    const arch = archived(dir);
    expect(arch).toHaveLength(2);
    expect(arch.map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual([versions[3], versions[4]]);
    // Pruning keeps what else is named after the config.
    writeFileSync(join(dir, 'haproxy.cfg.reload-pending'), '');
    await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'v7' }) }], options(dir, { archiveVersions: 2 }));
    expect(existsSync(join(dir, 'haproxy.cfg.reload-pending'))).toBe(true);
    expect(archived(dir)).toHaveLength(2);
  });

  it('archiveVersions 0: no archive at all', async () => {
    const dir = newDir();
    await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'a' }) }], options(dir, { archiveVersions: 0 }));
    await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'b' }) }], options(dir, { archiveVersions: 0 }));
    expect(archived(dir)).toEqual([]);
  });

  it('archiveVersions 0 after runs that kept some: those go too (none kept beside the live config)', async () => {
    const dir = newDir();
    for (const marker of ['a', 'b', 'c']) {
      await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker }) }], options(dir, { archiveVersions: 2 }));
      await sleep(5);
    }
    expect(archived(dir)).toHaveLength(2);
    await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'd' }) }], options(dir, { archiveVersions: 0 }));
    expect(archived(dir)).toEqual([]);
  });

  it('a set HAProxy refuses: E_HAPROXY_INVALID with the reason; the previous files byte-identical, nothing archived', async () => {
    const dir = newDir();
    const good: InstallFile[] = [
      { name: 'haproxy.cfg', content: config(dir) },
      { name: 'domain2backend.map', content: 'a.test be\n' },
    ];
    await installFiles(good, options(dir));
    const before = snapshot(dir);
    const bad: InstallFile[] = [
      { name: 'haproxy.cfg', content: config(dir, { marker: 'v2', broken: true }) },
      { name: 'domain2backend.map', content: 'b.test be\n' },
    ];
    const e = await refusal(installFiles(bad, options(dir)));
    expect(e.code).toBe('E_HAPROXY_INVALID');
    expect(e.message).toMatch(/^haproxy -c refused the config: .*unknown keyword 'this-is-not-a-keyword'/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("the reason is HAProxy's alerts, without its summary lines", async () => {
    // BUG (src/haproxy/install.ts validationError): HAProxy 2.6 prints `config : Fatal errors found in configuration.`;
    // the filter's `^Fatal errors found` never matches that, so the summary line ends up in the reason.
    const dir = newDir();
    const e = await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir, { broken: true }) }], options(dir)));
    expect(e.message).toMatch(/unknown keyword 'this-is-not-a-keyword' in 'backend' section$/);
    expect(e.message).not.toMatch(/Error\(s\) found/);
    expect(e.message).not.toMatch(/Fatal errors found/);
  });

  it('refused on a first install: no directory, no state file, no temp files are created', async () => {
    const dir = join(newDir(), 'nested');
    const e = await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir, { broken: true }) }], options(dir)));
    expect(e.code).toBe('E_HAPROXY_INVALID');
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(dir, '..'))).toBe(false);
  });

  it('refused, with an existing directory but no state file yet: still no state file', async () => {
    const dir = newDir();
    mkdirSync(dir);
    await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir, { broken: true }) }], options(dir)));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('maps are validated from the new set, not from the installed files', async () => {
    const dir = newDir();
    // installed: a config that does not use the map, and a map whose values are not integers
    await installFiles(
      [
        { name: 'haproxy.cfg', content: config(dir) },
        { name: 'domain2backend.map', content: 'a.test web_1\n' },
      ],
      options(dir),
    );
    // new: the config reads the map as integers, and only the new map has an integer entry
    const next: InstallFile[] = [
      { name: 'haproxy.cfg', content: config(dir, { marker: 'v2', mapConverter: 'map_str_int' }) },
      { name: 'domain2backend.map', content: 'a.test 42\n' },
    ];
    const r = await installFiles(next, options(dir));
    expect(r.changed).toBe(true);
    expect(readFileSync(join(dir, 'domain2backend.map'), 'utf8')).toBe('a.test 42\n');

    // and the other way round: a new map HAProxy can't read is refused though the installed one is fine
    const before = snapshot(dir);
    const e = await refusal(
      installFiles(
        [
          { name: 'haproxy.cfg', content: config(dir, { marker: 'v3', mapConverter: 'map_str_int' }) },
          { name: 'domain2backend.map', content: 'a.test not_a_number\n' },
        ],
        options(dir),
      ),
    );
    expect(e.code).toBe('E_HAPROXY_INVALID');
    expect(e.message).toMatch(/unable to parse 'not_a_number'/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('a map that is only in the new set (not installed yet) is found by the validation', async () => {
    const dir = newDir();
    const r = await installFiles(
      [
        { name: 'haproxy.cfg', content: config(dir, { mapConverter: 'map_str_int' }) },
        { name: 'domain2backend.map', content: 'a.test 1\n' },
      ],
      options(dir),
    );
    expect(r.changed).toBe(true);
    expect(existsSync(join(dir, 'domain2backend.map'))).toBe(true);
  });

  it('skipValidation installs without running HAProxy', async () => {
    const dir = newDir();
    const broken = config(dir, { broken: true });
    const r = await installFiles([{ name: 'haproxy.cfg', content: broken }], options(dir, { skipValidation: true, haproxyBin: join(root, 'no-such-haproxy') }));
    expect(r).toEqual({ changed: true });
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe(broken);
  });

  it('without a state file option, none is created', async () => {
    const dir = newDir();
    const cfg = config(dir).replace(/ {2}server-state-file .*\n/, '').replace(/ {2}load-server-state-from-file .*\n/, '');
    await installFiles([{ name: 'haproxy.cfg', content: cfg }], { ...options(dir), stateFile: undefined });
    expect(readdirSync(dir)).toEqual(['haproxy.cfg']);
  });

  it('markPending: <config>.reload-pending is written with a change (not when refused, not when already installed) and stays until cleared', async () => {
    const dir = newDir();
    const cfgPath = join(dir, 'haproxy.cfg');
    await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir, { broken: true }) }], options(dir, { markPending: true })));
    expect(existsSync(dir)).toBe(false);
    expect(isReloadPending(cfgPath)).toBe(false);
    expect((await installFiles([{ name: 'haproxy.cfg', content: config(dir) }], options(dir, { markPending: true }))).changed).toBe(true);
    expect(isReloadPending(cfgPath)).toBe(true);
    expect(existsSync(reloadPendingPath(cfgPath))).toBe(true);
    // the same files again: nothing installed, the mark of the earlier (not yet loaded) install stays
    expect((await installFiles([{ name: 'haproxy.cfg', content: config(dir) }], options(dir, { markPending: true }))).changed).toBe(false);
    expect(isReloadPending(cfgPath)).toBe(true);
    clearReloadPending(cfgPath);
    expect(isReloadPending(cfgPath)).toBe(false);
    clearReloadPending(cfgPath); // clearing twice is fine
    expect((await installFiles([{ name: 'haproxy.cfg', content: config(dir) }], options(dir, { markPending: true }))).changed).toBe(false);
    expect(isReloadPending(cfgPath)).toBe(false);
    // without markPending, a change writes no mark
    await installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'v2' }) }], options(dir));
    expect(isReloadPending(cfgPath)).toBe(false);
  });

  it.each([
    ['no earlier mark: the one it wrote goes again', false],
    ['an earlier install still unloaded: its mark stays', true],
  ])('markPending, an install that fails at the rename (%s)', async (_name, earlier) => {
    const dir = newDir();
    const cfgPath = join(dir, 'haproxy.cfg');
    await installFiles([{ name: 'haproxy.cfg', content: config(dir) }], options(dir));
    if (earlier) writeFileSync(reloadPendingPath(cfgPath), 'earlier\n');
    // A directory where the map goes: renaming the staged map onto it fails.
    mkdirSync(join(dir, 'domain2backend.map', 'x'), { recursive: true });
    const before = snapshot(dir);
    const e = await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir, { marker: 'v2' }) }, { name: 'domain2backend.map', content: 'a.test be\n' }], options(dir, { markPending: true, skipValidation: true, archiveVersions: 0 })));
    expect(e.code).toBe('E_INSTALL');
    expect(snapshot(dir)).toEqual(before);
    expect(isReloadPending(cfgPath)).toBe(earlier);
  });

  it('--haproxy-config naming a directory: E_INSTALL saying so, nothing created (no archive directory)', async () => {
    const dir = newDir();
    mkdirSync(join(dir, 'haproxy.cfg'), { recursive: true });
    const e = await refusal(installFiles([{ name: 'haproxy.cfg', content: config(dir) }], options(dir, { markPending: true })));
    expect(e.code).toBe('E_INSTALL');
    expect(e.message).toMatch(/^--haproxy-config \S+ is a directory/);
    expect(readdirSync(dir)).toEqual(['haproxy.cfg']);
  });
});
