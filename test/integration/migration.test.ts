import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarathonApp } from '../../src/marathon/types.js';
import { type Backend, type BackendReply, startBackend, stopAll } from '../helpers/backends.js';
import { app, task, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { checkRendered, retryWhilePortTaken, startHaproxy } from '../helpers/haproxy.js';
import { jsonOf, request, type RequestOptions } from '../helpers/http.js';
import { boundPorts, freeLbPorts, type LbPorts, renderApps } from '../helpers/lb.js';
import { freePorts } from '../helpers/ports.js';

/**
 * Acceptance: overrides written for marathon-lb (extension-less files and label values in
 * Python format syntax) render the same config, and so the same routing, as the same
 * overrides written in Handlebars.
 */

/** The same overrides twice: marathon-lb's `{name}` / `{{`…`}}` syntax, and Handlebars. */
const DIR_OVERRIDES: Record<string, { marathonLb: string; handlebars: string }> = {
  // Also accept the host from an X-Mlb-Host header (two acl lines of one name are OR-ed).
  HAPROXY_HTTP_FRONTEND_ACL_ONLY: {
    marathonLb: '  acl host_{cleanedUpHostname} hdr(host),field(1,:) -i {hostname}\n  acl host_{cleanedUpHostname} req.hdr(x-mlb-host) -i {hostname}\n',
    handlebars: '  acl host_{{cleanedUpHostname}} hdr(host),field(1,:) -i {{hostname}}\n  acl host_{{cleanedUpHostname}} req.hdr(x-mlb-host) -i {{hostname}}\n',
  },
  // A request carrying X-Block matches no vhost rule.
  HAPROXY_HTTP_FRONTEND_ROUTING_ONLY: {
    marathonLb: '  use_backend {backend} if host_{cleanedUpHostname} !{{ req.hdr(x-block) -m found }}\n',
    handlebars: '  use_backend {{backend}} if host_{{cleanedUpHostname}} !{ req.hdr(x-block) -m found }\n',
  },
  HAPROXY_BACKEND_HEAD: {
    marathonLb: '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  http-response set-header X-Served-By {backend}\n',
    handlebars: '\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  http-response set-header X-Served-By {{backend}}\n',
  },
  // marathon-lb copies this one as it is (no str.format): its single braces are HAProxy's, in both.
  HAPROXY_BACKEND_HTTP_OPTIONS: {
    marathonLb: '  option forwardfor\n  http-request set-header X-Forwarded-Port %[dst_port]\n  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n  http-response set-header X-Server %s\n',
    handlebars: '  option forwardfor\n  http-request set-header X-Forwarded-Port %[dst_port]\n  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n  http-response set-header X-Server %s\n',
  },
  HAPROXY_FRONTEND_HEAD: {
    marathonLb: '\nfrontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert}{bindOptions}\n  mode {mode}\n  http-request set-header X-Entry svc-{servicePort}\n',
    handlebars: '\nfrontend {{backend}}\n  bind {{bindAddr}}:{{servicePort}}{{sslCert}}{{bindOptions}}\n  mode {{mode}}\n  http-request set-header X-Entry svc-{{servicePort}}\n',
  },
  // Server names get a prefix, which X-Server (%s) shows.
  HAPROXY_BACKEND_SERVER_OPTIONS: {
    marathonLb: '  server mig-{serverName} {host_ipv4}:{port} id {serverId}{cookieOptions}{healthCheckOptions}{otherOptions}\n',
    handlebars: '  server mig-{{serverName}} {{host_ipv4}}:{{port}} id {{serverId}}{{cookieOptions}}{{healthCheckOptions}}{{otherOptions}}\n',
  },
};

const BACKEND_HEAD_LABEL = {
  marathonLb: '\nbackend {backend}\n  balance {balance}\n  mode {mode}\n  http-response set-header X-Backend-Head {appId} if {{ status 200 }}\n',
  handlebars: '\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  http-response set-header X-Backend-Head {{appId}} if { status 200 }\n',
};

/** What a client sees for one request: who answered and the headers the overrides add. */
interface Observation {
  status: number;
  backend?: string;
  servedBy?: string;
  server?: string;
  backendHead?: string;
  entry?: string;
}

interface Probe {
  what: string;
  req: RequestOptions;
}

let root = '';
let lbDir = '';
let ports: LbPorts;
let webPort = 0;
let blogPort = 0;
const backends: Backend[] = [];
let web: Backend;
let blog: Backend;

function appsWith(webLabels: Record<string, string> = {}): MarathonApp[] {
  const labels = (port: number, vhost: string) => ({ HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(port), HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: vhost });
  return [
    app('/web', withPortDefinitions(10001), withLabels({ ...labels(webPort, 'web.test'), ...webLabels }), withTasks(task('127.0.0.1', [web.port]))),
    app('/blog', withPortDefinitions(10002), withLabels(labels(blogPort, 'blog.test')), withTasks(task('127.0.0.1', [blog.port]))),
  ];
}

function probes(): Probe[] {
  const http = (o: Omit<RequestOptions, 'port'>) => ({ port: ports.http, ...o });
  return [
    { what: 'Host web.test', req: http({ hostHeader: 'web.test' }) },
    { what: 'Host blog.test', req: http({ hostHeader: 'blog.test' }) },
    { what: 'X-Mlb-Host blog.test', req: http({ hostHeader: 'nobody.test', headers: { 'x-mlb-host': 'blog.test' } }) },
    { what: 'Host web.test with X-Block', req: http({ hostHeader: 'web.test', headers: { 'x-block': '1' } }) },
    { what: 'Host web.test, path /internal', req: http({ hostHeader: 'web.test', path: '/internal' }) },
    { what: 'service port of /web', req: { port: webPort } },
    { what: 'app id /blog', req: { port: ports.appId, headers: { 'x-marathon-app-id': '/blog' } } },
  ];
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

async function observe(req: RequestOptions): Promise<Observation> {
  const res = await request(req);
  const reply = res.status === 200 ? jsonOf<BackendReply>(res) : undefined;
  const o: Observation = { status: res.status };
  const set = (key: keyof Omit<Observation, 'status'>, v: string | undefined) => {
    if (v !== undefined) o[key] = v;
  };
  set('backend', reply?.name);
  set('servedBy', header(res.headers['x-served-by']));
  set('server', header(res.headers['x-server']));
  set('backendHead', header(res.headers['x-backend-head']));
  set('entry', header(reply?.headers['x-entry']));
  return o;
}

/**
 * Renders into the one shared directory (so configs of different runs can be compared byte
 * for byte), keeps a copy of the config under `name`, and returns its text.
 */
async function renderVariant(name: string, apps: MarathonApp[], extra: string[] = []): Promise<{ config: string; path: string }> {
  const { config } = await renderApps(lbDir, apps, ports, ['--group', 'external', ...extra]);
  const check = await checkRendered(lbDir);
  expect(check.alerts, check.output).toEqual([]);
  expect(check.warnings, check.output).toEqual([]);
  const path = join(root, `${name}.cfg`);
  copyFileSync(join(lbDir, 'haproxy.cfg'), path);
  return { config, path };
}

/** Runs HAProxy on a config, sends every probe, stops it. */
async function observeAll(configPath: string, name: string): Promise<Record<string, Observation>> {
  const haproxy = await startHaproxy(configPath, { masterSocket: join(root, `${name}.sock`), ports: boundPorts(ports, [webPort, blogPort]) });
  try {
    const out: Record<string, Observation> = {};
    for (const p of probes()) out[p.what] = await observe(p.req);
    return out;
  } finally {
    await haproxy.stop();
  }
}

function writeTemplateDir(name: string, format: 'marathonLb' | 'handlebars'): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [template, text] of Object.entries(DIR_OVERRIDES)) {
    writeFileSync(join(dir, format === 'handlebars' ? `${template}.hbs` : template), text[format]);
  }
  return dir;
}

