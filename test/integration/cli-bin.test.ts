import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/haproxy/validate.js';
import { app, task, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { freePort } from '../helpers/ports.js';

/** The built bin (`npm test` builds first), driven as an operator would: CLI.md's contract. */
const BIN = 'dist/cli/main.js';
const tmp = mkdtempSync(join(tmpdir(), 'mlb-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function mlb(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the mlb-ts executable', () => {
  it('exists: run `npm run build` first', () => {
    expect(existsSync(BIN)).toBe(true);
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('is executable, as `npx mlb-ts` and the image run it directly', () => {
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
    const r = spawnSync(join(process.cwd(), BIN), ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
  });

  it('--version and --help exit 0', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(mlb('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = mlb('--help');
    expect(help.code).toBe(0);
    for (const word of ['--marathon', '--group', '--dry-run', '--sse', 'render', 'labels']) expect(help.stdout).toContain(word);
  });

  it("--longhelp (marathon-lb's) prints the same help as --help, exit 0", () => {
    const help = mlb('--help');
    expect(mlb('--longhelp')).toEqual(help);
    expect(mlb('zdd', '--longhelp')).toEqual(mlb('zdd', '--help'));
  });

  it('a marathon-lb command line runs unchanged: stdout is the config only, one note per ignored flag on stderr', () => {
    const plain = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external');
    const r = mlb(
      '--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--syslog-socket', '/dev/null', '--log-format', '%(message)s',
      '--lru-cache-capacity', '1000', '--skip-config-cleanup', '--auth-credentials', 'user:hunter2', '--dcos-auth-credentials', '{}',
      '--log-level', 'WARNING', '--max-reload-retries', '-1', '--min-serv-port-ip-per-task', '0', '--max-serv-port-ip-per-task', '0',
      '-c', 'echo A', '-c', 'echo B',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('mlb-ts: note: ')).map((l) => l.split(' ')[2])).toEqual([
      '--syslog-socket', '--log-format', '--lru-cache-capacity', '--dcos-auth-credentials', '--skip-config-cleanup',
    ]);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('usage errors exit 2 with one line saying what is wrong', () => {
    const bad = mlb('--bogus-flag', '--group', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mlb-ts: E_USAGE: .*bogus-flag.*\(try 'mlb-ts --help'\)\n$/);
    expect(mlb('--dry-run', '-m', 'examples/apps.json').code).toBe(2);
    expect(mlb('render', '--group', 'x', '-m', 'examples/apps.json').stderr).toMatch(/^mlb-ts: E_USAGE: [^\n]*out[^\n]*\(try 'mlb-ts render --help'\)\n$/);
  });

  it.each<[string, string[]]>([
    ['a bare --out (it was the current directory)', ['render', '--out', '-m', 'examples/apps.json', '--group', 'external']],
    ["--out ''", ['render', '-m', 'examples/apps.json', '--group', 'external', '--out', '']],
    ['a stray word after render', ['render', '-m', 'examples/apps.json', '--group', 'external', '--out', 'x', 'extra']],
    ['a stray word after -- in render', ['render', '-m', 'examples/apps.json', '--group', 'external', '--out', 'x', '--', '--group']],
    ['a bare -m (it was the default Marathon)', ['--dry-run', '-m', '--group', 'external']],
    ['a bare -m last', ['--dry-run', '--group', 'external', '-m']],
    ['-m http:// (no host)', ['--dry-run', '-m', 'http://', '--group', 'external']],
    ['a bare number flag (it was the default)', ['--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--spare-slots']],
    ['--spare-slots beyond the server ids HAProxy takes', ['--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--spare-slots', '1100']],
    ['--spare-slots not whole', ['--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--spare-slots', '1.5']],
  ])('%s: exit 2, one E_USAGE line, nothing written', (_name, args) => {
    const cwd = mkdtempSync(join(tmp, 'usage-'));
    const r = spawnSync(process.execPath, [join(process.cwd(), BIN), ...args.map((a) => (a === 'examples/apps.json' ? join(process.cwd(), a) : a))], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mlb-ts: E_USAGE: [^\n]*\n$/);
    expect(r.stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('-m a FIFO (no writer): exit 1 at once, not a hang', () => {
    const fifo = join(tmp, 'apps.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = spawnSync(process.execPath, [BIN, '--dry-run', '-m', fifo, '--group', 'external'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/E_INPUT_UNREADABLE: cannot read \S+apps\.fifo: not a regular file/);
  });

  it('--out under /proc: one E_INSTALL line at once (Node 20\'s recursive mkdir looped there for ever)', () => {
    const r = spawnSync(process.execPath, [BIN, 'render', '-m', 'examples/apps.json', '--group', 'external', '--out', '/proc/no-such-dir/out'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^mlb-ts: E_INSTALL: cannot create --out \/proc\/no-such-dir\/out: /m);
  });

  it('--templates DIR: a dangling link named like no template is skipped; one named like a template is one E_TEMPLATE_DIR line', () => {
    const dir = join(tmp, 'links');
    mkdirSync(dir);
    symlinkSync('/no/such/file', join(dir, 'README'));
    const ok = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--ssl-certs', 'examples/certs/demo.pem', '--templates', dir);
    expect(ok.code, ok.stderr).toBe(0);
    symlinkSync('/no/such/file', join(dir, 'HAPROXY_HEAD'));
    const bad = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--ssl-certs', 'examples/certs/demo.pem', '--templates', dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^mlb-ts: E_TEMPLATE_DIR: cannot read the template \S+\/HAPROXY_HEAD: ENOENT/)]);
  });

  it('render --out writes the same bytes as the golden files', () => {
    const out = join(tmp, 'vhosts');
    const r = mlb('render', '-m', 'test/fixtures/haproxy-map/apps.json', '--out', out, '--group', 'external', '--haproxy-map', '--ssl-certs', 'test/fixtures/certs/default.pem');
    expect(r.code, r.stderr).toBe(0);
    // the golden config names out/golden/<case> as its directory; the bin was given `out`
    const golden = readFileSync('test/fixtures/haproxy-map/expected/haproxy.cfg', 'utf8').replaceAll('out/golden/haproxy-map', out);
    expect(readFileSync(join(out, 'haproxy.cfg'), 'utf8')).toBe(golden);
    expect(readFileSync(join(out, 'domain2backend.map'), 'utf8')).toBe(readFileSync('test/fixtures/haproxy-map/expected/domain2backend.map', 'utf8'));
  });

  it('render --out into the DIR of an earlier render with --haproxy-map --ipvs: the outputs it does not render are gone', () => {
    const out = join(tmp, 'again');
    const args = ['render', '-m', 'examples/apps.json', '--out', out, '--group', 'external', '--ssl-certs', 'test/fixtures/certs/default.pem'];
    expect(mlb(...args, '--haproxy-map', '--ipvs').code).toBe(0);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(readdirSync(out).sort()).toEqual(['app2backend.map', 'domain2backend.map', 'haproxy.cfg', 'haproxy.state', 'ipvs.rules', 'notes.txt', 'vips.hosts', 'vips.json']);
    const r = mlb(...args);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['haproxy.cfg', 'haproxy.state', 'notes.txt']);
  });

  it('render --out with a relative DIR: absolute references into DIR; haproxy -c passes from anywhere, without a warning', async () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), BIN), 'render', '-m', join(process.cwd(), 'examples/apps.json'), '--out', 'rel', '--group', 'external', '--haproxy-map', '--ssl-certs', join(process.cwd(), 'test/fixtures/certs/default.pem')], { cwd: tmp, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const config = readFileSync(join(tmp, 'rel', 'haproxy.cfg'), 'utf8');
    expect(config).toContain(`map(${join(tmp, 'rel')}/domain2backend.map)`);
    const check = await validateConfig(join(tmp, 'rel', 'haproxy.cfg'), 'haproxy', '/');
    expect(check.ok, check.output).toBe(true);
    expect(check.warnings).toEqual([]);
  });

  it.each<[string, (dir: string) => void]>([
    ['a file named templates is no template directory', (dir) => writeFileSync(join(dir, 'templates'), 'notes')],
    [
      "a copy of marathon-lb's templates directory, a README and names only marathon-lb renders among them",
      (dir) => {
        mkdirSync(join(dir, 'templates'));
        writeFileSync(join(dir, 'templates', 'README'), 'our overrides');
        writeFileSync(join(dir, 'templates', 'HAPROXY_MAP_HTTP_FRONTEND_ACL_ONLY'), '  use_backend %[req.hdr(host),lower,map({haproxy_dir}/domain2backend.map)]\n');
        writeFileSync(join(dir, 'templates', 'HAPROXY_HTTPS_FRONTEND_AUTH_REQUEST_ONLY'), '  http-request auth realm "{realm}" if {{ ssl_fc_sni {hostname} }} !auth_{cleanedUpHostname}\n');
      },
    ],
  ])('./templates, the default of --templates: %s → the dry run renders', (_name, setUp) => {
    const cwd = join(tmp, `cwd-${_name.length}`);
    mkdirSync(cwd);
    setUp(cwd);
    const r = spawnSync(process.execPath, [join(process.cwd(), BIN), '--dry-run', '-m', join(process.cwd(), 'examples/apps.json'), '--group', 'external'], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('backend httpi_3141');
  });

  it('--dry-run with a relative --haproxy-config prints what one-shot would install: references made absolute', () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), BIN), '--dry-run', '-m', join(process.cwd(), 'examples/apps.json'), '--group', 'external', '--haproxy-map', '--haproxy-config', 'dry/haproxy.cfg'], { cwd: tmp, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`map(${join(tmp, 'dry')}/domain2backend.map)`);
    expect(r.stdout).toContain(`server-state-file ${join(tmp, 'dry')}/haproxy.state`);
    expect(existsSync(join(tmp, 'dry'))).toBe(false);
  });

  it('--dry-run prints the config and writes nothing', () => {
    const r = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--haproxy-config', join(tmp, 'never', 'haproxy.cfg'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^global\n/);
    expect(r.stdout).toContain('backend httpi_3141');
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });

  it.each([
    ['not JSON', 'this is not json', /E_INPUT_NOT_JSON/],
    ['not a Marathon document', '{"items": []}', /E_INPUT_NOT_MARATHON/],
    ['missing', undefined, /E_INPUT_UNREADABLE/],
  ])('whole-input error (%s): exit 1, one line, nothing written', (_name, content, code) => {
    const doc = join(tmp, `doc-${String(_name).replace(/\W/g, '')}.json`);
    if (content !== undefined) writeFileSync(doc, content);
    const out = join(tmp, `out-${String(_name).replace(/\W/g, '')}`);
    const r = mlb('render', '-m', doc, '--out', out, '--group', 'external');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(code);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ['a missing file', ['/nonexistent'], "mlb-ts: E_INPUT_UNREADABLE: cannot read /nonexistent: ENOENT: no such file or directory, stat '/nonexistent'\n"],
    ['a file: URL on another host', ['file://otherhost/x.json'], 'mlb-ts: E_INPUT_UNREADABLE: cannot read file://otherhost/x.json: File URL host must be "localhost" or empty on linux\n'],
    [
      'two missing files',
      ['/nonexistent', '/nonexistent.2'],
      "mlb-ts: E_INPUT_UNREADABLE: no --marathon source could be read (/nonexistent: ENOENT: no such file or directory, stat '/nonexistent'; /nonexistent.2: ENOENT: no such file or directory, stat '/nonexistent.2')\n",
    ],
  ])('unreadable input (%s): exit 1, exactly this line', (_name, sources, line) => {
    const out = join(tmp, `out-unreadable-${sources.length}`);
    const r = mlb('render', ...sources.flatMap((m) => ['-m', m]), '--out', out, '--group', 'external');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(line);
    expect(existsSync(out)).toBe(false);
  });

  it('sources are tried in order: an unreadable file or refused URL first, the next source renders', async () => {
    const dead = `http://alice:s3cret@127.0.0.1:${await freePort()}`;
    const r = mlb('--dry-run', '-m', '/nonexistent', '-m', dead, '-m', 'examples/apps.json', '--group', 'external');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('backend httpi_3141');
  });

  it('a URL with user:password that fails: the error line shows the URL without them', async () => {
    const port = await freePort();
    const r = mlb('--dry-run', '-m', `http://alice:s3cret@127.0.0.1:${port}`, '--group', 'external');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mlb-ts: E_MARATHON_UNREACHABLE: no Marathon answered \\(http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\n$`));
  });

  it('one-shot: validates, installs, runs --command; a config HAProxy refuses leaves nothing behind', () => {
    const dir = join(tmp, 'oneshot');
    const log = join(tmp, 'reloads.log');
    const args = ['--group', 'external', '-m', 'examples/apps.json', '--haproxy-config', join(dir, 'haproxy.cfg'), '--command', `echo reload >> ${log}`];
    const ok = mlb(...args, '--ssl-certs', 'examples/certs/demo.pem');
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toContain('backend httpi_3141');
    expect(existsSync(join(dir, 'haproxy.state'))).toBe(true);
    const again = mlb(...args, '--ssl-certs', 'examples/certs/demo.pem');
    expect(again.stderr).toMatch(/already up to date; no reload/);
    expect(readFileSync(log, 'utf8')).toBe('reload\n');

    const refused = join(tmp, 'refused');
    const bad = mlb('--group', 'external', '-m', 'examples/apps.json', '--haproxy-config', join(refused, 'haproxy.cfg'), '--ssl-certs', join(tmp, 'no-such-cert.pem'), '--command', 'true');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/E_HAPROXY_INVALID: no app is to blame, HAProxy refuses the config of plain apps too \(flags, --templates files, global templates\): haproxy -c refused the config: .*no-such-cert\.pem/);
    expect(existsSync(refused)).toBe(false);
  });

  it("one-shot: a --templates file every backend goes through, refused by HAProxy, is no app's fault: exit 1, the installed config kept (not one without any app)", () => {
    const dir = join(tmp, 'bad-template-file');
    const args = ['--group', 'external', '-m', 'examples/apps.json', '--haproxy-config', join(dir, 'haproxy.cfg'), '--ssl-certs', 'examples/certs/demo.pem', '--command', 'true'];
    expect(mlb(...args).code).toBe(0);
    const installed = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    const templates = join(tmp, 'bad-backend-head');
    mkdirSync(templates, { recursive: true });
    writeFileSync(join(templates, 'HAPROXY_BACKEND_HEAD'), '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  bogus-keyword\n');
    const r = mlb(...args, '--templates', templates);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_HAPROXY_INVALID: no app is to blame, .*unknown keyword 'bogus-keyword'/);
    expect(r.stderr).not.toMatch(/dropped/);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe(installed);
  });

  it.each<[string, () => string]>([
    ['not JSON', () => {
      const f = join(tmp, 'not-json.json');
      writeFileSync(f, '{"apps": [');
      return f;
    }],
    ['not a Marathon document', () => {
      const f = join(tmp, 'not-marathon.json');
      writeFileSync(f, '{"foo": 1}');
      return f;
    }],
    ['an unreachable Marathon', () => 'http://127.0.0.1:9'],
  ])('one-shot with %s: exit 1, one error line, and no file made, not even the placeholder certificate (default --ssl-certs)', (_name, input) => {
    const dir = join(tmp, `untouched-${_name.replace(/\W+/g, '-')}`);
    const r = mlb('--group', 'external', '-m', input(), '--haproxy-config', join(dir, 'haproxy.cfg'), '--command', 'true');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^mlb-ts: E_(INPUT_NOT_JSON|INPUT_NOT_MARATHON|MARATHON_UNREACHABLE)/);
    expect(existsSync(dir)).toBe(false);
  });

  it('one-shot: each app port whose labels HAProxy refuses is dropped with one warning naming the app, the label and its own alert; the rest is installed and reloaded, exit 0', () => {
    const doc = JSON.parse(readFileSync('examples/apps.json', 'utf8')) as { apps: { id: string; labels?: Record<string, string>; tasks?: { appId?: string }[] }[] };
    const brokenApp = (id: string, word: string, port: number) => {
      const broken = structuredClone(doc.apps[0]) as (typeof doc.apps)[0];
      broken.id = id;
      broken.labels = { ...broken.labels, HAPROXY_0_BIND_OPTIONS: word, HAPROXY_0_PORT: String(port) };
      for (const t of broken.tasks ?? []) t.appId = broken.id;
      return broken;
    };
    const input = join(tmp, 'with-broken.json');
    writeFileSync(input, JSON.stringify({ apps: [...doc.apps, brokenApp('/broken-bind', 'no-such-bind-keyword', 11001), brokenApp('/broken-too', 'another-bad-word', 11002)] }));
    const dir = join(tmp, 'narrowed');
    const log = join(tmp, 'narrowed-reloads.log');
    const r = mlb('--group', 'external', '-m', input, '--haproxy-config', join(dir, 'haproxy.cfg'), '--ssl-certs', 'examples/certs/demo.pem', '--command', `echo reload >> ${log}`);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      expect.stringMatching(/^warning: E_HAPROXY_INVALID: app \/broken-bind HAPROXY_0_BIND_OPTIONS: port 0 dropped: haproxy -c refused the config: .*\[haproxy\.cfg:\d+\] : 'bind \*:11001' .*no-such-bind-keyword/),
      expect.stringMatching(/^warning: E_HAPROXY_INVALID: app \/broken-too HAPROXY_0_BIND_OPTIONS: port 0 dropped: haproxy -c refused the config: .*\[haproxy\.cfg:\d+\] : 'bind \*:11002' .*another-bad-word/),
    ]);
    // each line names only its own app's fault
    expect(warnings[0]).not.toContain('another-bad-word');
    expect(warnings[1]).not.toContain('no-such-bind-keyword');
    const installed = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    expect(installed).not.toContain('11001');
    expect(installed).not.toContain('11002');
    expect(installed).toContain('backend httpi_3141');
    expect(readFileSync(log, 'utf8')).toBe('reload\n');
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  describe('one-shot narrowing drops the port at fault, not a neighbour', () => {
    const port = (id: string, labels: Record<string, string>, ports: number[], extra: Record<string, unknown> = {}) => ({
      id,
      labels: { HAPROXY_GROUP: 'external', ...labels },
      portDefinitions: ports.map(() => ({ port: 0 })),
      tasks: [{ id: `${id.slice(1)}.1`, appId: id, host: '127.0.0.1', ports, state: 'TASK_RUNNING' }],
      ...extra,
    });
    const badAcl = '  acl host_{cleanedUpHostname} hdr(host) -i {hostname}\n  no-such-frontend-word\n';
    const blueGreen = { HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_APP_ID: '/shop' };
    it.each([
      {
        case: "blue/green sides on different port indexes: the broken older side's port, not the newer side's port 0",
        apps: [
          port('/blue', { ...blueGreen, HAPROXY_DEPLOYMENT_STARTED_AT: '2026-11-01T09:00:00Z', HAPROXY_0_PORT: '12000', HAPROXY_0_BIND_OPTIONS: 'no-such-bind-word' }, [31001]),
          port('/green', { ...blueGreen, HAPROXY_DEPLOYMENT_STARTED_AT: '2026-11-01T10:00:00Z', HAPROXY_0_PORT: '12100', HAPROXY_1_PORT: '12000' }, [31101, 31102]),
        ],
        dropped: [/app \/blue HAPROXY_0_BIND_OPTIONS: port 0 dropped/, /app \/green: port 1 dropped/],
        kept: ['backend shop_12100', '127.0.0.1:31101'],
      },
      {
        case: 'bisection: a port that lost its service port does not come back and get an innocent port blamed',
        apps: [
          port('/a', { HAPROXY_0_VHOST: 'a.example', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: '12001' }, [31000]),
          port('/b', { HAPROXY_0_VHOST: 'b.example', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: '12002', HAPROXY_0_HTTP_FRONTEND_ACL_ONLY: badAcl }, [31000]),
          { ...port('/w', { HAPROXY_0_VHOST: 'w.example', HAPROXY_0_MODE: 'http' }, [31000]), portDefinitions: [{ port: 12000 }] },
          port('/l', { HAPROXY_0_VHOST: 'l.example', HAPROXY_0_MODE: 'http', HAPROXY_0_PORT: '12000', HAPROXY_0_HTTP_FRONTEND_ACL_ONLY: badAcl }, [31000]),
        ],
        dropped: [/app \/b HAPROXY_0_HTTP_FRONTEND_ACL_ONLY: port 0 dropped/],
        kept: ['backend a_12001', 'backend w_12000'],
      },
    ])('$case', ({ apps, dropped, kept }) => {
      const input = join(tmp, 'narrow-neighbours.json');
      writeFileSync(input, JSON.stringify({ apps }));
      const dir = mkdtempSync(join(tmp, 'neighbours-'));
      const r = mlb('--group', 'external', '-m', input, '--haproxy-config', join(dir, 'haproxy.cfg'), '--ssl-certs', 'examples/certs/demo.pem', '--command', 'true');
      expect(r.code, r.stderr).toBe(0);
      const haproxyDrops = r.stderr.split('\n').filter((l) => l.startsWith('warning: E_HAPROXY_INVALID'));
      expect(haproxyDrops, r.stderr).toEqual(dropped.map((d) => expect.stringMatching(d)));
      const installed = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
      for (const k of kept) expect(installed).toContain(k);
    });
  });

  it("one-shot: a port whose label template HAProxy refuses is dropped alone; the app's other port is installed, and the warning names the label", () => {
    const task = (n: number) => ({ id: `two.${n}`, appId: '/two', host: '127.0.0.1', ports: [31100 + n, 31200 + n], state: 'TASK_RUNNING' });
    const app = {
      id: '/two',
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: '11010', HAPROXY_1_PORT: '11011', HAPROXY_1_BACKEND_HEAD: 'backend {{backend}}\n  balance {{balance}}\n  no-such-directive on\n' },
      portDefinitions: [{ port: 0 }, { port: 0 }],
      tasks: [task(1), task(2)],
    };
    const input = join(tmp, 'two-ports.json');
    writeFileSync(input, JSON.stringify({ apps: [app] }));
    const dir = join(tmp, 'two-ports');
    const r = mlb('--group', 'external', '-m', input, '--haproxy-config', join(dir, 'haproxy.cfg'), '--ssl-certs', 'examples/certs/demo.pem', '--command', 'true');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      expect.stringMatching(/^warning: E_HAPROXY_INVALID: app \/two HAPROXY_1_BACKEND_HEAD: port 1 dropped: haproxy -c refused the config: .*no-such-directive/),
    ]);
    const installed = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    expect(installed).toMatch(/^backend two_11010$/m);
    expect(installed).toContain('127.0.0.1:31101');
    expect(installed).not.toContain('11011');
    expect(installed).not.toContain('no-such-directive');
  });

  it.each<[string, () => string[], RegExp, () => void]>([
    ['--out under a file', () => ['render', '--out', '/etc/hostname/out'], /^mlb-ts: E_INSTALL: cannot create --out \/etc\/hostname\/out: ENOTDIR: /, () => undefined],
    [
      '--haproxy-config naming a directory',
      () => {
        mkdirSync(join(tmp, 'cfg-dir', 'haproxy.cfg'), { recursive: true });
        return ['--haproxy-config', join(tmp, 'cfg-dir', 'haproxy.cfg'), '--command', 'true'];
      },
      /^mlb-ts: E_INSTALL: --haproxy-config \S+cfg-dir\/haproxy\.cfg is a directory; it names the config file/,
      () => expect(readdirSync(join(tmp, 'cfg-dir')).sort()).toEqual(['haproxy.cfg']),
    ],
    [
      '--haproxy-bin that is not HAProxy',
      () => ['--haproxy-config', join(tmp, 'not-haproxy', 'haproxy.cfg'), '--haproxy-bin', '/bin/false', '--command', 'true'],
      /^mlb-ts: E_HAPROXY_MISSING: \/bin\/false -c exited with status 1 and printed nothing: not HAProxy\?/,
      () => expect(existsSync(join(tmp, 'not-haproxy'))).toBe(false),
    ],
  ])('%s: exit 1, one line with its code, nothing written', (_name, args, line, after) => {
    const r = mlb(...args(), '--group', 'external', '-m', 'examples/apps.json', '--ssl-certs', 'examples/certs/demo.pem');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    after();
  });

  it('--dry-run with a HAPROXY_0_SSL_CERT file that is not here: rendered, with one W_CERT_MISSING line naming app and label', () => {
    const input = join(tmp, 'ssl-cert.json');
    writeFileSync(input, JSON.stringify({ apps: [{ id: '/tls', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_SSL_CERT: '/no/such/tls.pem' }, portDefinitions: [{ port: 10001 }], tasks: [{ id: 'tls.1', host: '127.0.0.1', ports: [31001], state: 'TASK_RUNNING' }] }] }));
    const r = mlb('--dry-run', '-m', input, '--group', 'external', '--ssl-certs', 'examples/certs/demo.pem');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ssl crt /no/such/tls.pem');
    expect(r.stderr.trimEnd().split('\n')).toEqual(['warning: W_CERT_MISSING: app /tls HAPROXY_0_SSL_CERT: /no/such/tls.pem does not exist here; HAProxy refuses a config whose certificate it cannot read']);
  });

  it('--listen on a port already taken: exit 1, E_LISTEN naming the flag', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = spawnSync(process.execPath, [BIN, '--sse', '--group', 'external', '-m', 'examples/apps.json', '--listen', `127.0.0.1:${port}`, '--haproxy-config', join(tmp, 'listen', 'haproxy.cfg'), '--command', 'true', '--ssl-certs', 'examples/certs/demo.pem'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(1);
      // The daemon logs JSON lines on stdout.
      const failed = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; err?: string }).filter((l) => l.msg === 'cannot start');
      expect(failed.map((l) => l.err)).toEqual([expect.stringMatching(new RegExp(`^E_LISTEN: --listen 127\\.0\\.0\\.1:${port}: cannot listen \\(listen EADDRINUSE`))]);
      expect(existsSync(join(tmp, 'listen'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('a --templates override that only Handlebars can render (an {{else}}) renders through the bundled bin; the defaults alone never load Handlebars', () => {
    const dir = join(tmp, 'hbs-templates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'HAPROXY_BACKEND_HEAD.hbs'), '\nbackend {{backend}}\n  balance {{#if balance}}{{balance}}{{else}}roundrobin{{/if}}\n  mode {{mode}}\n');
    const withOverride = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--templates', dir);
    expect(withOverride.code, withOverride.stderr).toBe(0);
    const plain = mlb('--dry-run', '-m', 'examples/apps.json', '--group', 'external');
    expect(withOverride.stdout).toBe(plain.stdout);
    // Which modules a run loaded: Handlebars is a CommonJS package, so it shows in require.cache.
    const hook = join(tmp, 'loaded-hook.cjs');
    writeFileSync(hook, "process.on('exit', () => process.stderr.write(`\\nloaded: ${Object.keys(require.cache).filter((f) => f.includes('/handlebars/')).length} handlebars files\\n`));\n");
    const loaded = (...args: string[]) => spawnSync(process.execPath, ['--require', hook, BIN, ...args], { encoding: 'utf8', timeout: 30_000 }).stderr.match(/loaded: (\d+) handlebars files/)?.[1];
    expect(loaded('--dry-run', '-m', 'examples/apps.json', '--group', 'external')).toBe('0');
    expect(Number(loaded('--dry-run', '-m', 'examples/apps.json', '--group', 'external', '--templates', dir))).toBeGreaterThan(0);
  });

  it("render and --dry-run keep V8's young generation near its start size (src/io/heap.ts): 20 MB less peak RSS at 5,000 apps", () => {
    const doc = join(tmp, 'many-apps.json');
    const apps = Array.from({ length: 1500 }, (_, i) =>
      app(`/many/app-${i}`, withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `app${i}.example.com` }), withPortDefinitions(10000 + i), withTasks(...[1, 2, 3, 4].map((t) => task(`10.0.${t}.${i % 250}`, [31000 + t])))),
    );
    writeFileSync(doc, JSON.stringify({ apps }));
    // Preloaded into the bin's process: its young generation's size at exit.
    const hook = join(tmp, 'new-space-hook.mjs');
    writeFileSync(hook, "import { writeFileSync } from 'node:fs';\nimport { getHeapSpaceStatistics } from 'node:v8';\nprocess.on('exit', () => writeFileSync(process.env.NEW_SPACE_OUT, String(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)));\n");
    const newSpaceMb = (...args: string[]) => {
      const out = join(tmp, 'new-space');
      const r = spawnSync(process.execPath, ['--import', hook, BIN, ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 2 ** 20, env: { ...process.env, NEW_SPACE_OUT: out } });
      expect(r.status, r.stderr).toBe(0);
      return Number(readFileSync(out, 'utf8')) / 2 ** 20;
    };
    // 4 MB here (two semi-spaces near their start size); V8's default grows them to 2 × 16 MB on this document.
    expect(newSpaceMb('render', '-m', doc, '--group', 'external', '--out', join(tmp, 'many-out'))).toBeLessThanOrEqual(8);
    expect(newSpaceMb('--dry-run', '-m', doc, '--group', 'external')).toBeLessThanOrEqual(8);
  });

  it('an unreachable Marathon: exit 1 naming it', () => {
    const r = mlb('--dry-run', '-m', 'http://127.0.0.1:9', '--group', 'external');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_MARATHON_UNREACHABLE.*127\.0\.0\.1:9/);
  });
});
