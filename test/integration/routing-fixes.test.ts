import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarathonApp } from '../../src/marathon/types.js';
import { type Backend, type BackendOptions, type BackendReply, startBackend, stopAll } from '../helpers/backends.js';
import { app, task, withHealthChecks, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { checkRendered, retryWhilePortTaken, type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { jsonOf, replyOf, request, type RequestOptions, servedBy } from '../helpers/http.js';
import { boundPorts, freeLbAndServicePorts, type LbPorts, renderApps } from '../helpers/lb.js';

/**
 * The routing fixes end to end: multi-prefix HAPROXY_{n}_PATH, an overridden combined ACL
 * template with a redirect to https, app-id ACLs of ids that clean up alike, one host of several
 * certificates with --group-https-by-vhost, and REVPROXY_PATH leaving other hosts' redirects
 * alone. Each with apps whose tasks are real HTTP servers on loopback, rendered by the CLI and
 * served by the real HAProxy.
 */

/** One app of the group: a single port (HAPROXY_0_PORT on 127.0.0.1) and one task. */
interface AppSpec {
  id: string;
  backend: Backend;
  labels: Record<string, string>;
  /** More tasks of the app, each a backend of its own. */
  more?: Backend[];
}

interface Lb {
  ports: LbPorts;
  /** HAPROXY_0_PORT of each app, by app id. */
  service: Map<string, number>;
  dir: string;
  config: string;
  /** The `warning:` lines `mlb-ts render` printed (label values it rejected, …). */
  warnings: string[];
  haproxy: RunningHaproxy;
}

function servedApp(id: string, servicePort: number, labels: Record<string, string>, backend: Backend, more: Backend[] = []): MarathonApp {
  return app(
    id,
    // Marathon's service port is never bound: HAPROXY_0_PORT replaces it.
    withPortDefinitions(servicePort + 1),
    withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(servicePort), HAPROXY_0_BIND_ADDR: '127.0.0.1', ...labels }),
    withTasks(...[backend, ...more].map((b) => task('127.0.0.1', [b.port]))),
  );
}

let root = '';
const backends: Backend[] = [];
const running: RunningHaproxy[] = [];

async function backend(name: string, opts: Omit<BackendOptions, 'name'> = {}): Promise<Backend> {
  const b = await startBackend({ name, ...opts });
  backends.push(b);
  return b;
}

/**
 * Renders `specs` (group external) into a directory of its own, checks the config with
 * `haproxy -c` (no error, no warning) and runs HAProxy on it.
 */
async function startLb(name: string, specs: AppSpec[], extra: string[] = []): Promise<Lb> {
  const dir = join(root, name);
  mkdirSync(dir);
  return retryWhilePortTaken(async () => {
    const { ports, service: servicePorts } = await freeLbAndServicePorts(specs.length);
    const service = new Map(specs.map((s, i) => [s.id, servicePorts[i] as number]));
    const apps = specs.map((s) => servedApp(s.id, service.get(s.id) as number, s.labels, s.backend, s.more));
    const rendered = await renderApps(dir, apps, ports, ['--group', 'external', ...extra]);
    const warnings = rendered.run.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    // An app the renderer dropped would only show as HAProxy never binding its port.
    const unbound = specs.filter((s) => !rendered.config.includes(`\n  bind 127.0.0.1:${service.get(s.id) as number}`)).map((s) => s.id);
    if (unbound.length > 0) throw new Error(`the config serves no port for ${unbound.join(', ')}; mlb-ts render said:\n${warnings.join('\n')}`);
    const check = await checkRendered(dir);
    if (!check.ok || check.warnings.length > 0) throw new Error(`haproxy -c: ${check.output}\n--- haproxy.cfg ---\n${rendered.config}`);
    const haproxy = await startHaproxy(join(dir, 'haproxy.cfg'), { masterSocket: join(dir, 'master.sock'), ports: boundPorts(ports, servicePorts) });
    running.push(haproxy);
    return { ports, service, dir, config: rendered.config, warnings, haproxy };
  });
}

const viaHttp = (lb: Lb, hostHeader: string, path = '/'): RequestOptions => ({ port: lb.ports.http, hostHeader, path });
const viaHttps = (lb: Lb, servername: string, path = '/'): RequestOptions => ({ port: lb.ports.https, https: true, servername, hostHeader: servername, path });

