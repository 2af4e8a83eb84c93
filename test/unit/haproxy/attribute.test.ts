import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blamedSections } from '../../../src/haproxy/attribute.js';
import { validateConfig } from '../../../src/haproxy/validate.js';
import { HAPROXY_BIN } from '../../helpers/haproxy.js';
import { freePorts } from '../../helpers/ports.js';

const tmp = mkdtempSync(join(tmpdir(), 'mlb-ts-attribute-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HEAD = ['global', '  maxconn 100', '', 'defaults', '  mode http', '  timeout connect 5s', '  timeout client 5s', '  timeout server 5s', ''];

/** `haproxy -c` on the config: its alerts, as validateConfig reports them. */
async function alertsFor(name: string, config: string): Promise<string[]> {
  const path = join(tmp, `${name}.cfg`);
  writeFileSync(path, config);
  const v = await validateConfig(path, HAPROXY_BIN);
  expect(v.ok, v.output).toBe(false);
  return v.alerts;
}

describe('blamedSections on real `haproxy -c` alerts', () => {
  it('parse errors: line numbers → the sections holding them, and only those', async () => {
    const config = [
      ...HEAD,
      'frontend fe_main',
      '  bind 127.0.0.1:1',
      '  default_backend good_1',
      '',
      'backend good_1',
      '  server s1 127.0.0.1:2',
      '',
      'backend web_10000',
      '  balance nosuchalgo',
      '  server s1 127.0.0.1:3',
      '',
      'backend api_10001',
      '  server s1 127.0.0.1:4 bogus-keyword',
      '',
      'backend good_2',
      '  server s1 127.0.0.1:5',
      '',
    ].join('\n');
    const alerts = await alertsFor('parse', config);
    // the balance error names only the file and line, not the backend
    const balanceLine = config.split('\n').indexOf('  balance nosuchalgo') + 1;
    expect(alerts.find((a) => a.includes('balance'))).toContain(`parse.cfg:${balanceLine}]`);
    expect(alerts.join('\n')).not.toContain('web_10000');
    expect(blamedSections(alerts, config)).toEqual(new Set(['web_10000', 'api_10001']));
  });

  it('errors found after parsing: the proxy names HAProxy quotes', async () => {
    const config = [
      ...HEAD,
      'frontend fe_missing',
      '  bind 127.0.0.1:1',
      '  default_backend nothere',
      '',
      'backend ok_1',
      '  server s 127.0.0.1:2',
      '',
      'backend auth_2',
      '  http-request auth if !{ http_auth(nolist) }',
      '  server s 127.0.0.1:3',
      '',
    ].join('\n');
    const alerts = await alertsFor('post', config);
    const blamed = blamedSections(alerts, config);
    expect(blamed.has('fe_missing')).toBe(true);
    expect(blamed.has('auth_2')).toBe(true);
    expect(blamed.has('ok_1')).toBe(false);
    expect(blamed.has('defaults')).toBe(false);
    expect(blamed.has('global')).toBe(false);
  });

  it('an error in a userlist blames the userlist', async () => {
    const config = [...HEAD, 'userlist users_3', '  frobnicate alice', '', 'backend b_1', '  server s 127.0.0.1:2', ''].join('\n');
    const alerts = await alertsFor('userlist', config);
    expect(blamedSections(alerts, config)).toEqual(new Set(['users_3']));
  });

  it('an error in the global section blames `global`', async () => {
    const config = ['global', '  nosuchglobalkeyword 1', '', ...HEAD.slice(3), 'backend b_1', '  server s 127.0.0.1:2', ''].join('\n');
    const alerts = await alertsFor('global', config);
    expect(blamedSections(alerts, config)).toEqual(new Set(['global']));
  });
});

describe('blamedSections on alert texts', () => {
  const config = ['global', '  daemon', 'defaults', '  mode http', 'frontend f1', '  bind :80', 'backend b1', '  server s 1.2.3.4:5', 'listen l1', '  bind :81', 'userlist u1', '  user a password x'].join('\n');
  it.each([
    ['no alerts', [], []],
    ['a line in a backend', ['config : parsing [/x/haproxy.cfg:8] : oops'], ['b1']],
    ['a line in a listen section', ['parsing [haproxy.cfg:10] : oops'], ['l1']],
    ['a line in a userlist', ['parsing [haproxy.cfg:12] : oops'], ['u1']],
    ['a section header line itself', ['parsing [haproxy.cfg:5] : oops'], ['f1']],
    ['global and defaults by their keyword', ['[haproxy.cfg:2] a', '[haproxy.cfg:4] b'], ['global', 'defaults']],
    ['a path with a colon in it', ['parsing [/tmp/a:b/haproxy.cfg:8] : oops'], ['b1']],
    ['a line past the end of the config', ['parsing [haproxy.cfg:99] : oops'], []],
    ['line 0', ['parsing [haproxy.cfg:0] : oops'], []],
    ['quoted proxy names, whatever the case', ["Proxy 'f1': unable to find required default_backend: 'x'.", "error detected in backend 'b9' while parsing"], ['f1', 'b9']],
    ["a quoted name after 'frontend' / 'userlist'", ["in frontend 'web'", "userlist 'ul'"], ['web', 'ul']],
    ['other quoted words are not names', ["unknown keyword 'bogus' in 'backend' section", "'server b1/s' : unknown keyword"], []],
    ['several alerts, several sections', ['parsing [c:6] : x', "in proxy 'b1'", 'parsing [c:8] : y'], ['f1', 'b1']],
    // what a start or reload that cannot bind says (HAProxy 2.6), and older wordings
    ['a bind failure: the line, not the address in brackets', ['Binding [/x/haproxy.cfg:6] for frontend f1: cannot bind socket (Address already in use) for [127.0.0.1:8]'], ['f1']],
    ['an address in brackets is no line number', ['cannot bind socket (Address already in use) for [127.0.0.1:8]', 'for [0.0.0.0:10]', 'for [:::12]', 'for [*:7]'], []],
    ['an unquoted name after "for frontend"/"for proxy"', ['cannot bind socket for frontend l1: oops', 'Starting proxy b1: cannot bind socket'], ['l1', 'b1']],
  ])('%s', (_name, alerts, want) => {
    expect([...blamedSections(alerts, config)].sort()).toEqual([...want].sort());
  });

  it('lines before any section blame nothing', () => {
    expect(blamedSections(['parsing [c:1] : x'], '# comment\nbackend b\n')).toEqual(new Set());
  });
});

describe('blamedSections on what a failed start says', () => {
  it('a port another process holds: the frontend binding it', async () => {
    const { createServer } = await import('node:net');
    const { spawnSync } = await import('node:child_process');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0, exclusive: true }, r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const [free] = (await freePorts(1)) as [number];
      const config = [...HEAD, 'frontend ok_1', `  bind 127.0.0.1:${free}`, '  http-request return status 200', '', 'frontend clash_2', `  bind 127.0.0.1:${port}`, '  http-request return status 200', ''].join('\n');
      const path = join(tmp, 'clash.cfg');
      writeFileSync(path, config);
      // -d: in the foreground; it exits at once, unable to bind
      const r = spawnSync(HAPROXY_BIN, ['-d', '-f', path], { encoding: 'utf8', timeout: 20_000 });
      const alerts = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('[ALERT]'));
      expect(alerts.join('\n')).toMatch(/cannot bind socket/);
      expect(blamedSections(alerts, config)).toEqual(new Set(['clash_2']));
    } finally {
      blocker.close();
    }
  });
});

describe('blamedSections, one config after another', () => {
  it('answers for the config it is given, not the one asked about before', () => {
    const a = ['frontend fa_1', '  bind 127.0.0.1:1', 'backend ba_1', '  bogus'].join('\n');
    const b = ['backend bb_2', '  bogus', 'frontend fb_2', '  bind 127.0.0.1:2'].join('\n');
    const alert = "config : parsing [haproxy.cfg:4] : unknown keyword 'bogus'";
    const cited = "config : parsing [haproxy.cfg:2] : unknown keyword 'bogus'";
    expect(blamedSections([alert], a)).toEqual(new Set(['ba_1']));
    expect(blamedSections([alert], b)).toEqual(new Set(['fb_2']));
    expect(blamedSections([cited], b)).toEqual(new Set(['bb_2']));
    expect(blamedSections([cited], a)).toEqual(new Set(['fa_1']));
  });
});
