import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMPTY_SERVER_STATE } from '../../../src/haproxy/install.js';
import { validateConfig } from '../../../src/haproxy/validate.js';
import { readDefaultTemplates } from '../../../src/io/templates.js';
import type { MarathonApp } from '../../../src/marathon/types.js';
import { buildModel, type ModelOptions } from '../../../src/model/build.js';
import { SPARE_ID_BASE, stickyCookie } from '../../../src/model/naming.js';
import { type Rendered, type RenderOptions, renderConfig, spareSlotName } from '../../../src/render/haproxy-config.js';
import { type TemplateSource, TemplateSet } from '../../../src/render/templates.js';
import { app, inState, task, withHealthChecks, withLabels, withPortDefinitions, withTasks } from '../../helpers/builders.js';
import { HAPROXY_BIN } from '../../helpers/haproxy.js';
import { DEFAULT_CERT, renderOptions, VERBATIM_TEXT } from '../../helpers/render.js';

const templates = new TemplateSet(readDefaultTemplates());
const OTHER_CERT = resolve('test/fixtures/certs/other.pem');
const HASH = '$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1';

const options = renderOptions;

function render(apps: MarathonApp[], o: Partial<RenderOptions> = {}, m: Partial<ModelOptions> = {}): Rendered {
  const { model, warnings } = buildModel(apps, { groups: ['*'], reservedPorts: [80, 443, 9090, 9091], ...m });
  expect(warnings).toEqual([]);
  return renderConfig(model, templates, options(o));
}

let nextPort = 10000;
/** An app on its own service port with one task; labels as given. */
function svc(id: string, labels: Record<string, string>, ...parts: Parameters<typeof app>[1][]): MarathonApp {
  const port = nextPort++;
  return app(id, withPortDefinitions(port), withLabels(labels), withTasks(task('10.0.0.1', [20000 + port])), ...parts);
}

/** The indented lines of one section (`frontend marathon_http_in`, `backend web_10000`…). */
function section(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(header);
  expect(start, `no section ${header}`).toBeGreaterThanOrEqual(0);
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('  ')) break;
    body.push(l.trim());
  }
  return body;
}

const headers = (config: string) => config.split('\n').filter((l) => /^(frontend|backend|listen|userlist|global|defaults)\b/.test(l));

describe('renderConfig: frontends', () => {
  const apps = () => [svc('/web', { HAPROXY_0_VHOST: 'web.example.com' }), svc('/db', { HAPROXY_0_MODE: 'tcp' })];

  it('renders :80, :443, :9091, the stats listener, and a frontend and backend per service', () => {
    const { config, services } = render(apps());
    const backendOf = (id: string) => services.find((s) => s.appId === id)?.backend;
    const [web, db] = [backendOf('/web'), backendOf('/db')];
    expect(headers(config)).toEqual([
      'global',
      'defaults',
      'listen stats',
      'frontend marathon_http_in',
      'frontend marathon_https_in',
      'frontend marathon_http_appid_in',
      `frontend ${db}`,
      `frontend ${web}`,
      `backend ${db}`,
      `backend ${web}`,
    ]);
    expect(section(config, 'frontend marathon_https_in')[0]).toBe(`bind *:443 ssl crt ${DEFAULT_CERT}`);
  });

  it('--dont-bind-http-https drops :80 and :443 but keeps :9091', () => {
    const { config } = render(apps(), { dontBindHttpHttps: true });
    const hs = headers(config);
    expect(hs).not.toContain('frontend marathon_http_in');
    expect(hs).not.toContain('frontend marathon_https_in');
    expect(hs).toContain('frontend marathon_http_appid_in');
  });

  it('listen ports come from the options', () => {
    const { config } = render(apps(), { ports: { http: 8080, https: 8443, appId: 8091, stats: 8090 } });
    expect(section(config, 'frontend marathon_http_in')[0]).toBe('bind *:8080');
    expect(section(config, 'frontend marathon_https_in')[0]).toMatch(/^bind \*:8443 ssl /);
    expect(section(config, 'frontend marathon_http_appid_in')[0]).toBe('bind *:8091');
    expect(section(config, 'listen stats')[0]).toBe('bind 0.0.0.0:8090');
  });

  it('the mlb-ts API backend appears only with --listen', () => {
    expect(render(apps()).config).not.toContain('mlb_ts_api');
    expect(section(render(apps(), { mlbApi: '127.0.0.1:9095' }).config, 'backend mlb_ts_api')).toEqual(['mode http', 'server mlb-ts 127.0.0.1:9095']);
  });

  it('per-port SSL_CERT joins the :443 certificates once, after the defaults', () => {
    const { config } = render([svc('/a', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_SSL_CERT: OTHER_CERT }), svc('/b', { HAPROXY_0_VHOST: 'b.com', HAPROXY_0_SSL_CERT: OTHER_CERT }), svc('/c', { HAPROXY_0_VHOST: 'c.com', HAPROXY_0_SSL_CERT: DEFAULT_CERT })]);
    expect(section(config, 'frontend marathon_https_in')[0]).toBe(`bind *:443 ssl crt ${DEFAULT_CERT} crt ${OTHER_CERT}`);
  });

  it(':9091 routes each app id to its first http port only', () => {
    const a = app('/multi', withPortDefinitions(11000, 11001), withLabels({ HAPROXY_0_MODE: 'tcp', HAPROXY_1_MODE: 'http' }));
    const b = app('/two', withPortDefinitions(11002, 11003), withLabels({ HAPROXY_0_MODE: 'http', HAPROXY_1_MODE: 'http' }));
    const { config } = render([a, b]);
    expect(section(config, 'frontend marathon_http_appid_in').filter((l) => l.startsWith('use_backend'))).toEqual(['use_backend multi_11001 if app__multi', 'use_backend two_11002 if app__two']);
  });
});

describe('renderConfig: app-id ACL names', () => {
  it('app ids that clean up alike get distinct ACLs on :9091', () => {
    const { config, services } = render([svc('/team/api', { HAPROXY_0_MODE: 'http' }), svc('/team-api', { HAPROXY_0_MODE: 'http' })]);
    const backendOf = (id: string) => services.find((s) => s.appId === id)!.backend;
    const body = section(config, 'frontend marathon_http_appid_in');
    expect(body).toContain('acl app__team_api hdr(x-marathon-app-id) -i /team-api');
    expect(body).toContain(`use_backend ${backendOf('/team-api')} if app__team_api`);
    expect(body).toContain('acl app__team_api_2 hdr(x-marathon-app-id) -i /team/api');
    expect(body).toContain(`use_backend ${backendOf('/team/api')} if app__team_api_2`);
  });
});

