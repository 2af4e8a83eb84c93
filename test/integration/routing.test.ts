import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarathonApp } from '../../src/marathon/types.js';
import { type Backend, startBackend, stopAll } from '../helpers/backends.js';
import { app, type AppPart, inState, task, type TaskPart, withHealth, withHealthChecks, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { checkRendered, retryWhilePortTaken, type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { replyOf, request, type RequestOptions, servedBy } from '../helpers/http.js';
import { boundPorts, freeLbAndServicePorts, type LbPorts, renderApps } from '../helpers/lb.js';

/**
 * Routing end to end: Marathon apps whose tasks are real HTTP servers on loopback, rendered by
 * the CLI, served by the real HAProxy, probed with real requests.
 */

const PASSWORD = 'open-sesame';
/** SHA-512 crypt of PASSWORD, made by openssl as an operator would. */
const HASH = execFileSync('openssl', ['passwd', '-6', '-salt', 'mlbtsalt', PASSWORD], { encoding: 'utf8' }).trim();

const BACKEND_NAMES = [
  'web', 'blog', 'api-root', 'v1', 'v2-long', 'v2-short', 'w-deep', 'w-heavy', 'tcp', 'secret', 'denied', 'allowed',
  'tcp-denied', 'shop', 'pp', 'rd', 'pool-ok-1', 'pool-ok-2', 'pool-sick', 'pool-killing', 'pool-staging', 'pool-unchecked',
] as const;
type BackendName = (typeof BACKEND_NAMES)[number];
type Backends = Record<BackendName, Backend>;

/** The apps under test, each served port named by its app id. */
interface Lb {
  ports: LbPorts;
  /** HAPROXY_0_PORT of each app, by app id. */
  service: Map<string, number>;
  dir: string;
  config: string;
  haproxy: RunningHaproxy;
}

function servedApp(id: string, servicePort: number, labels: Record<string, string>, tasks: [Backend, ...TaskPart[]][], ...parts: AppPart[]): MarathonApp {
  return app(
    id,
    // Marathon's service port is never bound: HAPROXY_0_PORT replaces it.
    withPortDefinitions(servicePort + 1),
    withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(servicePort), HAPROXY_0_BIND_ADDR: '127.0.0.1', ...labels }),
    withTasks(...tasks.map(([b, ...t]) => task('127.0.0.1', [b.port], ...t))),
    ...parts,
  );
}

const APP_IDS = [
  '/web', '/blog', '/api/root', '/api/v1', '/api/v2', '/api/v2-short', '/w/deep', '/w/heavy', '/tcp', '/secret', '/denied',
  '/allowed', '/tcp-denied', '/shop', '/pp', '/rd', '/pool', '/other-group',
];

