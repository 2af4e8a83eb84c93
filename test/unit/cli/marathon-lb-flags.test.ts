import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

/** marathon-lb command lines given to mlb-ts unchanged (the swap CLI.md promises). */
const APPS = 'examples/apps.json';
const dryRun = (...args: string[]) => runCli(['--dry-run', '-m', APPS, '--group', 'external', ...args]);
const notes = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('mlb-ts: note: '));

describe('marathon-lb flags on the command line', () => {
  let plain = '';
  beforeAll(async () => {
    const run = await dryRun();
    expect(run.code, run.stderr).toBe(0);
    plain = run.stdout;
  });

  it.each<[string, string[], string[]]>([
    ['--auth-credentials', ['--auth-credentials', 'user:pass'], []],
    ['--dcos-auth-credentials', ['--dcos-auth-credentials', '{"uid":"svc","private_key":"k","login_endpoint":"https://m/acs"}'], ['--dcos-auth-credentials']],
    ['--skip-config-cleanup', ['--skip-config-cleanup'], ['--skip-config-cleanup']],
    ['--syslog-socket', ['--syslog-socket', '/dev/null'], ['--syslog-socket']],
    ['--log-format', ['--log-format', '%(asctime)s %(message)s'], ['--log-format']],
    ['--lru-cache-capacity', ['--lru-cache-capacity', '1000'], ['--lru-cache-capacity']],
    ['--marathon-lb-group', ['--marathon-lb-group', 'marathon-lb'], ['--marathon-lb-group']],
    ['--log-level WARNING', ['--log-level', 'WARNING'], []],
    ['--log-level CRITICAL', ['--log-level', 'CRITICAL'], []],
    ['--log-level NOTSET', ['--log-level', 'NOTSET'], []],
    ['--max-reload-retries -1', ['--max-reload-retries', '-1'], []],
    ['--min/max-serv-port-ip-per-task 0 0', ['--min-serv-port-ip-per-task', '0', '--max-serv-port-ip-per-task', '0'], []],
    ['all of them', ['--syslog-socket', '/dev/null', '--log-format', 'x', '--lru-cache-capacity', '9', '--marathon-lb-group', 'g', '--skip-config-cleanup', '--dcos-auth-credentials', '{}', '--syslog-socket', '/dev/log'], ['--syslog-socket', '--log-format', '--lru-cache-capacity', '--marathon-lb-group', '--dcos-auth-credentials', '--skip-config-cleanup']],
  ])('%s: exit 0, the same config on stdout, one note per ignored flag on stderr', async (_name, args, noted) => {
    const run = await dryRun(...args);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(plain);
    const lines = notes(run.stderr);
    expect(lines.map((l) => l.split(' ')[2])).toEqual(noted);
    for (const l of lines) expect(l).toMatch(/^mlb-ts: note: --[a-z-]+ is accepted for marathon-lb compatibility and ignored \(.+\)$/);
  });

  it.each<[string, string[]]>([
    ['render', ['--out']],
    ['vips', []],
  ])('a daemon command line given to mlb-ts %s: the same output, one note per run-only flag', async (command, outFlag) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlbts-runonly-'));
    try {
      const base = (out: string) => [command, '-m', APPS, '--group', 'external', ...(outFlag.length ? [...outFlag, join(dir, out)] : [])];
      const daemonFlags = ['--sse', '--haproxy-bin', '/usr/sbin/haproxy', '-c', 'systemctl reload haproxy', '--reload-interval', '5', '--skip-validation', '--master-socket', join(dir, 'm.sock')];
      const plainRun = await runCli(base('plain'));
      const run = await runCli([...base('daemon'), ...daemonFlags]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(plainRun.stdout);
      // The config names its own directory (state file, maps): the same bytes but for that.
      if (outFlag.length) expect(readFileSync(join(dir, 'daemon', 'haproxy.cfg'), 'utf8').replaceAll(join(dir, 'daemon'), join(dir, 'plain'))).toBe(readFileSync(join(dir, 'plain', 'haproxy.cfg'), 'utf8'));
      const lines = notes(run.stderr);
      expect(lines.map((l) => l.split(' ')[2])).toEqual(['--sse', '--command', '--reload-interval', '--skip-validation', '--haproxy-bin', '--master-socket']);
      for (const l of lines) expect(l).toMatch(new RegExp(`^mlb-ts: note: --[a-z-]+ is ignored by mlb-ts ${command}, which only renders`));
      expect(notes(plainRun.stderr)).toEqual([]);
      // A run-only flag still needs its value there.
      expect((await runCli([...base('bare'), '--haproxy-bin'])).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, boolean, boolean]>([
    ['info', true, true],
    ['warn', true, false],
    ['error', false, false],
  ])('--log-level %s in a one-shot render: warnings shown %s, info lines shown %s', async (level, warnings, info) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlbts-level-'));
    try {
      const run = await runCli(['render', '-m', 'test/fixtures/bad-labels/apps.json', '--group', 'external', '--out', dir, '--log-level', level]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr.includes('warning: '), run.stderr).toBe(warnings);
      expect(run.stderr.includes('mlb-ts: wrote '), run.stderr).toBe(info);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the --dcos-auth-credentials note names the flag to use instead', async () => {
    const run = await dryRun('--dcos-auth-credentials', '{}');
    expect(notes(run.stderr)).toEqual(['mlb-ts: note: --dcos-auth-credentials is accepted for marathon-lb compatibility and ignored (mlb-ts does not log in with a service account: put a DC/OS token in a file and pass --dcos-token-file)']);
  });

  it('--longhelp is --help: exit 0, no notes (the bin test compares the text)', async () => {
    const run = await runCli(['--longhelp', '--syslog-socket', '/dev/null']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });

  it('--help and --version print no notes', async () => {
    for (const flag of ['--help', '--version']) {
      const run = await runCli([flag, '--syslog-socket', '/dev/null', '--skip-config-cleanup']);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
    }
  });

  it.each<[string, string[], RegExp]>([
    ['an unknown level', ['--log-level', 'verbose'], /--log-level must be debug, info, warn or error/],
    ['a retry count below -1', ['--max-reload-retries', '-2'], /--max-reload-retries must be a number ≥ 0, or -1/],
    ['min 0 without max 0', ['--min-serv-port-ip-per-task', '0'], /both ≥ 1, or both 0/],
    ['max 0 without min 0', ['--max-serv-port-ip-per-task', '0'], /both ≥ 1, or both 0/],
    ['--auth-credentials without a colon', ['--auth-credentials', 'justapassword'], /--auth-credentials must be user:password/],
    // --group takes one value, as argparse's append: a second word is a stray argument there too
    ['a word after --group VALUE', ['--group', 'internal', 'extra'], /Unknown argument: extra/],
    ['a command name after the options', ['labels'], /unexpected argument: labels \(a command comes first/],
  ])('usage error (%s): exit 2, nothing on stdout', async (_name, args, message) => {
    const run = await dryRun(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('justapassword');
  });

  describe('a string flag given twice: the last value counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlbts-twice-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('--haproxy-config: the map references point beside the last one', async () => {
      const run = await dryRun('--haproxy-map', '--haproxy-config', join(dir, 'a', 'haproxy.cfg'), '--haproxy-config', join(dir, 'b', 'haproxy.cfg'));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`map(${join(dir, 'b')}/domain2backend.map)`);
      expect(run.stdout).not.toContain(join(dir, 'a'));
    });

    it('--ssl-certs: the last list', async () => {
      const run = await dryRun('--ssl-certs', '/a.pem', '--ssl-certs', '/b.pem');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/bind \S+:443 ssl crt \/b\.pem/);
      expect(run.stdout).not.toContain('/a.pem');
      expect(run.stdout).not.toContain('/etc/ssl/cert.pem');
    });

    it('render --out: the last directory', async () => {
      const run = await runCli(['render', '-m', APPS, '--group', 'external', '--out', join(dir, 'out1'), '--out', join(dir, 'out2')]);
      expect(run.code, run.stderr).toBe(0);
      expect(readFileSync(join(dir, 'out2', 'haproxy.cfg'), 'utf8')).toMatch(/^global\n/);
    });
  });

  it('--min/max-serv-port-ip-per-task 0 0: IP-per-task apps without a service port get no frontend and no warning', async () => {
    const base = ['--dry-run', '-m', 'test/fixtures/ip-per-task/apps.json', '--group', '*'];
    const on = await runCli(base);
    const off = await runCli([...base, '--min-serv-port-ip-per-task', '0', '--max-serv-port-ip-per-task', '0']);
    expect(on.code, on.stderr).toBe(0);
    expect(off.code, off.stderr).toBe(0);
    const frontends = (cfg: string) => cfg.split('\n').filter((l) => /^frontend \S+_\d+$/.test(l));
    expect(frontends(on.stdout).length).toBeGreaterThan(0);
    expect(frontends(off.stdout)).toEqual([]);
    expect(off.stderr).toBe(on.stderr.split('\n').filter((l) => !/IP-per-task/.test(l)).join('\n'));
  });
});

describe('--auth-credentials against an HTTP Marathon on loopback', () => {
  let server: Server;
  let url = '';
  const seen: (string | undefined)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mlbts-auth-'));
  const goodFile = join(dir, 'good');
  const badFile = join(dir, 'bad');
  const emptyFile = join(dir, 'empty');
  const userOnlyFile = join(dir, 'user-only');
  const basic = (cred: string) => `Basic ${Buffer.from(cred).toString('base64')}`;

  beforeAll(async () => {
    writeFileSync(goodFile, 'marathon:s3cret\n');
    writeFileSync(badFile, 'marathon:wrong\n');
    const body = readFileSync(APPS);
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const ok = req.headers.authorization === basic('marathon:s3cret') && req.url?.startsWith('/v2/apps');
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? body : '{"message":"Unauthorized"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each<[string, string[], number, string | undefined, string[]]>([
    ['alone: Basic auth', ['--auth-credentials', 'marathon:s3cret'], 0, basic('marathon:s3cret'), []],
    ['given twice: the last', ['--auth-credentials', 'marathon:wrong', '--auth-credentials', 'marathon:s3cret'], 0, basic('marathon:s3cret'), []],
    ['with the credential file: the file wins', ['--auth-credentials', 'marathon:wrong', '--marathon-auth-credential-file', goodFile], 0, basic('marathon:s3cret'), ['--auth-credentials']],
    ['with a wrong credential file: the file still wins (exit 1)', ['--auth-credentials', 'marathon:s3cret', '--marathon-auth-credential-file', badFile], 1, basic('marathon:wrong'), ['--auth-credentials']],
  ])('%s', async (_name, args, code, header, noted) => {
    seen.length = 0;
    const run = await runCli(['--dry-run', '-m', url, '--group', 'external', ...args]);
    expect(run.code, run.stderr).toBe(code);
    expect(seen[0]).toBe(header);
    if (code === 0) expect(run.stdout).toMatch(/^global\n/);
    expect(notes(run.stderr).map((l) => l.split(' ')[2])).toEqual(noted);
    for (const secret of ['s3cret', 'wrong']) expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it.each<[string, () => string, RegExp]>([
    ['empty', () => emptyFile, /^mlb-ts: E_USAGE: --marathon-auth-credential-file \S+empty is empty$/],
    ['without a colon', () => userOnlyFile, /^mlb-ts: E_USAGE: --marathon-auth-credential-file \S+user-only must hold one line, user:password$/],
  ])('a credential file %s: exit 2, one line, nothing asked of Marathon', async (_name, file, line) => {
    writeFileSync(emptyFile, '\n');
    writeFileSync(userOnlyFile, 'marathon\n');
    seen.length = 0;
    const run = await runCli(['--dry-run', '-m', url, '--group', 'external', '--marathon-auth-credential-file', file()]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('note:'))).toEqual([expect.stringMatching(line)]);
    expect(seen).toEqual([]);
    expect(run.stdout).toBe('');
  });

  it('with user:password in the --marathon URL: the flag wins, as the credential file does', async () => {
    seen.length = 0;
    const run = await runCli(['--dry-run', '-m', url.replace('//', '//other:pw@'), '--group', 'external', '--auth-credentials', 'marathon:s3cret']);
    expect(run.code, run.stderr).toBe(0);
    expect(seen[0]).toBe(basic('marathon:s3cret'));
  });

  it('zdd takes it too', async () => {
    seen.length = 0;
    const def = join(dir, 'app.json');
    writeFileSync(def, JSON.stringify({ id: '/shop', instances: 1, cmd: 'x', portDefinitions: [{ port: 10000 }], labels: { HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10001' } }));
    const run = await runCli(['zdd', '-m', url, '--json', def, '--dry-run', '--auth-credentials', 'marathon:s3cret']);
    expect(seen[0], run.stderr).toBe(basic('marathon:s3cret'));
    expect(run.stdout + run.stderr).not.toContain('s3cret');
  });
});