describe('renderConfig: vhost rules', () => {
  it("orders rules by weight, then by path length, then by app id (marathon-lb's order: /shop before /shop-v2 on one host)", () => {
    const apps = [
      svc('/shop-v2', { HAPROXY_0_VHOST: 'shop.com' }),
      svc('/shop', { HAPROXY_0_VHOST: 'shop.com' }),
      svc('/root', { HAPROXY_0_VHOST: 'a.com' }),
      svc('/api', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/api' }),
      svc('/apiv2', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/api/v2' }),
      svc('/heavy', { HAPROXY_0_VHOST: 'z.com', HAPROXY_0_BACKEND_WEIGHT: '5' }),
      svc('/light', { HAPROXY_0_VHOST: 'b.com', HAPROXY_0_BACKEND_WEIGHT: '-1' }),
      svc('/b', { HAPROXY_0_VHOST: 'b.com,c.com' }),
    ];
    const { config } = render(apps);
    const routes = section(config, 'frontend marathon_http_in').filter((l) => l.startsWith('use_backend')).map((l) => l.split(' ')[1]?.replace(/_\d+$/, ''));
    expect(routes).toEqual(['heavy', 'apiv2', 'api', 'b', 'b', 'root', 'shop', 'shop-v2', 'light']);
    const sni = section(config, 'frontend marathon_https_in').filter((l) => l.startsWith('use_backend')).map((l) => l.split(' ')[1]?.replace(/_\d+$/, ''));
    expect(sni).toEqual(routes);
  });

  it('PATH with several prefixes (and -i): one path_beg ACL with all of them, ordered by its longest prefix', () => {
    const apps = [
      svc('/short', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/abc' }),
      svc('/multi', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '-i /a /abc/def' }),
      svc('/root', { HAPROXY_0_VHOST: 'a.com' }),
    ];
    const { config, services } = render(apps);
    const multi = services.find((s) => s.appId === '/multi')!.backend;
    const body = section(config, 'frontend marathon_http_in');
    expect(body).toContain(`acl path_${multi} path_beg -i /a /abc/def`);
    const routes = body.filter((l) => l.startsWith('use_backend')).map((l) => l.split(' ')[1]?.replace(/_\d+$/, ''));
    expect(routes).toEqual(['multi', 'short', 'root']);
    expect(section(config, 'frontend marathon_https_in')).toContain(`acl path_${multi} path_beg -i /a /abc/def`);
  });

  it('declares a host ACL once however many services use the host, before any routing', () => {
    const { config } = render([svc('/x', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/x' }), svc('/y', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/y' }), svc('/z', { HAPROXY_0_VHOST: 'a.com' })]);
    const body = section(config, 'frontend marathon_http_in');
    expect(body.filter((l) => l === 'acl host_a_com hdr(host),field(1,:) -i a.com')).toHaveLength(1);
    const lastAcl = body.map((l) => l.startsWith('acl')).lastIndexOf(true);
    const firstRoute = body.findIndex((l) => l.startsWith('use_backend'));
    expect(lastAcl).toBeLessThan(firstRoute);
  });

  it('hosts that clean up alike get distinct ACLs', () => {
    const { config } = render([svc('/x', { HAPROXY_0_VHOST: 'a-b.com' }), svc('/y', { HAPROXY_0_VHOST: 'a.b.com' })]);
    const body = section(config, 'frontend marathon_http_in');
    expect(body).toContain('acl host_a_b_com hdr(host),field(1,:) -i a-b.com');
    expect(body).toContain('acl host_a_b_com_2 hdr(host),field(1,:) -i a.b.com');
  });

  it('REDIRECT_TO_HTTPS: a redirect per host before the routing', () => {
    const { config } = render([svc('/x', { HAPROXY_0_VHOST: 'a.com,b.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' })]);
    const body = section(config, 'frontend marathon_http_in');
    const redirects = body.filter((l) => l.startsWith('http-request redirect'));
    expect(redirects).toEqual(['http-request redirect scheme https code 301 if !{ ssl_fc } host_a_com', 'http-request redirect scheme https code 301 if !{ ssl_fc } host_b_com']);
    expect(body.indexOf(redirects[1]!)).toBeLessThan(body.findIndex((l) => l.startsWith('use_backend')));
  });
});

describe('renderConfig: REDIRECT_TO_HTTPS with an overridden combined ACL template', () => {
  const COMBINED = '  acl host_{cleanedUpHostname} hdr(host),field(1,:) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname}\n';
  it.each<[string, Record<string, string>, Partial<RenderOptions>]>([
    ['a label override', { HAPROXY_0_HTTP_FRONTEND_ACL: COMBINED }, {}],
    ['a label override, with a path', { HAPROXY_0_PATH: '/p', HAPROXY_0_HTTP_FRONTEND_ACL_WITH_PATH: '  acl host_{cleanedUpHostname} hdr(host),field(1,:) -i {hostname}\n  acl path_{backend} path_beg {path}\n  use_backend {backend} if host_{cleanedUpHostname} path_{backend}\n' }, {}],
  ])('%s: the ACL is declared before the redirect names it', (_name, labels) => {
    const { config } = render([svc('/r', { HAPROXY_0_VHOST: 'r.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', ...labels })]);
    const body = section(config, 'frontend marathon_http_in');
    const acl = body.indexOf('acl host_r_com hdr(host),field(1,:) -i r.com');
    const redirect = body.findIndex((l) => l.startsWith('http-request redirect scheme https'));
    expect(acl).toBeGreaterThanOrEqual(0);
    expect(redirect).toBeGreaterThan(acl);
    expect(body.findIndex((l) => l.startsWith('use_backend'))).toBeGreaterThan(redirect);
  });

  it('an operator override (--templates DIR) of the combined template, with a redirect', () => {
    const overrides = new Map([['HAPROXY_HTTP_FRONTEND_ACL', { source: '  acl host_{{cleanedUpHostname}} hdr(host),field(1,:) -i {{hostname}}\n  use_backend {{backend}} if host_{{cleanedUpHostname}}\n', format: 'handlebars' as const, origin: 'dir/HAPROXY_HTTP_FRONTEND_ACL.hbs' }]]);
    const { model } = buildModel([svc('/r', { HAPROXY_0_VHOST: 'r.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }), svc('/s', { HAPROXY_0_VHOST: 's.com' })], { groups: ['*'] });
    const body = section(renderConfig(model, new TemplateSet(readDefaultTemplates(), overrides), options()).config, 'frontend marathon_http_in');
    expect(body.indexOf('acl host_r_com hdr(host),field(1,:) -i r.com')).toBeLessThan(body.findIndex((l) => l.startsWith('http-request redirect')));
  });
});

describe('renderConfig: --haproxy-map', () => {
  const apps = () => [
    svc('/plain', { HAPROXY_0_VHOST: 'plain.com,www.plain.com' }),
    svc('/path', { HAPROXY_0_VHOST: 'path.com', HAPROXY_0_PATH: '/p' }),
    svc('/auth', { HAPROXY_0_VHOST: 'auth.com', HAPROXY_0_AUTH: `r:u:${HASH}` }),
    svc('/redir', { HAPROXY_0_VHOST: 'redir.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }),
    svc('/tcp', {}),
  ];

  it('plain vhosts go to domain2backend.map; path, auth and redirect hosts keep their ACLs', () => {
    const r = render(apps(), { haproxyMap: true });
    const plain = r.services.find((s) => s.appId === '/plain')?.backend;
    expect(r.domainMap).toBe(`plain.com ${plain}\nwww.plain.com ${plain}\n`);
    const http = section(r.config, 'frontend marathon_http_in');
    expect(http.some((l) => l.includes('plain.com'))).toBe(false);
    for (const host of ['path.com', 'auth.com', 'redir.com']) expect(http.some((l) => l.startsWith('acl') && l.endsWith(host)), host).toBe(true);
    expect(http[http.length - 1]).toBe('use_backend %[req.hdr(host),field(1,:),lower,map(/etc/haproxy/domain2backend.map)] if { req.hdr(host),field(1,:),lower,map(/etc/haproxy/domain2backend.map) -m found }');
    const https = section(r.config, 'frontend marathon_https_in');
    expect(https.some((l) => l.includes('plain.com'))).toBe(false);
    expect(https[https.length - 1]).toBe('use_backend %[ssl_fc_sni,lower,map(/etc/haproxy/domain2backend.map)] if { ssl_fc_sni,lower,map(/etc/haproxy/domain2backend.map) -m found }');
  });

  it('app ids go to app2backend.map, lowercased, http services only', () => {
    const r = render([...apps(), svc('/Upper', { HAPROXY_0_MODE: 'http' })], { haproxyMap: true });
    const lines = r.appMap.trimEnd().split('\n');
    expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual(['/auth', '/path', '/plain', '/redir', '/upper']);
    for (const l of lines) expect(r.services.map((s) => s.backend)).toContain(l.split(' ')[1]);
    expect(section(r.config, 'frontend marathon_http_appid_in')).toEqual(['bind *:9091', 'mode http', 'option idle-close-on-response', 'http-request disable-l7-retry unless METH_GET || METH_HEAD', 'use_backend %[req.hdr(x-marathon-app-id),lower,map(/etc/haproxy/app2backend.map)]']);
  });

  it.each([
    ['auth', { HAPROXY_0_AUTH: `r:u:${HASH}` }],
    ['a path', { HAPROXY_0_PATH: '/p' }],
  ])('a host whose plain app outweighs an app with %s stays out of the map: the heavier app is routed first, as without the flag', (_, labels) => {
    const apps = [svc('/heavy', { HAPROXY_0_VHOST: 'z.com', HAPROXY_0_BACKEND_WEIGHT: '10' }), svc('/other', { HAPROXY_0_VHOST: 'z.com', ...labels }), svc('/alone', { HAPROXY_0_VHOST: 'alone.com' })];
    const routes = (r: Rendered, frontend: string) => section(r.config, frontend).filter((l) => l.startsWith('use_backend') && l.includes('z'));
    const [plain, mapped] = [render(apps), render(apps, { haproxyMap: true })];
    const backendOf = (id: string) => mapped.services.find((s) => s.appId === id)?.backend as string;
    expect(mapped.domainMap).toBe(`alone.com ${backendOf('/alone')}\n`);
    for (const frontend of ['frontend marathon_http_in', 'frontend marathon_https_in']) {
      expect(routes(mapped, frontend)[0], frontend).toContain(backendOf('/heavy'));
      expect(routes(mapped, frontend), frontend).toEqual(routes(plain, frontend));
    }
  });

  it('without --haproxy-map the maps are empty and every host has an ACL', () => {
    const r = render(apps());
    expect([r.domainMap, r.appMap]).toEqual(['', '']);
    expect(section(r.config, 'frontend marathon_http_in')).toContain('acl host_plain_com hdr(host),field(1,:) -i plain.com');
  });
});

describe('renderConfig: --group-https-by-vhost', () => {
  it('a TCP :443 frontend hands each host to the TLS frontend of its certificates', () => {
    const apps = [svc('/a', { HAPROXY_0_VHOST: 'a.com,b.com' }), svc('/own', { HAPROXY_0_VHOST: 'own.com', HAPROXY_0_SSL_CERT: OTHER_CERT }), svc('/c', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/c' })];
    const { config } = render(apps, { groupHttpsByVhost: true });
    const front = section(config, 'frontend marathon_https_in');
    expect(front.slice(0, 2)).toEqual(['bind *:443', 'mode tcp']);
    const sni = front.filter((l) => l.startsWith('use_backend'));
    expect(sni).toEqual(['use_backend https-group-1 if { req_ssl_sni -i a.com }', 'use_backend https-group-1 if { req_ssl_sni -i b.com }', 'use_backend https-group-2 if { req_ssl_sni -i own.com }']);
    expect(section(config, 'backend https-group-1')).toEqual(['mode tcp', 'server loopback-for-tls abns@https-group-1 send-proxy-v2']);
    expect(section(config, 'frontend https-group-1')[0]).toBe(`bind abns@https-group-1 accept-proxy ssl crt ${DEFAULT_CERT}`);
    expect(section(config, 'frontend https-group-2')[0]).toBe(`bind abns@https-group-2 accept-proxy ssl crt ${OTHER_CERT}`);
    expect(section(config, 'frontend https-group-2').filter((l) => l.startsWith('use_backend'))).toEqual([expect.stringMatching(/^use_backend own_\d+ if \{ ssl_fc_sni -i own.com \}$/)]);
    expect(section(config, 'frontend https-group-1').filter((l) => l.startsWith('use_backend'))).toHaveLength(3);
  });
});

describe('renderConfig: --group-https-by-vhost, one host with several certificates', () => {
  it("every rule of a host goes to the group of the host's certificates (all of its services')", () => {
    const apps = [svc('/web', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_SSL_CERT: OTHER_CERT }), svc('/api', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PATH: '/api' }), svc('/b', { HAPROXY_0_VHOST: 'b.com' })];
    const { config } = render(apps, { groupHttpsByVhost: true });
    const sni = section(config, 'frontend marathon_https_in').filter((l) => l.startsWith('use_backend'));
    expect(sni).toEqual(['use_backend https-group-2 if { req_ssl_sni -i a.com }', 'use_backend https-group-1 if { req_ssl_sni -i b.com }']);
    const group2 = section(config, 'frontend https-group-2');
    expect(group2[0]).toBe(`bind abns@https-group-2 accept-proxy ssl crt ${DEFAULT_CERT} crt ${OTHER_CERT}`);
    expect(group2.filter((l) => l.startsWith('use_backend')).map((l) => l.split(' ')[1]?.replace(/_\d+$/, ''))).toEqual(['api', 'web']);
    expect(section(config, 'frontend https-group-1')[0]).toBe(`bind abns@https-group-1 accept-proxy ssl crt ${DEFAULT_CERT}`);
  });
});

describe('renderConfig: --group-https-by-vhost, names', () => {
  it('a TLS group never takes the name of a service (app /https/group on service port 1)', () => {
    const { config } = render([svc('/https/group', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_PORT: '1' })], { groupHttpsByVhost: true });
    for (const kind of ['frontend', 'backend']) {
      const names = [...config.matchAll(new RegExp(`^${kind} (\\S+)$`, 'gm'))].map((m) => m[1]);
      expect(names).toContain('https-group-1');
      expect(names).toContain('https_group_1');
      expect(names.length, kind).toBe(new Set(names).size);
    }
  });
});

describe('renderConfig: --group-https-by-vhost, bind options', () => {
  it.each<[string, Record<string, string>, string[]]>([
    ['a host without bind options is not grouped with one that has them', {}, ['', ' ssl-min-ver TLSv1.3']],
    ['two hosts with different bind options get a frontend each', { HAPROXY_0_BIND_OPTIONS: 'ssl-max-ver TLSv1.2' }, [' ssl-max-ver TLSv1.2', ' ssl-min-ver TLSv1.3']],
    ['two hosts with the same bind options share one', { HAPROXY_0_BIND_OPTIONS: 'ssl-min-ver TLSv1.3' }, [' ssl-min-ver TLSv1.3']],
  ])("%s: one app's BIND_OPTIONS stay on its own hosts' TLS frontend", (_name, otherLabels, bindOpts) => {
    const apps = [svc('/strict', { HAPROXY_0_VHOST: 'strict.com', HAPROXY_0_BIND_OPTIONS: 'ssl-min-ver TLSv1.3' }), svc('/other', { HAPROXY_0_VHOST: 'other.com', ...otherLabels })];
    const { config } = render(apps, { groupHttpsByVhost: true });
    const groups = bindOpts.map((_o, i) => `https-group-${i + 1}`);
    expect(groups.map((g) => section(config, `frontend ${g}`)[0])).toEqual(bindOpts.map((o, i) => `bind abns@${groups[i]} accept-proxy ssl crt ${DEFAULT_CERT}${o}`));
    const sni = section(config, 'frontend marathon_https_in').filter((l) => l.startsWith('use_backend'));
    const groupOf = (host: string) => sni.find((l) => l.endsWith(`-i ${host} }`))?.split(' ')[1];
    const strictGroup = groupOf('strict.com') as string;
    expect(section(config, `frontend ${strictGroup}`)[0]).toContain('ssl-min-ver TLSv1.3');
    expect(section(config, `frontend ${groupOf('other.com') as string}`)[0]?.endsWith(otherLabels.HAPROXY_0_BIND_OPTIONS ?? `crt ${DEFAULT_CERT}`)).toBe(true);
  });
});

describe('renderConfig: HTTP_BACKEND_REVPROXY_PATH rewrites only what points at the service', () => {
  it.each<[string, Record<string, string>, string]>([
    ['its vhosts, a wildcard among them', { HAPROXY_0_VHOST: 'a.com,*.b.com' }, '(a[.]com|[^/:]+[.]b[.]com)'],
    ['no vhost: relative locations only', { HAPROXY_0_MODE: 'http' }, '()'],
  ])('%s', (_name, labels, hosts) => {
    const r = render([svc('/ui', { ...labels, HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/ui' })]);
    const body = section(r.config, `backend ${r.services[0]!.backend}`);
    for (const header of ['Location', 'Content-Location', 'URI']) {
      expect(body).toContain(`http-response replace-header ${header} ^(https?://${hosts}(:[0-9]+)?)?/(.*)$ \\1/ui/\\4`);
    }
  });
});

describe('renderConfig: backends', () => {
  it('spare slots: disabled placeholder servers with ids above every task id', () => {
    const r = render([svc('/web', { HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'true' }, withHealthChecks({ protocol: 'HTTP', path: '/h', intervalSeconds: 3, maxConsecutiveFailures: 1 }))], { spareSlots: () => 2 });
    const backend = section(r.config, `backend ${r.services[0]!.backend}`);
    expect(backend.filter((l) => l.startsWith('server mlb_spare_'))).toEqual([
      `server ${spareSlotName(1)} 127.0.0.1:1 id ${SPARE_ID_BASE + 1} check cookie 70a3c13252 check inter 3s fall 2 disabled`,
      `server mlb_spare_2 127.0.0.1:1 id ${SPARE_ID_BASE + 2} check cookie 3b6e60c948 check inter 3s fall 2 disabled`,
    ]);
    for (const sv of r.services[0]!.servers) expect(sv.id).toBeLessThanOrEqual(SPARE_ID_BASE);
  });

  it('spare slots per service', () => {
    const r = render([svc('/a', {}), svc('/b', {})], { spareSlots: (s) => (s.appId === '/a' ? 1 : 0) });
    expect(r.config.match(/server mlb_spare_/g)).toHaveLength(1);
    expect(section(r.config, `backend ${r.services[0]!.backend}`).at(-1)).toMatch(/^server mlb_spare_1 /);
  });

  it('server lines: draining tasks get weight 0; check port and https checks on the line', () => {
    const a = app(
      '/web',
      withPortDefinitions(12000, 12001),
      withLabels({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1', HAPROXY_1_ENABLED: 'false' }),
      withHealthChecks({ protocol: 'HTTPS', path: '/h', portIndex: 1, intervalSeconds: 2, maxConsecutiveFailures: 0 }),
      withTasks(task('10.0.0.1', [31000, 31001]), task('10.0.0.2', [31000, 31001], inState('TASK_KILLING'))),
    );
    const r = render([a]);
    const servers = section(r.config, 'backend web_12000').filter((l) => l.startsWith('server'));
    expect(servers).toEqual([
      expect.stringMatching(/^server 10_0_0_1_31000 10\.0\.0\.1:31000 id \d+ check inter 2s fall 1 port 31001 check-ssl verify none$/),
      expect.stringMatching(/^server 10_0_0_2_31000 10\.0\.0\.2:31000 id \d+ check inter 2s fall 1 port 31001 check-ssl verify none weight 0$/),
    ]);
  });

  it('http options, auth, allow-list, proxypass, revproxy, redirect, HSTS and stickiness in http mode', () => {
    const r = render([
      svc('/web', {
        HAPROXY_0_VHOST: 'a.com',
        HAPROXY_0_AUTH: `Realm:bob:${HASH}`,
        HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8',
        HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/api',
        HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/web',
        HAPROXY_0_HTTP_BACKEND_REDIR: '/home',
        HAPROXY_0_USE_HSTS: 'true',
        HAPROXY_0_STICKY: 'true',
      }),
    ]);
    const name = r.services[0]!.backend;
    expect(section(r.config, `userlist user_${name}`)).toEqual([`user bob password ${HASH}`]);
    const backend = section(r.config, `backend ${name}`).join('\n');
    for (const want of ['acl network_allowed src 10.0.0.0/8', 'http-request deny deny_status 403 unless network_allowed', `acl auth_ok http_auth(user_${name})`, 'http-request auth realm "Realm" unless auth_ok', 'option forwardfor', 'http-request replace-path ^/api/?(.*)$ /\\1', 'http-response replace-header Location', 'http-request redirect location /home code 301 if { path / }', 'Strict-Transport-Security', 'cookie mesosphere_server_id insert indirect nocache', ` check cookie ${stickyCookie(r.services[0]!.servers[0]!.name)}`]) {
      expect(backend).toContain(want);
    }
  });

  it('tcp mode: allow-list rejects, and no http options', () => {
    const r = render([svc('/db', { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_BIND_OPTIONS: 'v4v6' })]);
    const name = r.services[0]!.backend;
    expect(section(r.config, `frontend ${name}`)).toEqual([`bind 127.0.0.1:${r.services[0]!.servicePort} v4v6`, 'mode tcp', `use_backend ${name}`]);
    const backend = section(r.config, `backend ${name}`);
    expect(backend).toContain('tcp-request content reject unless network_allowed');
    expect(backend.join('\n')).not.toContain('forwardfor');
  });
});

describe('renderConfig: label templates', () => {
  it('a broken label template drops only that service, with a warning naming app, port and template', () => {
    const good = svc('/good', { HAPROXY_0_VHOST: 'good.com' });
    const bad = svc('/bad', { HAPROXY_0_VHOST: 'bad.com', HAPROXY_0_BACKEND_HEAD: '\nbackend {nosuchvar}\n' });
    const { model } = buildModel([good, bad], { groups: ['*'] });
    const r = renderConfig(model, templates, options());
    expect(r.services.map((s) => s.appId)).toEqual(['/good']);
    expect(r.warnings).toEqual([{ code: 'E_TEMPLATE_INVALID', appId: '/bad', label: 'HAPROXY_0_BACKEND_HEAD', message: expect.stringMatching(/^port 0 dropped: template HAPROXY_BACKEND_HEAD from label HAPROXY_0_BACKEND_HEAD \(marathon-lb\): unknown variable \{nosuchvar\}/) }]);
    expect(r.config).not.toContain('bad');
    expect(r.config).toContain('good.com');
  });

  it('a label template that fails only when rendered drops only that service too', () => {
    const good = svc('/good', {});
    const bad = svc('/bad', { HAPROXY_0_BACKEND_SERVER_OPTIONS: '{{#if serverName}}{{> nope}}{{/if}}' });
    const { model } = buildModel([good, bad], { groups: ['*'] });
    const r = renderConfig(model, templates, options());
    expect(r.services.map((s) => s.appId)).toEqual(['/good']);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'E_TEMPLATE_INVALID', appId: '/bad', message: expect.stringContaining('HAPROXY_0_BACKEND_SERVER_OPTIONS') })]);
  });

  it.each([
    ['HAPROXY_0_HTTP_FRONTEND_ACL_ONLY', '{bogus}'],
    ['HAPROXY_0_HTTP_FRONTEND_ROUTING_ONLY', '{{#if backend}}{{> nope}}{{/if}}'],
    ['HAPROXY_0_HTTPS_FRONTEND_ACL', '{nope}'],
    ['HAPROXY_0_HTTP_FRONTEND_APPID_ACL', '{{#if backend}}{{> nope}}{{/if}}'],
  ])('a broken label template of the shared frontends (%s) drops only that service too', (label, source) => {
    const good = svc('/good', { HAPROXY_0_VHOST: 'good.com' });
    const bad = svc('/bad', { HAPROXY_0_VHOST: 'bad.com', [label]: source });
    const { model } = buildModel([good, bad], { groups: ['*'] });
    const r = renderConfig(model, templates, options());
    expect(r.services.map((s) => s.appId)).toEqual(['/good']);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'E_TEMPLATE_INVALID', appId: '/bad', label, message: expect.stringMatching(/^port 0 dropped: /) })]);
    expect(r.config).not.toContain('bad');
    expect(r.config).toContain('good.com');
  });

  it('a --templates DIR template that fails when rendered is no app\'s fault: the render fails, naming it, instead of dropping every app', () => {
    const overrides = new Map([['HAPROXY_BACKEND_HEAD', { source: 'backend {{backend}}\n{{#if backend}}{{> nope}}{{/if}}\n', format: 'handlebars' as const, origin: 'dir/HAPROXY_BACKEND_HEAD.hbs' }]]);
    const { model } = buildModel([svc('/a', {}), svc('/b', {})], { groups: ['*'] });
    expect(() => renderConfig(model, new TemplateSet(readDefaultTemplates(), overrides), options())).toThrow(/^template HAPROXY_BACKEND_HEAD from dir\/HAPROXY_BACKEND_HEAD\.hbs \(handlebars\): .*nope/);
  });

  it('a label template replaces the default for that service only', () => {
    const r = render([svc('/a', { HAPROXY_0_BACKEND_HEAD: '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  timeout server 1h\n' }), svc('/b', {})]);
    expect(section(r.config, `backend ${r.services[0]!.backend}`)).toContain('timeout server 1h');
    expect(section(r.config, `backend ${r.services[1]!.backend}`)).not.toContain('timeout server 1h');
  });

  it('an overridden combined ACL template replaces the ACL/ROUTING pair for that service', () => {
    const r = render([svc('/a', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_HTTP_FRONTEND_ACL: '  acl custom_{cleanedUpHostname} hdr(host) -i {hostname}\n  use_backend {backend} if custom_{cleanedUpHostname}\n' })]);
    const body = section(r.config, 'frontend marathon_http_in');
    expect(body).toContain('acl custom_a_com hdr(host) -i a.com');
    expect(body.some((l) => l.startsWith('acl host_a_com'))).toBe(false);
  });
});

describe('renderConfig: healthCheckPortIndex', () => {
  /** Two ports (12000, 12001): index `served` is served, the other disabled; `tpl` overrides its backend head. */
  const twoPorts = (served: number, labels: Record<string, string>, tpl: string, ...parts: Parameters<typeof app>[1][]) =>
    app(
      '/web',
      withPortDefinitions(12000, 12001),
      withLabels({ [`HAPROXY_${1 - served}_ENABLED`]: 'false', [`HAPROXY_${served}_BACKEND_HEAD`]: tpl, ...labels }),
      withTasks(task('10.0.0.1', [31000, 31001])),
      ...parts,
    );
  const HANDLEBARS = '\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  # check port index: {{healthCheckPortIndex}}.\n';
  const MARATHON_LB = '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  # check port index: {healthCheckPortIndex}.\n';

  it.each<[string, number, Record<string, string>, Parameters<typeof app>[1][], string, string]>([
    ['BACKEND_HEALTHCHECK_PORT_INDEX, Handlebars', 0, { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }, [withHealthChecks({ protocol: 'TCP', portIndex: 1 })], HANDLEBARS, '1'],
    ['BACKEND_HEALTHCHECK_PORT_INDEX, marathon-lb format', 0, { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }, [withHealthChecks({ protocol: 'TCP', portIndex: 1 })], MARATHON_LB, '1'],
    ['BACKEND_HEALTHCHECK_PORT_INDEX 0 renders as 0', 1, { HAPROXY_1_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, [withHealthChecks({ protocol: 'HTTP', path: '/h', portIndex: 0 })], HANDLEBARS, '0'],
    ['BACKEND_HEALTHCHECK_PORT_INDEX without a health check: the label', 0, { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }, [], HANDLEBARS, '1'],
    ["no label: the Marathon check's portIndex", 1, {}, [withHealthChecks({ protocol: 'TCP', portIndex: 1 })], MARATHON_LB, '1'],
    ['no label, no check: empty', 1, {}, [], HANDLEBARS, ''],
    ['no label, only a check of another port: empty', 1, {}, [withHealthChecks({ protocol: 'TCP', portIndex: 0 })], MARATHON_LB, ''],
  ])('%s', (_name, served, labels, parts, tpl, expected) => {
    const r = render([twoPorts(served, labels, tpl, ...parts)]);
    expect(section(r.config, `backend web_${12000 + served}`)).toContain(`# check port index: ${expected}.`);
  });

  it('a task without the check port index is served unchecked, sticky too (no `check` before its cookie)', () => {
    const a = app('/web', withPortDefinitions(12000, 12001), withLabels({ HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'true', HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1', HAPROXY_1_ENABLED: 'false' }), withHealthChecks({ protocol: 'HTTP', path: '/h', portIndex: 1 }), withTasks(task('10.0.0.1', [31000, 31001]), task('10.0.0.2', [31000])));
    const { model, warnings } = buildModel([a], { groups: ['*'] });
    expect(warnings).toEqual([{ code: 'W_CHECK_PORT_MISSING', appId: '/web', label: 'HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX', message: '1 task has no port at the health-check port index: served on port 0 without a health check' }]);
    const servers = section(renderConfig(model, templates, options()).config, 'backend web_12000').filter((l) => l.startsWith('server 10_'));
    expect(servers).toEqual([
      expect.stringMatching(/^server 10_0_0_1_31000 10\.0\.0\.1:31000 id \d+ check cookie \w+ check inter 60s fall 4 port 31001$/),
      expect.stringMatching(/^server 10_0_0_2_31000 10\.0\.0\.2:31000 id \d+ cookie \w+$/),
    ]);
  });

  it('an operator template (--templates DIR) of the check options sees it too', () => {
    const overrides = new Map([['HAPROXY_BACKEND_TCP_HEALTHCHECK_OPTIONS', { source: '  # check on port index {{healthCheckPortIndex}}\n', format: 'handlebars' as const, origin: 'dir/HAPROXY_BACKEND_TCP_HEALTHCHECK_OPTIONS.hbs' }]]);
    const a = app('/web', withPortDefinitions(12000, 12001), withLabels({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1', HAPROXY_1_ENABLED: 'false' }), withHealthChecks({ protocol: 'TCP', portIndex: 1 }), withTasks(task('10.0.0.1', [31000, 31001])));
    const { model } = buildModel([a], { groups: ['*'] });
    const r = renderConfig(model, new TemplateSet(readDefaultTemplates(), overrides), options());
    expect(section(r.config, 'backend web_12000')).toContain('# check on port index 1');
  });
});

describe('renderConfig: the server-line check templates see the server', () => {
  it.each<[string, TemplateSource]>([
    ['Handlebars', { source: 'check inter {{healthCheckIntervalSeconds}}s addr {{host_ipv4}} port {{port}}', format: 'handlebars', origin: 'dir/HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS.hbs' }],
    ['marathon-lb format', { source: 'check inter {healthCheckIntervalSeconds}s addr {host_ipv4} port {port}', format: 'marathon-lb', origin: 'dir/HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS' }],
  ])('%s: each server line has its own address and port; HAProxy accepts it', async (_, source) => {
    const overrides = new Map([['HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS', source]]);
    const a = app('/web', withPortDefinitions(12000), withHealthChecks({ protocol: 'HTTP', path: '/h', intervalSeconds: 7 }), withTasks(task('10.0.0.1', [31000]), task('10.0.0.2', [31002])));
    const { model } = buildModel([a], { groups: ['*'] });
    const r = renderConfig(model, new TemplateSet(readDefaultTemplates(), overrides), options());
    const servers = section(r.config, 'backend web_12000').filter((l) => l.startsWith('server '));
    expect(servers.filter((l) => !l.includes('mlb_spare'))).toEqual([
      expect.stringMatching(/^server 10_0_0_1_31000 10\.0\.0\.1:31000 id \d+ check inter 7s addr 10\.0\.0\.1 port 31000$/),
      expect.stringMatching(/^server 10_0_0_2_31002 10\.0\.0\.2:31002 id \d+ check inter 7s addr 10\.0\.0\.2 port 31002$/),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'mlb-check-words-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), r.config.replaceAll('/etc/haproxy', dir).replaceAll('/etc/ssl/cert.pem', DEFAULT_CERT));
      writeFileSync(join(dir, 'haproxy.state'), EMPTY_SERVER_STATE);
      expect((await validateConfig(join(dir, 'haproxy.cfg'), HAPROXY_BIN, dir)).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderConfig: marathon-lb label values with inline ACLs', () => {
  it("an escaped inline ACL naming a variable ({{ path /internal }}) is marathon-lb's literal braces", () => {
    const label = '  acl host_{cleanedUpHostname} hdr(host) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname} !{{ path /internal }}\n';
    const r = render([app('/web', withPortDefinitions(10000), withLabels({ HAPROXY_0_VHOST: 'web.example.com', HAPROXY_0_HTTP_FRONTEND_ACL: label }), withTasks(task('10.0.0.1', [31000])))]);
    expect(r.warnings).toEqual([]);
    expect(section(r.config, 'frontend marathon_http_in')).toEqual(expect.arrayContaining(['acl host_web_example_com hdr(host) -i web.example.com', 'use_backend web_10000 if host_web_example_com !{ path /internal }']));
    expect(r.config).not.toContain('{cleanedUpHostname}');
  });
});

describe('renderConfig: health-check variables of marathon-lb', () => {
  const BACKEND_CHECK = '  option httpchk GET {healthCheckPath}\n  # grace {healthCheckGracePeriodSeconds} failures {healthCheckMaxConsecutiveFailures} falls {healthCheckFalls} port [{healthCheckPort}] options [{healthCheckPortOptions}]\n';
  const SERVER_CHECK = 'check inter {healthCheckIntervalSeconds}s fall {healthCheckFalls}{healthCheckPortOptions} # [{healthCheckPort}]';
  const webApp = (check: Parameters<typeof withHealthChecks>[0], labels: Record<string, string> = {}) =>
    app(
      '/web',
      withPortDefinitions(12000, 12001),
      withLabels({ HAPROXY_0_MODE: 'http', HAPROXY_1_ENABLED: 'false', HAPROXY_0_BACKEND_HTTP_HEALTHCHECK_OPTIONS: BACKEND_CHECK, HAPROXY_0_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS: SERVER_CHECK, ...labels }),
      withHealthChecks(check),
      withTasks(task('10.0.0.1', [31000, 31001])),
    );

  it.each<[string, MarathonApp, string, string]>([
    ["the Marathon check's values", webApp({ protocol: 'HTTP', path: '/h', gracePeriodSeconds: 30, maxConsecutiveFailures: 2, intervalSeconds: 4 }), '# grace 30 failures 2 falls 3 port [] options []', 'check inter 4s fall 3 # []'],
    ["Marathon's defaults", webApp({ protocol: 'HTTP', path: '/h' }), '# grace 300 failures 3 falls 4 port [] options []', 'check inter 60s fall 4 # []'],
    [
      'BACKEND_HEALTHCHECK_PORT_INDEX: the port of each server',
      webApp({ protocol: 'HTTP', path: '/h', portIndex: 1, intervalSeconds: 4 }, { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }),
      '# grace 300 failures 3 falls 4 port [] options []',
      'check inter 4s fall 4 port 31001 # [31001]',
    ],
  ])('%s', (_name, a, backendLine, serverWords) => {
    const r = render([a]);
    const backend = section(r.config, 'backend web_12000');
    expect(backend).toContain(backendLine);
    expect(backend.filter((l) => l.startsWith('server '))).toEqual([expect.stringMatching(new RegExp(`^server \\S+ 10\\.0\\.0\\.1:31000 id \\d+ ${serverWords.replace(/[[\]]/g, '\\$&')}$`))]);
  });

  it("a check of a fixed port (Marathon's `port`): healthCheckPort and healthCheckPortOptions are that port", () => {
    const { model } = buildModel([webApp({ protocol: 'HTTP', path: '/h', intervalSeconds: 4, port: 8081 })], { groups: ['*'] });
    const backend = section(renderConfig(model, templates, options()).config, 'backend web_12000');
    expect(backend).toContain('# grace 300 failures 3 falls 4 port [8081] options [ port 8081]');
    expect(backend.filter((l) => l.startsWith('server '))).toEqual([expect.stringMatching(/ check inter 4s fall 4 port 8081 # \[8081\]$/)]);
  });
});

describe("renderConfig: a Marathon check of a fixed port, with the default templates", () => {
  it('checks that port on every server of every service port of the app, as marathon-lb does', () => {
    const a = app('/fixed', withPortDefinitions(13000, 13001), withLabels({ HAPROXY_0_MODE: 'http', HAPROXY_1_MODE: 'http' }), withHealthChecks({ protocol: 'HTTP', path: '/status', port: 8080 }), withTasks(task('10.0.0.1', [31000, 31001])));
    const r = render([a]);
    for (const backend of ['backend fixed_13000', 'backend fixed_13001']) {
      const body = section(r.config, backend);
      expect(body).toContain('option httpchk GET /status');
      expect(body.filter((l) => l.startsWith('server ') && !l.includes('mlb_spare'))).toEqual([expect.stringMatching(/ check .* port 8080\b/)]);
    }
  });
});

describe('renderConfig: --group-https-by-vhost with marathon-lb-format templates', () => {
  /** marathon-lb's own grouped templates, in its format (the grouped :443 head is copied verbatim). */
  const GROUPED: Record<string, string> = {
    HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD: '\nfrontend marathon_https_in\n  bind *:443\n  mode tcp\n  tcp-request inspect-delay 5s\n  tcp-request content accept if { req_ssl_hello_type 1 }\n',
    HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_ACL: '  use_backend {backend} if {{ req_ssl_sni -i {host} }}\n',
    HAPROXY_HTTPS_GROUPED_VHOST_BACKEND_HEAD: '\nbackend {name}\n  mode tcp\n  server loopback-for-tls abns@{name} send-proxy-v2\n',
    HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_HEAD: '\nfrontend {name}\n  bind abns@{name} accept-proxy ssl {sslCerts}{bindOpts}\n  mode http\n',
  };
  const overrides = new Map<string, TemplateSource>(Object.entries(GROUPED).map(([name, source]) => [name, { source, format: 'marathon-lb', origin: `dir/${name}` }]));
  const apps = () => {
    nextPort = 15000;
    return [svc('/a', { HAPROXY_0_VHOST: 'a.com,b.com' }), svc('/own', { HAPROXY_0_VHOST: 'own.com', HAPROXY_0_SSL_CERT: OTHER_CERT, HAPROXY_0_BIND_OPTIONS: 'maxconn 100' })];
  };
  const renderWith = (set: TemplateSet) => {
    const { model } = buildModel(apps(), { groups: ['*'], reservedPorts: [80, 443, 9090, 9091] });
    return renderConfig(model, set, options({ groupHttpsByVhost: true })).config;
  };

  it('backend, host and bindOpts are known: the same config as the defaults, bind options included', () => {
    const config = renderWith(new TemplateSet(readDefaultTemplates(), overrides));
    expect(section(config, 'frontend marathon_https_in').filter((l) => l.startsWith('use_backend'))).toEqual([
      'use_backend https-group-1 if { req_ssl_sni -i a.com }',
      'use_backend https-group-1 if { req_ssl_sni -i b.com }',
      'use_backend https-group-2 if { req_ssl_sni -i own.com }',
    ]);
    expect(section(config, 'frontend https-group-1')[0]).toBe(`bind abns@https-group-1 accept-proxy ssl crt ${DEFAULT_CERT}`);
    expect(section(config, 'frontend https-group-2')[0]).toBe(`bind abns@https-group-2 accept-proxy ssl crt ${OTHER_CERT} maxconn 100`);
    // The defaults also keep idle keep-alive connections through a reload and retry no POST.
    expect(config).toBe(
      renderWith(templates).replace(/(\nfrontend https-group-\d+\n[^\n]*\n {2}mode http)\n {2}option idle-close-on-response\n {2}http-request disable-l7-retry unless METH_GET \|\| METH_HEAD/g, '$1'),
    );
  });
});

describe('renderConfig: determinism', () => {
  function world(): MarathonApp[] {
    nextPort = 13000;
    return [
      svc('/web', { HAPROXY_0_VHOST: 'a.com,b.com', HAPROXY_0_PATH: '/x' }),
      svc('/api', { HAPROXY_0_VHOST: 'a.com', HAPROXY_0_AUTH: `r:u:${HASH}`, HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }),
      svc('/db', { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8' }),
      svc('/own', { HAPROXY_0_VHOST: 'own.com', HAPROXY_0_SSL_CERT: OTHER_CERT }),
    ];
  }

  it.each<[string, Partial<RenderOptions>]>([
    ['defaults', {}],
    ['--haproxy-map', { haproxyMap: true }],
    ['--group-https-by-vhost', { groupHttpsByVhost: true }],
  ])('same input, any app order → same bytes (%s)', (_name, o) => {
    const first = render(world(), o);
    const again = render(world(), o);
    const reversed = render(world().reverse(), o);
    for (const r of [again, reversed]) {
      expect(r.config).toBe(first.config);
      expect(r.domainMap).toBe(first.domainMap);
      expect(r.appMap).toBe(first.appMap);
    }
  });
});

describe('renderConfig: HAProxy accepts what it renders', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function everything(): MarathonApp[] {
    nextPort = 14000;
    return [
      svc('/plain', { HAPROXY_0_VHOST: 'plain.com,www.plain.com' }),
      svc('/path', { HAPROXY_0_VHOST: 'plain.com', HAPROXY_0_PATH: '/api', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/api', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/api' }),
      svc('/auth', { HAPROXY_0_VHOST: 'auth.com', HAPROXY_0_AUTH: `Private zone:bob:${HASH}`, HAPROXY_0_PATH: '/admin' }),
      svc('/auth2', { HAPROXY_0_VHOST: 'auth2.com', HAPROXY_0_AUTH: `Other:alice:${HASH}` }),
      svc('/secure', { HAPROXY_0_VHOST: 'secure.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', HAPROXY_0_USE_HSTS: 'true', HAPROXY_0_STICKY: 'true', HAPROXY_0_HTTP_BACKEND_REDIR: '/home' }),
      svc('/securepath', { HAPROXY_0_VHOST: 'secure.com', HAPROXY_0_PATH: '/p', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }),
      svc('/own', { HAPROXY_0_VHOST: 'own.com', HAPROXY_0_SSL_CERT: OTHER_CERT, HAPROXY_0_BALANCE: 'leastconn' }),
      svc('/http-acl', { HAPROXY_0_MODE: 'http', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8 ::1' }, withHealthChecks({ protocol: 'HTTP', path: '/health' })),
      svc('/tcp-acl', { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '192.168.0.0/16', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_BIND_OPTIONS: 'v4v6' }, withHealthChecks({ protocol: 'TCP' })),
      svc('/https-check', { HAPROXY_0_MODE: 'http' }, withHealthChecks({ protocol: 'HTTPS', path: '/h' })),
      svc('/draining', {}, withTasks(task('10.0.0.2', [31999], inState('TASK_KILLING')))),
      svc('/fixed-check', { HAPROXY_0_MODE: 'http' }, withHealthChecks({ protocol: 'HTTP', path: '/status', port: 8080 })),
      svc('/wild', { HAPROXY_0_VHOST: '*.wild.com,wild.com', HAPROXY_0_PATH: '-i /one /two', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/w', HAPROXY_0_SSL_CERT: OTHER_CERT }),
      svc('/team/api', { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/t' }),
      svc('/team-api', { HAPROXY_0_MODE: 'http' }),
      svc('/combined', { HAPROXY_0_VHOST: 'combined.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true', HAPROXY_0_HTTP_FRONTEND_ACL: '  acl host_{cleanedUpHostname} hdr(host),field(1,:) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname}\n' }),
      svc('/label-tpl', { HAPROXY_0_BACKEND_HEAD: '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  timeout server 60s\n', HAPROXY_0_FRONTEND_HEAD: '\nfrontend {{backend}}\n  bind {{bindAddr}}:{{servicePort}}\n  mode {{mode}}\n' }),
      app('/empty', withPortDefinitions(14999)),
    ];
  }

  async function expectAccepted(r: Rendered, dir: string): Promise<void> {
    writeFileSync(join(dir, 'haproxy.cfg'), r.config);
    writeFileSync(join(dir, 'domain2backend.map'), r.domainMap);
    writeFileSync(join(dir, 'app2backend.map'), r.appMap);
    writeFileSync(join(dir, 'haproxy.state'), EMPTY_SERVER_STATE);
    const check = await validateConfig(join(dir, 'haproxy.cfg'), HAPROXY_BIN, dir);
    expect(check.alerts, check.output).toEqual([]);
    expect(check.warnings, check.output).toEqual([]);
    expect(check.ok, check.output).toBe(true);
  }

  /** everything() rendered (into a directory of its own) with these marathon-lb-format overrides (--templates DIR); no warning. */
  function renderEverythingWith(texts: Record<string, string>, o: Partial<RenderOptions>): { r: Rendered; dir: string } {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-render-'));
    dirs.push(dir);
    const overrides = new Map<string, TemplateSource>(Object.entries(texts).map(([name, source]) => [name, { source, format: 'marathon-lb', origin: `dir/${name}` }]));
    const { model, warnings } = buildModel(everything(), { groups: ['*'], reservedPorts: [80, 443, 9090, 9091] });
    expect(warnings).toEqual([]);
    const r = renderConfig(model, new TemplateSet(readDefaultTemplates(), overrides), options({ haproxyDir: dir, stateFile: join(dir, 'haproxy.state'), adminSocket: join(dir, 'socket'), ...o }));
    expect(r.warnings).toEqual([]);
    return { r, dir };
  }

  it.each<[string, Partial<RenderOptions>]>([
    ['defaults', {}],
    ['--group-https-by-vhost', { groupHttpsByVhost: true }],
  ])('verbatim templates overridden in marathon-lb format (--templates DIR), %s: copied as they are, and haproxy -c passes', async (_name, o) => {
    const { r, dir } = renderEverythingWith(VERBATIM_TEXT, o);
    for (const [name, text] of Object.entries(VERBATIM_TEXT)) {
      if (name === (o.groupHttpsByVhost ? 'HAPROXY_HTTPS_FRONTEND_HEAD' : 'HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD')) continue;
      expect(r.config, name).toContain(text);
    }
    await expectAccepted(r, dir);
  });

  /**
   * Overrides cut as marathon-lb cuts its routing templates: the _ONLY_WITH_PATH pieces declare
   * the path ACL alone (the host ACL is HTTP_FRONTEND_ACL_ONLY's), the :443 path ACL is a piece of
   * its own, and the auth pieces name an auth ACL declared by another. Written here in marathon-lb's format.
   */
  const MARATHON_LB_CUT: Record<string, string> = {
    HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH: '  acl path_{backend} path_beg -i {path}\n',
    HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH: '  acl path_{backend} path_beg -i {path}\n  acl auth_{cleanedUpHostname} http_auth(user_{backend})\n',
    HAPROXY_HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH: '  http-request auth realm "{realm}" if host_{cleanedUpHostname} path_{backend} !auth_{cleanedUpHostname}\n  use_backend {backend} if host_{cleanedUpHostname} path_{backend}\n',
    HAPROXY_HTTPS_FRONTEND_ACL_ONLY_WITH_PATH: '  acl path_{backend} path_beg -i {path}\n',
    HAPROXY_HTTPS_FRONTEND_ACL_WITH_PATH: '  use_backend {backend} if {{ ssl_fc_sni {hostname} }} path_{backend}\n',
    HAPROXY_HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH: '  acl auth_{cleanedUpHostname} http_auth(user_{backend})\n  http-request auth realm "{realm}" if {{ ssl_fc_sni {hostname} }} path_{backend} !auth_{cleanedUpHostname}\n  use_backend {backend} if {{ ssl_fc_sni {hostname} }} path_{backend}\n',
    HAPROXY_HTTPS_FRONTEND_AUTH_ACL_ONLY: '  acl auth_{cleanedUpHostname} http_auth(user_{backend})\n',
    HAPROXY_HTTPS_FRONTEND_AUTH_REQUEST_ONLY: '  http-request auth realm "{realm}" if {{ ssl_fc_sni {hostname} }} !auth_{cleanedUpHostname}\n',
    HAPROXY_HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH: '  use_backend {backend} if {{ ssl_fc_sni {hostname} }} path_{backend}\n',
    HAPROXY_MAP_HTTP_FRONTEND_ACL_ONLY: '  use_backend %[req.hdr(host),lower,map({haproxy_dir}/domain2backend.map)]\n',
  };

  it.each<[string, Partial<RenderOptions>]>([
    ['defaults', {}],
    ['--group-https-by-vhost', { groupHttpsByVhost: true }],
    ['--haproxy-map', { haproxyMap: true }],
  ])('routing pieces cut as marathon-lb cuts them, overridden in its format (--templates DIR), %s: used, and haproxy -c passes', async (_name, o) => {
    const { r, dir } = renderEverythingWith(MARATHON_LB_CUT, o);
    const at = (header: string) => section(r.config, header);
    const https = o.groupHttpsByVhost ? [...at('frontend https-group-1'), ...at('frontend https-group-2')] : at('frontend marathon_https_in');
    expect(at('frontend marathon_http_in')).toContain('acl path_path_14001 path_beg -i /api');
    expect(at('frontend marathon_http_in')).toContain('http-request auth realm "Private zone" if host_auth_com path_auth_14002 !auth_auth_com');
    expect(https).toContain('acl path_auth_14002 path_beg -i /admin');
    expect(https).toContain('http-request auth realm "Private zone" if { ssl_fc_sni auth.com } path_auth_14002 !auth_auth_com');
    await expectAccepted(r, dir);
  });

  it.each(['HAPROXY_BACKEND_HTTP_OPTIONS', 'HAPROXY_BACKEND_STICKY_OPTIONS', 'HAPROXY_BACKEND_HSTS_OPTIONS', 'HAPROXY_HTTP_BACKEND_ACL_ALLOW_DENY', 'HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY'].map((n) => [n]))(
    '%s as a per-app label in marathon-lb format: copied as it is, no port dropped, and haproxy -c passes',
    async (name) => {
      const dir = mkdtempSync(join(tmpdir(), 'mlb-render-'));
      dirs.push(dir);
      const tcp = name === 'HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY';
      const labels = { [`HAPROXY_0_${name.slice('HAPROXY_'.length)}`]: VERBATIM_TEXT[name]!, HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8' };
      nextPort = 14500;
      const r = render([svc('/web', tcp ? labels : { ...labels, HAPROXY_0_VHOST: 'web.com', HAPROXY_0_STICKY: 'true', HAPROXY_0_USE_HSTS: 'true' })], { haproxyDir: dir, stateFile: join(dir, 'haproxy.state'), adminSocket: join(dir, 'socket') });
      expect(r.warnings).toEqual([]);
      expect(r.services).toHaveLength(1);
      expect(r.config).toContain(VERBATIM_TEXT[name]);
      await expectAccepted(r, dir);
    },
  );

  it.each<[string, Partial<RenderOptions>]>([
    ['defaults, with spare slots and the API backend', { spareSlots: () => 2, mlbApi: '127.0.0.1:9095' }],
    ['--haproxy-map', { haproxyMap: true }],
    ['--group-https-by-vhost', { groupHttpsByVhost: true }],
    ['--dont-bind-http-https', { dontBindHttpHttps: true }],
  ])('%s: haproxy -c passes without a warning', async (_name, o) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-render-'));
    dirs.push(dir);
    const r = render(everything(), { haproxyDir: dir, stateFile: join(dir, 'haproxy.state'), adminSocket: join(dir, 'socket'), ...o });
    expect(r.services).toHaveLength(everything().length);
    await expectAccepted(r, dir);
  });
});