function appsOf(b: Backends, port: (id: string) => number): MarathonApp[] {
  const one = (id: string, backend: Backend, labels: Record<string, string>) => servedApp(id, port(id), labels, [[backend]]);
  return [
    one('/web', b.web, { HAPROXY_0_VHOST: 'web.test,www.web.test' }),
    one('/blog', b.blog, { HAPROXY_0_VHOST: 'blog.test' }),
    one('/api/root', b['api-root'], { HAPROXY_0_VHOST: 'api.test' }),
    one('/api/v1', b.v1, { HAPROXY_0_VHOST: 'api.test', HAPROXY_0_PATH: '/v1' }),
    one('/api/v2', b['v2-long'], { HAPROXY_0_VHOST: 'api.test', HAPROXY_0_PATH: '/v2/long' }),
    one('/api/v2-short', b['v2-short'], { HAPROXY_0_VHOST: 'api.test', HAPROXY_0_PATH: '/v2' }),
    one('/w/deep', b['w-deep'], { HAPROXY_0_VHOST: 'w.test', HAPROXY_0_PATH: '/w/deep/er' }),
    one('/w/heavy', b['w-heavy'], { HAPROXY_0_VHOST: 'w.test', HAPROXY_0_PATH: '/w', HAPROXY_0_BACKEND_WEIGHT: '5' }),
    one('/tcp', b.tcp, { HAPROXY_0_MODE: 'tcp' }),
    one('/secret', b.secret, { HAPROXY_0_VHOST: 'secret.test', HAPROXY_0_AUTH: `Secret Area:alice:${HASH}` }),
    one('/denied', b.denied, { HAPROXY_0_VHOST: 'denied.test', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8 192.168.0.0/16' }),
    one('/allowed', b.allowed, { HAPROXY_0_VHOST: 'allowed.test', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8 127.0.0.0/8' }),
    one('/tcp-denied', b['tcp-denied'], { HAPROXY_0_MODE: 'tcp', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8' }),
    one('/shop', b.shop, { HAPROXY_0_VHOST: 'shop.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', HAPROXY_0_USE_HSTS: 'true' }),
    one('/pp', b.pp, { HAPROXY_0_VHOST: 'pp.test', HAPROXY_0_PATH: '/pp', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/pp' }),
    one('/rd', b.rd, { HAPROXY_0_VHOST: 'rd.test', HAPROXY_0_HTTP_BACKEND_REDIR: '/landing' }),
    servedApp(
      '/pool',
      port('/pool'),
      { HAPROXY_0_VHOST: 'pool.test' },
      [
        [b['pool-ok-1'], withHealth(true)],
        [b['pool-ok-2'], withHealth(true)],
        [b['pool-sick'], withHealth(false)],
        [b['pool-killing'], inState('TASK_KILLING'), withHealth(true)],
        [b['pool-staging'], inState('TASK_STAGING')],
        [b['pool-unchecked']],
      ],
      // A COMMAND check counts for -H but gives HAProxy no check of its own, so the backends
      // only ever see the requests the test sends.
      withHealthChecks({ protocol: 'COMMAND', intervalSeconds: 10, maxConsecutiveFailures: 3 }),
    ),
    // Another group: never rendered, so its host routes nowhere.
    app('/other-group', withPortDefinitions(port('/other-group')), withLabels({ HAPROXY_GROUP: 'internal', HAPROXY_0_VHOST: 'other.test' }), withTasks(task('127.0.0.1', [b.web.port]))),
  ];
}

async function startLb(root: string, name: string, b: Backends, extra: string[]): Promise<Lb> {
  const dir = join(root, name);
  mkdirSync(dir);
  return retryWhilePortTaken(async () => {
    const { ports, service: servicePorts } = await freeLbAndServicePorts(APP_IDS.length);
    const service = new Map(APP_IDS.map((id, i) => [id, servicePorts[i] as number]));
    const rendered = await renderApps(dir, appsOf(b, (id) => service.get(id) as number), ports, ['--group', 'external', ...extra]);
    const check = await checkRendered(dir);
    if (!check.ok || check.warnings.length > 0) throw new Error(`haproxy -c: ${check.output}`);
    const routed = APP_IDS.filter((id) => id !== '/other-group').map((id) => service.get(id) as number);
    const haproxy = await startHaproxy(join(dir, 'haproxy.cfg'), { masterSocket: join(dir, 'master.sock'), ports: boundPorts(ports, routed) });
    return { ports, service, dir, config: rendered.config, haproxy };
  });
}

/** Sends `n` requests one after the other; returns how many each backend answered. */
async function spread(n: number, opts: RequestOptions): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await servedBy({ ...opts, timeoutMs: 2000 });
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

let root = '';
const backends = {} as Backends;
const running: RunningHaproxy[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mlb-ts-routing-'));
  for (const name of BACKEND_NAMES) backends[name] = await startBackend({ name });
});

afterAll(async () => {
  await Promise.allSettled(running.map((h) => h.stop()));
  await stopAll(Object.values(backends));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('routing through the real HAProxy (ACLs, -H)', () => {
  let lb: Lb;
  const http = (o: Omit<RequestOptions, 'port'>) => ({ port: lb.ports.http, ...o });
  const https = (servername: string, o: Omit<RequestOptions, 'port'> = {}) => ({ port: lb.ports.https, https: true, servername, hostHeader: servername, ...o });
  const appId = (id: string, o: Omit<RequestOptions, 'port'> = {}) => ({ port: lb.ports.appId, headers: { 'x-marathon-app-id': id }, ...o });
  const svc = (id: string, o: Omit<RequestOptions, 'port'> = {}) => ({ port: lb.service.get(id) as number, ...o });

  beforeAll(async () => {
    lb = await startLb(root, 'acl', backends, ['-H']);
    running.push(lb.haproxy);
  });

  it('routes the Host header to the app of that vhost; an app serves both of its vhosts; a :port suffix and case do not matter', async () => {
    expect(await servedBy(http({ hostHeader: 'web.test' }))).toBe('web');
    expect(await servedBy(http({ hostHeader: 'www.web.test' }))).toBe('web');
    expect(await servedBy(http({ hostHeader: 'blog.test' }))).toBe('blog');
    expect(await servedBy(http({ hostHeader: `blog.test:${lb.ports.http}` }))).toBe('blog');
    expect(await servedBy(http({ hostHeader: 'WWW.Web.Test:80' }))).toBe('web');
  });

  it('answers 503 for a host no app of the group claims', async () => {
    expect(await servedBy(http({ hostHeader: 'nobody.test' }))).toBe('503');
    expect(await servedBy(http({ hostHeader: 'other.test' }))).toBe('503');
    expect(await servedBy(http({ hostHeader: 'web.test.evil' }))).toBe('503');
  });

  it('routes path prefixes of one host to different apps: larger weight first, then the longer path, then the host without a path', async () => {
    const api = (path: string) => servedBy(http({ hostHeader: 'api.test', path }));
    expect(await api('/v1/users')).toBe('v1');
    expect(await api('/v2/long/x')).toBe('v2-long');
    expect(await api('/v2/other')).toBe('v2-short');
    expect(await api('/')).toBe('api-root');
    expect(await api('/v3')).toBe('api-root');
    // w.test: /w (weight 5) wins over the longer /w/deep/er (weight 1).
    expect(await servedBy(http({ hostHeader: 'w.test', path: '/w/deep/er/x' }))).toBe('w-heavy');
    expect(await servedBy(http({ hostHeader: 'w.test', path: '/elsewhere' }))).toBe('503');
  });

  it('routes TLS on the https port by SNI, paths included', async () => {
    expect(await servedBy(https('web.test'))).toBe('web');
    expect(await servedBy(https('www.web.test'))).toBe('web');
    expect(await servedBy(https('blog.test'))).toBe('blog');
    expect(await servedBy(https('api.test', { path: '/v1/x' }))).toBe('v1');
    expect(await servedBy(https('api.test', { path: '/v2/long' }))).toBe('v2-long');
    expect(await servedBy(https('api.test', { path: '/' }))).toBe('api-root');
    expect(await servedBy(https('nobody.test'))).toBe('503');
  });

  it('tells the backend the request came over TLS', async () => {
    const seen = replyOf(await request(https('blog.test')));
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(String(lb.ports.https));
    const plain = replyOf(await request(http({ hostHeader: 'blog.test' })));
    expect(plain.headers['x-forwarded-proto']).toBeUndefined();
  });

  it('routes the X-Marathon-App-Id header on the app-id port', async () => {
    expect(await servedBy(appId('/blog'))).toBe('blog');
    expect(await servedBy(appId('/api/v1'))).toBe('v1');
    expect(await servedBy(appId('/web'))).toBe('web');
    expect(await servedBy(appId('/nope'))).toBe('503');
    expect(await servedBy({ port: lb.ports.appId })).toBe('503');
  });

  it("reaches each app on its own service port (HAPROXY_0_PORT), in http mode and in tcp mode", async () => {
    const viaHttp = replyOf(await request(svc('/web', { hostHeader: 'anything.test', path: '/p?q=1' })));
    expect(viaHttp.name).toBe('web');
    expect(viaHttp.path).toBe('/p?q=1');
    expect(viaHttp.headers['x-forwarded-for']).toBe('127.0.0.1');

    // tcp mode passes the bytes through: no header is added.
    const viaTcp = replyOf(await request(svc('/tcp', { hostHeader: 'raw.test' })));
    expect(viaTcp.name).toBe('tcp');
    expect(viaTcp.headers.host).toBe('raw.test');
    expect(viaTcp.headers['x-forwarded-for']).toBeUndefined();
    expect(lb.config).toMatch(new RegExp(`frontend tcp_${lb.service.get('/tcp')}\\n  bind 127\\.0\\.0\\.1:${lb.service.get('/tcp')}\\n  mode tcp`));
  });

  it('asks for basic auth (HAPROXY_0_AUTH, SHA-512 crypt) on the vhost, the https port and the service port', async () => {
    const alice = { user: 'alice', password: PASSWORD };
    for (const o of [http({ hostHeader: 'secret.test' }), https('secret.test'), svc('/secret'), appId('/secret')]) {
      const anonymous = await request(o);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Basic realm="Secret Area"');
      expect((await request({ ...o, auth: { user: 'alice', password: 'wrong' } })).status).toBe(401);
      expect((await request({ ...o, auth: { user: 'mallory', password: PASSWORD } })).status).toBe(401);
      expect(replyOf(await request({ ...o, auth: alice })).name).toBe('secret');
    }
  });

  it('denies clients outside HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: 403 in http mode, a closed connection in tcp mode', async () => {
    const before = backends.denied.count + backends['tcp-denied'].count;
    expect(await servedBy(http({ hostHeader: 'denied.test' }))).toBe('403');
    expect(await servedBy(svc('/denied'))).toBe('403');
    expect(await servedBy(http({ hostHeader: 'allowed.test' }))).toBe('allowed');
    expect(await servedBy(svc('/allowed'))).toBe('allowed');
    await expect(request(svc('/tcp-denied', { timeoutMs: 3000 }))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(backends.denied.count + backends['tcp-denied'].count).toBe(before);
  });

  it('redirects http to https for HAPROXY_0_REDIRECT_TO_HTTPS (301, same host and path), and sends HSTS over https', async () => {
    const res = await request(http({ hostHeader: 'shop.test', path: '/cart?item=7' }));
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('https://shop.test/cart?item=7');
    const tls = await request(https('shop.test', { path: '/cart' }));
    expect(replyOf(tls).name).toBe('shop');
    expect(tls.headers['strict-transport-security']).toBe('max-age=15768000');
    // Apps without the labels: no redirect, no HSTS.
    const plain = await request(https('blog.test'));
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    expect((await request(http({ hostHeader: 'blog.test' }))).status).toBe(200);
  });

  it('strips the HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH prefix before the backend sees the path', async () => {
    expect(replyOf(await request(http({ hostHeader: 'pp.test', path: '/pp/a/b?x=1' }))).path).toBe('/a/b?x=1');
    expect(replyOf(await request(http({ hostHeader: 'pp.test', path: '/pp' }))).path).toBe('/');
    expect(replyOf(await request(http({ hostHeader: 'pp.test', path: '/pp/' }))).path).toBe('/');
  });

  it('redirects / to HAPROXY_0_HTTP_BACKEND_REDIR and serves every other path', async () => {
    const res = await request(http({ hostHeader: 'rd.test', path: '/' }));
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/landing');
    const landing = replyOf(await request(http({ hostHeader: 'rd.test', path: '/landing' })));
    expect([landing.name, landing.path]).toEqual(['rd', '/landing']);
  });

  it('sends traffic only to running tasks that pass their health checks (with -H), and to every one of them', async () => {
    const pool = (['pool-ok-1', 'pool-ok-2', 'pool-sick', 'pool-killing', 'pool-staging', 'pool-unchecked'] as const).map((n) => backends[n]);
    for (const b of pool) b.reset();
    const counts = await spread(40, http({ hostHeader: 'pool.test' }));
    expect([...counts.keys()].sort()).toEqual(['pool-ok-1', 'pool-ok-2']);
    expect(counts.get('pool-ok-1')).toBeGreaterThanOrEqual(10);
    expect(counts.get('pool-ok-2')).toBeGreaterThanOrEqual(10);
    expect(pool.map((b) => `${b.name}=${b.count}`)).toEqual([
      `pool-ok-1=${counts.get('pool-ok-1')}`, `pool-ok-2=${counts.get('pool-ok-2')}`, 'pool-sick=0', 'pool-killing=0', 'pool-staging=0', 'pool-unchecked=0',
    ]);
  });
});

describe('routing through the real HAProxy with --haproxy-map', () => {
  let lb: Lb;
  const http = (o: Omit<RequestOptions, 'port'>) => ({ port: lb.ports.http, ...o });
  const https = (servername: string, o: Omit<RequestOptions, 'port'> = {}) => ({ port: lb.ports.https, https: true, servername, hostHeader: servername, ...o });
  const appId = (id: string) => ({ port: lb.ports.appId, headers: { 'x-marathon-app-id': id } });

  beforeAll(async () => {
    lb = await startLb(root, 'map', backends, ['-H', '--haproxy-map']);
    running.push(lb.haproxy);
  });

  it('routes plain vhosts and app ids through the map files, not through per-host ACLs', () => {
    const domains = readFileSync(join(lb.dir, 'domain2backend.map'), 'utf8');
    expect(domains).toContain(`web.test web_${lb.service.get('/web')}\n`);
    expect(domains).toContain(`www.web.test web_${lb.service.get('/web')}\n`);
    expect(readFileSync(join(lb.dir, 'app2backend.map'), 'utf8')).toContain(`/blog blog_${lb.service.get('/blog')}\n`);
    expect(lb.config).not.toContain('host_web_test');
    expect(lb.config).not.toContain('app__blog');
  });

  it('routes the Host header through domain2backend.map (any case, with a :port suffix)', async () => {
    expect(await servedBy(http({ hostHeader: 'web.test' }))).toBe('web');
    expect(await servedBy(http({ hostHeader: 'www.web.test' }))).toBe('web');
    expect(await servedBy(http({ hostHeader: `Blog.Test:${lb.ports.http}` }))).toBe('blog');
    expect(await servedBy(http({ hostHeader: 'nobody.test' }))).toBe('503');
  });

  it('keeps ACL routing for hosts with a path, auth or a redirect, ahead of the map', async () => {
    expect(await servedBy(http({ hostHeader: 'api.test', path: '/v1/x' }))).toBe('v1');
    expect(await servedBy(http({ hostHeader: 'api.test', path: '/v2/long/x' }))).toBe('v2-long');
    expect(await servedBy(http({ hostHeader: 'api.test', path: '/' }))).toBe('api-root');
    expect((await request(http({ hostHeader: 'secret.test' }))).status).toBe(401);
    expect((await request(http({ hostHeader: 'shop.test' }))).status).toBe(301);
  });

  it('routes SNI through domain2backend.map on the https port', async () => {
    expect(await servedBy(https('blog.test'))).toBe('blog');
    expect(await servedBy(https('www.web.test'))).toBe('web');
    expect(await servedBy(https('api.test', { path: '/v1' }))).toBe('v1');
  });

  it('routes X-Marathon-App-Id through app2backend.map', async () => {
    expect(await servedBy(appId('/blog'))).toBe('blog');
    expect(await servedBy(appId('/api/v2'))).toBe('v2-long');
    expect(await servedBy(appId('/API/V1'))).toBe('v1');
    expect(await servedBy(appId('/nope'))).toBe('503');
  });

  it('still sends traffic only to healthy running tasks', async () => {
    const counts = await spread(20, http({ hostHeader: 'pool.test' }));
    expect([...counts.keys()].sort()).toEqual(['pool-ok-1', 'pool-ok-2']);
  });
});