interface Comparison {
  marathonLb: { config: string; seen: Record<string, Observation> };
  handlebars: { config: string; seen: Record<string, Observation> };
  /** The same apps without any override. */
  defaults: { config: string };
}

/**
 * On fresh ports: renders the same apps three ways (marathon-lb overrides, Handlebars
 * overrides, none) and probes HAProxy on the first two, one after the other.
 */
function compare(name: string, variants: { marathonLb: () => [MarathonApp[], string[]]; handlebars: () => [MarathonApp[], string[]]; defaults: () => MarathonApp[] }): Promise<Comparison> {
  return retryWhilePortTaken(async () => {
    ports = await freeLbPorts();
    [webPort, blogPort] = (await freePorts(2)) as [number, number];
    const mlb = await renderVariant(`${name}-marathon-lb`, ...variants.marathonLb());
    const hbs = await renderVariant(`${name}-handlebars`, ...variants.handlebars());
    const defaults = await renderVariant(`${name}-defaults`, variants.defaults());
    return {
      marathonLb: { config: mlb.config, seen: await observeAll(mlb.path, `${name}-marathon-lb`) },
      handlebars: { config: hbs.config, seen: await observeAll(hbs.path, `${name}-handlebars`) },
      defaults: { config: defaults.config },
    };
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mlb-ts-migration-'));
  lbDir = join(root, 'lb');
  mkdirSync(lbDir);
  web = await startBackend({ name: 'web' });
  backends.push(web);
  blog = await startBackend({ name: 'blog' });
  backends.push(blog);
});

afterAll(async () => {
  await stopAll(backends);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('marathon-lb-format overrides render and route like their Handlebars twins', () => {
  it('a --templates dir of extension-less marathon-lb files = the same dir in .hbs files: same bytes, same routing', async () => {
    const mlbDir = writeTemplateDir('tpl-marathon-lb', 'marathonLb');
    const hbsDir = writeTemplateDir('tpl-handlebars', 'handlebars');
    const run = await compare('dir', {
      marathonLb: () => [appsWith(), ['--templates', mlbDir]],
      handlebars: () => [appsWith(), ['--templates', hbsDir]],
      defaults: () => appsWith(),
    });
    expect(run.marathonLb.config).toBe(run.handlebars.config);
    expect(run.marathonLb.config).not.toBe(run.defaults.config);
    // Python's literal braces came out as single braces.
    expect(run.marathonLb.config).toContain('!{ req.hdr(x-block) -m found }');
    expect(run.marathonLb.config).not.toContain('{{');

    expect(run.marathonLb.seen).toEqual(run.handlebars.seen);
    const mig = expect.stringMatching(/^mig-127_0_0_1_/);
    expect(run.marathonLb.seen).toEqual({
      'Host web.test': { status: 200, backend: 'web', servedBy: `web_${webPort}`, server: mig },
      'Host blog.test': { status: 200, backend: 'blog', servedBy: `blog_${blogPort}`, server: mig },
      'X-Mlb-Host blog.test': { status: 200, backend: 'blog', servedBy: `blog_${blogPort}`, server: mig },
      'Host web.test with X-Block': { status: 503 },
      'Host web.test, path /internal': { status: 200, backend: 'web', servedBy: `web_${webPort}`, server: mig },
      'service port of /web': { status: 200, backend: 'web', servedBy: `web_${webPort}`, server: mig, entry: `svc-${webPort}` },
      'app id /blog': { status: 200, backend: 'blog', servedBy: `blog_${blogPort}`, server: mig },
    });
  });

  it('a per-app HAPROXY_0_BACKEND_HEAD label in marathon-lb format = the same label in Handlebars: same bytes, same routing', async () => {
    const run = await compare('label', {
      marathonLb: () => [appsWith({ HAPROXY_0_BACKEND_HEAD: BACKEND_HEAD_LABEL.marathonLb }), []],
      handlebars: () => [appsWith({ HAPROXY_0_BACKEND_HEAD: BACKEND_HEAD_LABEL.handlebars }), []],
      defaults: () => appsWith(),
    });
    expect(run.marathonLb.config).toBe(run.handlebars.config);
    expect(run.marathonLb.config).not.toBe(run.defaults.config);
    expect(run.marathonLb.config).toContain('  http-response set-header X-Backend-Head /web if { status 200 }\n');

    const seen = run.marathonLb.seen;
    expect(seen).toEqual(run.handlebars.seen);
    expect(seen['Host web.test']).toEqual({ status: 200, backend: 'web', backendHead: '/web' });
    expect(seen['service port of /web']).toEqual({ status: 200, backend: 'web', backendHead: '/web' });
    expect(seen['Host web.test with X-Block']).toEqual({ status: 200, backend: 'web', backendHead: '/web' });
    // The label is /web's own: /blog keeps the default head.
    expect(seen['Host blog.test']).toEqual({ status: 200, backend: 'blog' });
  });

  it("labels with marathon-lb's escaped inline ACL and a template marathon-lb copies verbatim = their Handlebars twins: same bytes, same routing", async () => {
    // marathon-lb's format: `!{{ path /internal }}` is an escaped inline ACL (its first word is
    // the name of a variable, `path`); BACKEND_HTTP_OPTIONS is not formatted, so `{ ssl_fc }`.
    const options = '  option forwardfor\n  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n  http-response set-header X-Served-By web-options if { status 200 }\n';
    const marathonLb = {
      HAPROXY_0_HTTP_FRONTEND_ACL: '  acl host_{cleanedUpHostname} hdr(host) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname} !{{ path /internal }}\n',
      HAPROXY_0_BACKEND_HTTP_OPTIONS: options,
    };
    const handlebars = {
      HAPROXY_0_HTTP_FRONTEND_ACL: '  acl host_{{cleanedUpHostname}} hdr(host) -i {{hostname}}\n  use_backend {{backend}} if host_{{cleanedUpHostname}} !{ path /internal }\n',
      HAPROXY_0_BACKEND_HTTP_OPTIONS: options,
    };
    const run = await compare('inline-acl', {
      marathonLb: () => [appsWith(marathonLb), []],
      handlebars: () => [appsWith(handlebars), []],
      defaults: () => appsWith(),
    });
    expect(run.marathonLb.config).toBe(run.handlebars.config);
    expect(run.marathonLb.config).not.toBe(run.defaults.config);
    expect(run.marathonLb.config).toContain(`  use_backend web_${webPort} if host_web_test !{ path /internal }\n`);
    expect(run.marathonLb.config).toContain(options);

    const seen = run.marathonLb.seen;
    expect(seen).toEqual(run.handlebars.seen);
    expect(seen['Host web.test']).toEqual({ status: 200, backend: 'web', servedBy: 'web-options' });
    expect(seen['Host web.test, path /internal']).toEqual({ status: 503 });
    expect(seen['service port of /web']).toEqual({ status: 200, backend: 'web', servedBy: 'web-options' });
    expect(seen['Host blog.test']).toEqual({ status: 200, backend: 'blog' });
  });
});