/** The common name of the certificate the https port presents for SNI `servername`. */
function certificateFor(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = sock.getPeerCertificate().subject?.CN;
      sock.end();
      resolve(String(cn));
    });
    sock.setTimeout(5000, () => sock.destroy(new Error(`no TLS handshake with 127.0.0.1:${port} within 5000 ms`)));
    sock.once('error', reject);
  });
}

/** The TLS version a client limited to `maxVersion` gets for `servername`, or 'refused' when no handshake is possible. */
function tlsVersionFor(port: number, servername: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, maxVersion }, () => {
      const version = String(sock.getProtocol());
      sock.end();
      resolve(version);
    });
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.once('error', () => resolve('refused'));
  });
}

/** A self-signed certificate and its key in one PEM file, as HAProxy's `crt` takes it. */
function selfSignedPem(dir: string, host: string): string {
  const key = join(dir, `${host}.key`);
  const crt = join(dir, `${host}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`, '-keyout', key, '-out', crt], {
    stdio: 'ignore',
  });
  const pem = join(dir, `${host}.pem`);
  writeFileSync(pem, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
  return pem;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mlb-ts-routing-fixes-'));
});

afterAll(async () => {
  await Promise.allSettled(running.map((h) => h.stop()));
  await stopAll(backends);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('HAPROXY_0_PATH with several prefixes (path_beg arguments, -i first)', () => {
  let lb: Lb;

  beforeAll(async () => {
    lb = await startLb('paths', [
      { id: '/multi/paths', backend: await backend('multi-paths'), labels: { HAPROXY_0_VHOST: 'multi.test', HAPROXY_0_PATH: '-i /one /two' } },
      { id: '/multi/root', backend: await backend('multi-root'), labels: { HAPROXY_0_VHOST: 'multi.test' } },
      { id: '/order/a-or-deep', backend: await backend('a-or-deep'), labels: { HAPROXY_0_VHOST: 'order.test', HAPROXY_0_PATH: '/a /abc/def' } },
      { id: '/order/abc', backend: await backend('abc'), labels: { HAPROXY_0_VHOST: 'order.test', HAPROXY_0_PATH: '/abc' } },
      // Four short prefixes: the longer label value, but its longest prefix is shorter than /x/long.
      { id: '/order/short-ones', backend: await backend('short-ones'), labels: { HAPROXY_0_VHOST: 'order2.test', HAPROXY_0_PATH: '/x /y /z /w' } },
      { id: '/order/x-long', backend: await backend('x-long'), labels: { HAPROXY_0_VHOST: 'order2.test', HAPROXY_0_PATH: '/x/long' } },
    ]);
  });

  it('takes the label without a warning', () => {
    expect(lb.warnings).toEqual([]);
  });

  it('routes every prefix of the label to the app, ignoring case after -i; other paths of the host go to the app without a path', async () => {
    expect(await servedBy(viaHttp(lb, 'multi.test', '/one/x'))).toBe('multi-paths');
    expect(await servedBy(viaHttp(lb, 'multi.test', '/two'))).toBe('multi-paths');
    expect(await servedBy(viaHttp(lb, 'multi.test', '/TWO/y'))).toBe('multi-paths');
    expect(await servedBy(viaHttp(lb, 'multi.test', '/One'))).toBe('multi-paths');
    expect(await servedBy(viaHttp(lb, 'multi.test', '/three'))).toBe('multi-root');
    expect(await servedBy(viaHttp(lb, 'multi.test', '/'))).toBe('multi-root');
    // The app still has its own port.
    expect(replyOf(await request({ port: lb.service.get('/multi/paths') as number, path: '/anything' })).name).toBe('multi-paths');
  });

  it('routes the prefixes on the https port too (by SNI)', async () => {
    expect(await servedBy(viaHttps(lb, 'multi.test', '/one/x'))).toBe('multi-paths');
    expect(await servedBy(viaHttps(lb, 'multi.test', '/TWO/y'))).toBe('multi-paths');
    expect(await servedBy(viaHttps(lb, 'multi.test', '/three'))).toBe('multi-root');
  });

  it('orders the rules of a host by the longest prefix of each app', async () => {
    // /a /abc/def (longest 8) comes before /abc (4).
    expect(await servedBy(viaHttp(lb, 'order.test', '/abc/def/x'))).toBe('a-or-deep');
    expect(await servedBy(viaHttp(lb, 'order.test', '/a/x'))).toBe('a-or-deep');
    expect(await servedBy(viaHttps(lb, 'order.test', '/abc/def/x'))).toBe('a-or-deep');
    // /x/long (7) comes before /x /y /z /w (longest 2), though that label value is longer.
    expect(await servedBy(viaHttp(lb, 'order2.test', '/x/long/1'))).toBe('x-long');
    expect(await servedBy(viaHttps(lb, 'order2.test', '/x/long/1'))).toBe('x-long');
    expect(await servedBy(viaHttp(lb, 'order2.test', '/x/other'))).toBe('short-ones');
    expect(await servedBy(viaHttp(lb, 'order2.test', '/w'))).toBe('short-ones');
    expect(await servedBy(viaHttp(lb, 'order2.test', '/v'))).toBe('503');
  });
});

describe('HAPROXY_0_HTTP_FRONTEND_ACL overridden together with HAPROXY_0_REDIRECT_TO_HTTPS', () => {
  let lb: Lb;
  const HANDLEBARS_ACL = '  acl host_{{cleanedUpHostname}} hdr(host),field(1,:) -i {{hostname}}\n  use_backend {{backend}} if host_{{cleanedUpHostname}}\n';
  const MARATHON_LB_ACL = '  acl host_{cleanedUpHostname} hdr(host),field(1,:) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname}\n';

  beforeAll(async () => {
    // startLb fails unless `haproxy -c` passes without a warning (it said "no such ACL").
    lb = await startLb('redirect-acl', [
      { id: '/redir/hbs', backend: await backend('redir-hbs'), labels: { HAPROXY_0_VHOST: 'hbs.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', HAPROXY_0_HTTP_FRONTEND_ACL: HANDLEBARS_ACL } },
      { id: '/redir/mlb', backend: await backend('redir-mlb'), labels: { HAPROXY_0_VHOST: 'mlb.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', HAPROXY_0_HTTP_FRONTEND_ACL: MARATHON_LB_ACL } },
      { id: '/plain/override', backend: await backend('plain-override'), labels: { HAPROXY_0_VHOST: 'over.test', HAPROXY_0_HTTP_FRONTEND_ACL: MARATHON_LB_ACL } },
    ]);
  });

  it('renders a config haproxy -c accepts without a warning, and takes the labels without a warning', async () => {
    const check = await checkRendered(lb.dir);
    expect(check.ok, check.output).toBe(true);
    expect(check.warnings).toEqual([]);
    expect(lb.warnings).toEqual([]);
  });

  it('redirects http to https (301, same host and path), whichever format the override is in', async () => {
    for (const host of ['hbs.test', 'mlb.test']) {
      const res = await request(viaHttp(lb, host, '/x?y=1'));
      expect(res.status, `${host}: ${res.body}`).toBe(301);
      expect(res.headers.location).toBe(`https://${host}/x?y=1`);
    }
  });

  it('serves the apps over https (SNI)', async () => {
    expect(await servedBy(viaHttps(lb, 'hbs.test', '/x'))).toBe('redir-hbs');
    expect(await servedBy(viaHttps(lb, 'mlb.test', '/x'))).toBe('redir-mlb');
  });

  it('still routes an app with the override and no redirect over http', async () => {
    expect(await servedBy(viaHttp(lb, 'over.test', '/x'))).toBe('plain-override');
    expect(await servedBy(viaHttp(lb, 'nobody.test', '/x'))).toBe('503');
  });
});

describe('X-Marathon-App-Id of app ids that clean up to the same text', () => {
  let lb: Lb;

  beforeAll(async () => {
    lb = await startLb('app-ids', [
      { id: '/team/api', backend: await backend('team/api'), labels: { HAPROXY_0_MODE: 'http' } },
      { id: '/team-api', backend: await backend('team-api'), labels: { HAPROXY_0_MODE: 'http' } },
      { id: '/team.api', backend: await backend('team.api'), labels: { HAPROXY_0_MODE: 'http' } },
    ]);
  });

  it('sends each app id to its own app on the app-id port', async () => {
    const byAppId = (id: string) => servedBy({ port: lb.ports.appId, headers: { 'x-marathon-app-id': id } });
    expect(await byAppId('/team/api')).toBe('team/api');
    expect(await byAppId('/team-api')).toBe('team-api');
    expect(await byAppId('/team.api')).toBe('team.api');
    expect(await byAppId('/TEAM/API')).toBe('team/api');
    expect(await byAppId('/team_api')).toBe('503');
    expect(await byAppId('/team')).toBe('503');
  });
});

describe('--group-https-by-vhost with one host served by apps of different certificates', () => {
  let lb: Lb;

  // Its abns@ sockets have the names every grouped config uses: stopped before the next one starts.
  afterAll(() => lb?.haproxy.stop());

  beforeAll(async () => {
    const aCert = selfSignedPem(root, 'a.test');
    lb = await startLb(
      'group-https',
      [
        { id: '/web', backend: await backend('web'), labels: { HAPROXY_0_VHOST: 'a.test', HAPROXY_0_SSL_CERT: aCert } },
        { id: '/api', backend: await backend('api'), labels: { HAPROXY_0_VHOST: 'a.test', HAPROXY_0_PATH: '/api' } },
        { id: '/b', backend: await backend('b'), labels: { HAPROXY_0_VHOST: 'b.test' } },
      ],
      ['--group-https-by-vhost'],
    );
  });

  it('routes every path of the host over https (SNI a.test): / to /web, /api/x to /api', async () => {
    expect(await servedBy(viaHttps(lb, 'a.test', '/'))).toBe('web');
    expect(await servedBy(viaHttps(lb, 'a.test', '/page'))).toBe('web');
    expect(await servedBy(viaHttps(lb, 'a.test', '/api/x'))).toBe('api');
    expect(await servedBy(viaHttps(lb, 'b.test', '/'))).toBe('b');
  });

  it("presents the host's own certificate for its SNI, the default one for other hosts", async () => {
    expect(await certificateFor(lb.ports.https, 'a.test')).toBe('a.test');
    expect(await certificateFor(lb.ports.https, 'b.test')).toBe('default.mlb-ts.test');
  });

  it('routes the same paths over plain http', async () => {
    expect(await servedBy(viaHttp(lb, 'a.test', '/'))).toBe('web');
    expect(await servedBy(viaHttp(lb, 'a.test', '/api/x'))).toBe('api');
  });
});

describe("--group-https-by-vhost: one app's BIND_OPTIONS stay on its own hosts", () => {
  let lb: Lb;

  // Its abns@ sockets have the names every grouped config uses: stopped before the next one starts.
  afterAll(() => lb?.haproxy.stop());

  beforeAll(async () => {
    // Valid each on its own; on one bind line together they disable every TLS version.
    lb = await startLb(
      'group-https-bind-options',
      [
        { id: '/strict', backend: await backend('strict'), labels: { HAPROXY_0_VHOST: 'strict.test', HAPROXY_0_BIND_OPTIONS: 'ssl-min-ver TLSv1.3' } },
        { id: '/legacy', backend: await backend('legacy'), labels: { HAPROXY_0_VHOST: 'legacy.test', HAPROXY_0_BIND_OPTIONS: 'ssl-max-ver TLSv1.2' } },
        { id: '/plain', backend: await backend('plain'), labels: { HAPROXY_0_VHOST: 'plain.test' } },
      ],
      ['--group-https-by-vhost'],
    );
  });

  it('serves every host over https', async () => {
    expect(await servedBy(viaHttps(lb, 'strict.test', '/'))).toBe('strict');
    expect(await servedBy(viaHttps(lb, 'legacy.test', '/'))).toBe('legacy');
    expect(await servedBy(viaHttps(lb, 'plain.test', '/'))).toBe('plain');
  });

  it.each<[string, 'TLSv1.2' | 'TLSv1.3', string]>([
    ['strict.test', 'TLSv1.2', 'refused'],
    ['strict.test', 'TLSv1.3', 'TLSv1.3'],
    ['legacy.test', 'TLSv1.3', 'TLSv1.2'],
    ['plain.test', 'TLSv1.2', 'TLSv1.2'],
    ['plain.test', 'TLSv1.3', 'TLSv1.3'],
  ])('%s with a client up to %s: %s', async (host, maxVersion, expected) => {
    expect(await tlsVersionFor(lb.ports.https, host, maxVersion)).toBe(expected);
  });
});

describe('HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH rewrites only relative redirects and those to the service itself', () => {
  let lb: Lb;

  beforeAll(async () => {
    const redirect = (location: string) => ({ status: 302, headers: { location } });
    const legacy = await backend('legacy', {
      replies: {
        '/relative': redirect('/login'),
        '/own-host': redirect('http://legacy.test/x'),
        '/own-host-port': redirect('https://legacy.test:8443/x?y=1'),
        '/second-vhost': redirect('http://old.legacy.test/x'),
        '/wildcard-vhost': redirect('http://app.wild.test/x'),
        '/other-host': redirect('https://login.other.org/auth?x=1'),
        '/lookalike-host': redirect('http://legacy.test.evil.org/x'),
        '/content-location': { headers: { 'content-location': 'http://legacy.test/doc', location: 'https://login.other.org/' } },
      },
    });
    lb = await startLb('revproxy', [
      { id: '/legacy', backend: legacy, labels: { HAPROXY_0_VHOST: 'legacy.test,old.legacy.test,*.wild.test', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/ui' } },
    ]);
  });

  const locationOf = async (path: string): Promise<string | undefined> => {
    const res = await request(viaHttp(lb, 'legacy.test', path));
    expect(res.status, res.body).toBe(302);
    expect(jsonOf<BackendReply>(res).name).toBe('legacy');
    return res.headers.location;
  };

  it('puts the path in front of a relative Location', async () => {
    expect(await locationOf('/relative')).toBe('/ui/login');
  });

  it("puts the path in front of an absolute Location on one of the service's vhosts, a port kept", async () => {
    expect(await locationOf('/own-host')).toBe('http://legacy.test/ui/x');
    expect(await locationOf('/own-host-port')).toBe('https://legacy.test:8443/ui/x?y=1');
    expect(await locationOf('/second-vhost')).toBe('http://old.legacy.test/ui/x');
    expect(await locationOf('/wildcard-vhost')).toBe('http://app.wild.test/ui/x');
  });

  it('leaves a Location on another host unchanged', async () => {
    expect(await locationOf('/other-host')).toBe('https://login.other.org/auth?x=1');
    expect(await locationOf('/lookalike-host')).toBe('http://legacy.test.evil.org/x');
  });

  it('rewrites Content-Location the same way, on the service port as well', async () => {
    for (const o of [viaHttp(lb, 'legacy.test', '/content-location'), { port: lb.service.get('/legacy') as number, path: '/content-location' }]) {
      const res = await request(o);
      expect(replyOf(res).name).toBe('legacy');
      expect(res.headers['content-location']).toBe('http://legacy.test/ui/doc');
      expect(res.headers.location).toBe('https://login.other.org/');
    }
  });
});

describe('label values HAProxy would read as its own syntax reach it as literal text', () => {
  let lb: Lb;

  beforeAll(async () => {
    lb = await startLb('literals', [
      // A redirect location and a header rewrite are log-format strings: % starts an expression there.
      { id: '/redir', backend: await backend('redir'), labels: { HAPROXY_0_VHOST: 'redir.test', HAPROXY_0_HTTP_BACKEND_REDIR: '/landing%20page' } },
      {
        id: '/revproxy',
        backend: await backend('revproxy', { replies: { '/login': { status: 302, headers: { location: '/login' } } } }),
        labels: { HAPROXY_0_VHOST: 'revproxy.test', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/%[src]' },
      },
      // replace-path takes a regex: '.', '(' and ')' are only themselves.
      { id: '/proxypass', backend: await backend('proxypass'), labels: { HAPROXY_0_VHOST: 'proxypass.test', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/v1.0(beta)' } },
      // uri hashing reads the HTTP request: in mode tcp, HAProxy would warn; mlb-ts says so and uses roundrobin.
      { id: '/tcp-uri', backend: await backend('tcp-uri'), labels: { HAPROXY_0_MODE: 'tcp', HAPROXY_0_BALANCE: 'uri whole' } },
    ]);
  });

  it('haproxy -c accepts the config without a warning (startLb checks); mlb-ts warns once, about the tcp balance', () => {
    expect(lb.warnings).toEqual([`warning: W_LABEL_IGNORED: app /tcp-uri HAPROXY_0_BALANCE: 'uri whole' reads HTTP requests: needs mode http; roundrobin in mode tcp`]);
    expect(lb.config).toMatch(/\n {2}http-request redirect location \/landing%%20page code 301 if \{ path \/ \} \{ hdr\(host\),field\(1,:\),lower -m reg \^\(redir\[\.\]test\)\$ \}\n/);
  });

  it('redirects / to the path as written, percent-encoding kept', async () => {
    const res = await request(viaHttp(lb, 'redir.test', '/'));
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/landing%20page');
  });

  it("redirects only for the app's vhost, as marathon-lb did: another Host on the service port reaches the app", async () => {
    const port = lb.service.get('/redir') as number;
    expect((await request({ port, hostHeader: 'redir.test:8080', path: '/' })).status).toBe(301);
    expect(await servedBy({ port, hostHeader: 'elsewhere.test', path: '/' })).toBe('redir');
  });

  it('sends the vhost as Host to a proxypass app, as marathon-lb did, also through the service port', async () => {
    const reply = replyOf(await request({ port: lb.service.get('/proxypass') as number, hostHeader: '127.0.0.1', path: '/v1.0(beta)/items' }));
    expect(reply.path).toBe('/items');
    expect(reply.headers.host).toBe('proxypass.test');
  });

  it('puts the revproxy path in front of a Location as written, not as an expression HAProxy fills in', async () => {
    const res = await request(viaHttp(lb, 'revproxy.test', '/login'));
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/%[src]/login');
  });

  it('strips the proxypass prefix only where the path has it letter for letter', async () => {
    expect(replyOf(await request(viaHttp(lb, 'proxypass.test', '/v1.0(beta)/items'))).path).toBe('/items');
    expect(replyOf(await request(viaHttp(lb, 'proxypass.test', '/v1x0(beta)/items'))).path).toBe('/v1x0(beta)/items');
    expect(replyOf(await request(viaHttp(lb, 'proxypass.test', '/v1.0beta/items'))).path).toBe('/v1.0beta/items');
  });
});

describe.each([
  ['ACLs', []],
  ['--haproxy-map', ['--haproxy-map']],
  ['--group-https-by-vhost', ['--group-https-by-vhost']],
])('a wildcard vhost (*.wild.test) with %s', (_name, flags) => {
  let lb: Lb;

  afterAll(() => lb?.haproxy.stop());

  beforeAll(async () => {
    lb = await startLb(`wildcard-${flags.join('').replace(/\W/g, '') || 'acls'}`, [
      { id: '/wild', backend: await backend('wild'), labels: { HAPROXY_0_VHOST: '*.wild.test' } },
      // An exact host under the wildcard: its own app, whatever the order of names or weights.
      { id: '/a-exact', backend: await backend('exact'), labels: { HAPROXY_0_VHOST: 'api.wild.test' } },
      // A wildcard that redirects to https, and an exact host under it that doesn't.
      { id: '/secure-wild', backend: await backend('secure-wild'), labels: { HAPROXY_0_VHOST: '*.secure.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' } },
      { id: '/secure-www', backend: await backend('secure-www'), labels: { HAPROXY_0_VHOST: 'www.secure.test' } },
    ], flags);
  });

  it("redirects the wildcard's hosts to https, not the exact host under it", async () => {
    const redirected = await request(viaHttp(lb, 'shop.secure.test', '/x'));
    expect(redirected.status).toBe(301);
    expect(redirected.headers.location).toBe('https://shop.secure.test/x');
    expect(await servedBy(viaHttp(lb, 'www.secure.test'))).toBe('secure-www');
    expect(await servedBy(viaHttps(lb, 'shop.secure.test'))).toBe('secure-wild');
  });

  it('routes any one-label-deeper host to the wildcard app, the exact host to its own app (http and https)', async () => {
    for (const via of [viaHttp, viaHttps]) {
      expect(await servedBy(via(lb, 'shop.wild.test'))).toBe('wild');
      expect(await servedBy(via(lb, 'a.b.wild.test'))).toBe('wild');
      expect(await servedBy(via(lb, 'api.wild.test'))).toBe('exact');
    }
  });

  it('does not take the bare domain or a look-alike', async () => {
    for (const host of ['wild.test', 'notwild.test', 'shop.wild.test.evil.org']) expect(await servedBy(viaHttp(lb, host)), host).toBe('503');
  });
});

describe('HAPROXY_0_STICKY: the cookie marathon-lb issued keeps its server after the switch', () => {
  let lb: Lb;
  let tasks: Backend[];

  beforeAll(async () => {
    tasks = [await backend('sticky-a'), await backend('sticky-b'), await backend('sticky-c')];
    lb = await startLb('sticky', [{ id: '/sticky', backend: tasks[0] as Backend, more: tasks.slice(1), labels: { HAPROXY_0_VHOST: 'sticky.test', HAPROXY_0_STICKY: 'true' } }]);
  });

  it.each([0, 1, 2])("task %d: marathon-lb's value for it (SHA-1 of 127_0_0_1_PORT, 10 digits) reaches it every time", async (k) => {
    const b = tasks[k] as Backend;
    const cookie = `mesosphere_server_id=${createHash('sha1').update(`127_0_0_1_${b.port}`).digest('hex').slice(0, 10)}`;
    for (let i = 0; i < 4; i++) expect(await servedBy({ ...viaHttp(lb, 'sticky.test'), headers: { cookie } })).toBe(b.name);
  });
});

describe('HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX with a task of the version before that port existed', () => {
  it('the task without the port is served unchecked (its serving port answers 503 to the check path): both tasks get traffic, with one warning', async () => {
    const [fresh, freshHealth, old] = [await backend('fresh'), await backend('fresh-health'), await backend('old', { replies: { '/health': { status: 503 } } })];
    const dir = join(root, 'check-port');
    mkdirSync(dir);
    const lb = await retryWhilePortTaken(async () => {
      const { ports, service: [servicePort] } = await freeLbAndServicePorts(1);
      const checked = app(
        '/checked',
        withPortDefinitions((servicePort as number) + 1, (servicePort as number) + 2),
        withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(servicePort), HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_MODE: 'http', HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1', HAPROXY_1_ENABLED: 'false' }),
        withHealthChecks({ protocol: 'HTTP', path: '/health', portIndex: 1, intervalSeconds: 1, maxConsecutiveFailures: 0 }),
        withTasks(task('127.0.0.1', [fresh.port, freshHealth.port]), task('127.0.0.1', [old.port])),
      );
      const rendered = await renderApps(dir, [checked], ports, ['--group', 'external']);
      const check = await checkRendered(dir);
      if (!check.ok) throw new Error(`haproxy -c: ${check.output}`);
      const haproxy = await startHaproxy(join(dir, 'haproxy.cfg'), { masterSocket: join(dir, 'master.sock'), ports: boundPorts(ports, [servicePort as number]) });
      running.push(haproxy);
      return { rendered, servicePort: servicePort as number };
    });
    expect(lb.rendered.run.stderr).toMatch(/warning: W_CHECK_PORT_MISSING: app \/checked HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: 1 task has no port at the health-check port index: served on port 0 without a health check/);
    expect(lb.rendered.config).toMatch(new RegExp(`server 127_0_0_1_${fresh.port} 127\\.0\\.0\\.1:${fresh.port} id \\d+ check .*port ${freshHealth.port}\\n`));
    expect(lb.rendered.config).toMatch(new RegExp(`server 127_0_0_1_${old.port} 127\\.0\\.0\\.1:${old.port} id \\d+\\n`));
    // Checks every second, one failure marks a server down: give them three.
    await new Promise((r) => setTimeout(r, 3000));
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) served.add(await servedBy({ port: lb.servicePort }));
    expect([...served].sort()).toEqual(['fresh', 'old']);
    expect(freshHealth.requests.some((r) => r.path === '/health')).toBe(true);
    expect(old.requests.some((r) => r.path === '/health')).toBe(false);
  }, 30_000);
});
