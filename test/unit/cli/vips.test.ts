import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipvsFiles, renderVipTable, vipOutputs } from '../../../src/cli/vips.js';
import type { AppsDocument } from '../../../src/marathon/types.js';
import type { VipModel } from '../../../src/model/vips.js';
import { runCli } from '../../helpers/cli.js';

const be = (ip: string, port: number, weight: 0 | 1) => ({ ip, port, weight, appId: '/a', taskId: 't' });

describe('renderVipTable', () => {
  const cases: [string, VipModel, string][] = [
    ['no VIPs', { vips: [] }, 'NAME  ADDRESS  PROTOCOL  BACKEND  WEIGHT\n(no VIP_n labels)\n'],
    [
      'named VIP with backends, IP VIP without',
      {
        vips: [
          { name: 'a.marathon.l4lb.thisdcos.directory', ip: '11.0.0.1', port: 80, protocol: 'tcp', apps: ['/a'], backends: [be('10.0.0.1', 31000, 1), be('10.0.0.2', 31000, 0)] },
          { ip: '10.21.1.15', port: 6666, protocol: 'udp', apps: ['/b'], backends: [] },
        ],
      },
      [
        'NAME                                ADDRESS          PROTOCOL  BACKEND         WEIGHT',
        'a.marathon.l4lb.thisdcos.directory  11.0.0.1:80      tcp       10.0.0.1:31000  1',
        '                                                               10.0.0.2:31000  0',
        '-                                   10.21.1.15:6666  udp       -               -',
        '',
      ].join('\n'),
    ],
  ];
  it.each(cases)('%s', (_name, model, want) => expect(renderVipTable(model)).toBe(want));
});

describe('vipOutputs / ipvsFiles', () => {
  it('gives ipvs.rules, vips.hosts and vips.json of the document, with its warnings', () => {
    const doc = JSON.parse(readFileSync('test/fixtures/httpi-bridge-vip/apps.json', 'utf8')) as AppsDocument;
    const out = vipOutputs(doc);
    expect(out.files.map((f) => f.name)).toEqual(['ipvs.rules', 'vips.hosts', 'vips.json']);
    expect(out.files.map((f) => f.content)).toEqual(['ipvs.rules', 'vips.hosts', 'vips.json'].map((f) => readFileSync(`test/fixtures/httpi-bridge-vip/expected/${f}`, 'utf8')));
    expect(out.warnings).toEqual([]);
    expect(ipvsFiles(doc)).toEqual(out.files);
  });

  it('passes agent host names through resolveHost', () => {
    const doc = JSON.parse(readFileSync('test/fixtures/myservice-portdefinitions/apps.json', 'utf8')) as AppsDocument;
    for (const t of doc.apps[0]?.tasks ?? []) t.host = `agent-${t.host}`;
    const rules = ipvsFiles(doc, (h) => h.replace(/^agent-/, ''))[0]?.content;
    expect(rules).toBe(readFileSync('test/fixtures/myservice-portdefinitions/expected/ipvs.rules', 'utf8'));
  });
});

describe('mlb-ts vips', () => {
  const fixture = 'test/fixtures/httpi-bridge-external/apps.json';

  it('prints the table; --group is not needed and does not filter', async () => {
    const run = await runCli(['vips', '-m', fixture]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ADDRESS\s+PROTOCOL\s+BACKEND\s+WEIGHT$/);
    expect(lines[1]).toMatch(/^httpi\.marathon\.l4lb\.thisdcos\.directory\s+11\.\d+\.\d+\.\d+:3141\s+tcp\s+172\.16\.15\.168:9896\s+1$/);
    expect(lines.slice(2).map((l) => l.trim())).toEqual(['172.16.15.168:26186  1', '172.16.17.198:8584   1', '172.16.40.67:7143    1', '172.16.40.67:14666   1']);
    const grouped = await runCli(['vips', '-m', fixture, '--group', 'nobody']);
    expect(grouped.stdout).toBe(run.stdout);
  });

  it('--json prints vips.json', async () => {
    const run = await runCli(['vips', '--json', '-m', fixture]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(readFileSync('test/fixtures/httpi-bridge-external/expected/vips.json', 'utf8'));
  });

  it('prints bad-label warnings on stderr and still exits 0', async () => {
    const run = await runCli(['vips', '-m', 'test/fixtures/vips-mixed/apps.json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(readFileSync('test/fixtures/vips-mixed/expected/vips-warnings.txt', 'utf8'));
    expect(run.stdout).toContain('infradns.marathon.l4lb.thisdcos.directory');
  });

  it.each([
    ['a missing file', ['-m', 'test/fixtures/no-such/apps.json'], 1, /E_INPUT_UNREADABLE/],
    ['an unknown flag', ['--no-such-flag'], 2, /Unknown argument/i],
  ])('exits non-zero on %s', async (_name, args, code, stderr) => {
    const run = await runCli(['vips', ...args]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(stderr);
    expect(run.stdout).toBe('');
  });

  describe('from an HTTP Marathon on loopback with Basic auth', () => {
    let server: Server;
    let url = '';
    const seen: (string | undefined)[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'mlbts-vips-'));
    const cred = join(dir, 'cred');

    beforeAll(async () => {
      writeFileSync(cred, 'marathon:s3cret\n');
      const body = readFileSync(fixture);
      server = createServer((req, res) => {
        seen.push(req.headers.authorization);
        const ok = req.headers.authorization === `Basic ${Buffer.from('marathon:s3cret').toString('base64')}` && req.url === '/v2/apps?embed=apps.tasks';
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? body : '{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('takes the render flags (-m, --marathon-auth-credential-file)', async () => {
      const run = await runCli(['vips', '--json', '-m', url, '--marathon-auth-credential-file', cred]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(readFileSync('test/fixtures/httpi-bridge-external/expected/vips.json', 'utf8'));
      expect(seen.at(-1)).toMatch(/^Basic /);
    });

    it('without the credential Marathon refuses and the command exits 1', async () => {
      const run = await runCli(['vips', '-m', url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/401/);
    });
  });
});
