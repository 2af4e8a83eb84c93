import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterAll, describe, expect, it } from 'vitest';
import { RENDER_OPTIONS, RUN_OPTIONS, settingsFrom } from '../../../src/cli/options.js';
import { SELF_SIGNED_NAME, withPlaceholderCert } from '../../../src/io/self-signed.js';
import type { Settings } from '../../../src/settings.js';

const root = mkdtempSync(join(tmpdir(), 'mlb-self-signed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return dir;
};
/** Settings whose --ssl-certs is left at `def`, the default these tests pass to withPlaceholderCert. */
const atDefault = (def: string): Settings => ({ ...settings(undefined), sslCerts: [def] });

/** Settings as the command line makes them, --ssl-certs given as `certs` (its default when undefined). */
function settings(certs: string | undefined, extra: string[] = []): Settings {
  const args = ['--group', 'external', ...(certs === undefined ? [] : ['--ssl-certs', certs]), ...extra];
  return settingsFrom(yargs(args).options(RENDER_OPTIONS).options(RUN_OPTIONS).parseSync() as Record<string, unknown>, { requireGroup: true });
}

const TEST_CERT = 'test/fixtures/certs/default.pem';
const CA_ONLY = readFileSync(TEST_CERT, 'utf8').replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----\n?/, '');

describe('withPlaceholderCert (one-shot and daemon, --ssl-certs left at its default)', () => {
  it.each<[string, (dir: string) => string, RegExp]>([
    ['the default is missing', (dir) => join(dir, 'missing.pem'), /missing\.pem does not exist here/],
    ['the default is a CA bundle (no private key), as /etc/ssl/cert.pem is on some systems', (dir) => write(join(dir, 'bundle.pem'), CA_ONLY), /bundle\.pem holds no certificate with its private key/],
  ])('%s: a self-signed certificate beside the config serves instead, said on one line', async (_name, defaultOf, why) => {
    const dir = newDir();
    const def = defaultOf(dir);
    const warnings: string[] = [];
    const out = await withPlaceholderCert(atDefault(def), join(dir, 'cfg', 'haproxy.cfg'), (l) => warnings.push(l), [def]);
    const pem = join(dir, 'cfg', SELF_SIGNED_NAME);
    expect(out.sslCerts).toEqual([pem]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(why);
    expect(warnings[0]).toContain(`:443 serves ${pem}`);
    expect(readFileSync(pem, 'utf8')).toMatch(/-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
    expect(statSync(pem).mode & 0o777).toBe(0o600);
  });

  it('a placeholder that holds no key (broken) is made again; a good one is kept', async () => {
    const dir = newDir();
    const cfg = join(dir, 'haproxy.cfg');
    const pem = write(join(dir, SELF_SIGNED_NAME), 'garbage');
    const missing = join(dir, 'missing.pem');
    await withPlaceholderCert(atDefault(missing), cfg, () => undefined, [missing]);
    const made = readFileSync(pem, 'utf8');
    expect(made).toMatch(/-----BEGIN PRIVATE KEY-----/);
    await withPlaceholderCert(atDefault(missing), cfg, () => undefined, [missing]);
    expect(readFileSync(pem, 'utf8')).toBe(made);
  });

  it.each<[string, Settings]>([
    ['--ssl-certs given (even missing): HAProxy says what is wrong with it', settings('/nowhere/cert.pem')],
    ['--dont-bind-http-https: no :443', settings(undefined, ['--dont-bind-http-https'])],
  ])('%s: nothing made, settings as they are', async (_name, s) => {
    const dir = newDir();
    const warnings: string[] = [];
    expect(await withPlaceholderCert(s, join(dir, 'haproxy.cfg'), (l) => warnings.push(l), [join(dir, 'missing.pem')])).toBe(s);
    expect(warnings).toEqual([]);
  });

  it('the default is usable: settings as they are', async () => {
    const s = atDefault(TEST_CERT);
    expect(await withPlaceholderCert(s, join(newDir(), 'haproxy.cfg'), () => undefined, [TEST_CERT])).toBe(s);
  });

  it('no openssl on the PATH: E_INSTALL saying openssl could not run', async () => {
    const dir = newDir();
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty');
    try {
      const missing = join(dir, 'missing.pem');
      const e = await withPlaceholderCert(atDefault(missing), join(dir, 'haproxy.cfg'), () => undefined, [missing]).then(() => undefined, (x: unknown) => x as Error & { cause?: Error });
      expect(e?.message).toMatch(/no self-signed placeholder could be made/);
      expect(String(e?.cause?.message)).toMatch(/^openssl could not run: .*ENOENT/);
    } finally {
      process.env.PATH = path;
    }
  });
});

function write(path: string, text: string): string {
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}
