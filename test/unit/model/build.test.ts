import { describe, expect, it } from 'vitest';
import type { HealthCheckDef, MarathonApp } from '../../../src/marathon/types.js';
import { buildModel, type ModelOptions, type ModelResult } from '../../../src/model/build.js';
import { assignedServicePorts } from '../../../src/model/service-ports.js';
import type { Service, Warning } from '../../../src/model/types.js';
import {
  app,
  type AppPart,
  inState,
  task,
  withBridge,
  withContainerNetwork,
  withDockerNetwork,
  withHealth,
  withHealthChecks,
  withIp,
  withIpAddress,
  withLabels,
  withPortDefinitions,
  withTaskId,
  withTasks,
} from '../../helpers/builders.js';

const RESERVED = [80, 443, 9090, 9091];

function build(apps: MarathonApp[], opts: Partial<ModelOptions> = {}): ModelResult {
  return buildModel(apps, { groups: ['*'], reservedPorts: RESERVED, ...opts });
}

/** The one service the model has; fails when there are several or none. */
function onlyService(result: ModelResult): Service {
  expect(result.model.services.map((s) => s.backend)).toHaveLength(1);
  return result.model.services[0] as Service;
}

/** A host-networking app on service port 10000 with one running task. */
function web(labels: Record<string, unknown> = {}, ...parts: AppPart[]): MarathonApp {
  return app('/web', withPortDefinitions(10000), withLabels(labels), withTasks(task('10.0.0.1', [31000])), ...parts);
}

const codes = (warnings: Warning[]) => warnings.map((w) => w.code);

describe('buildModel: one table row per label (LABELS.md)', () => {
  const httpCheck: HealthCheckDef = { protocol: 'HTTP', path: '/health', intervalSeconds: 5, timeoutSeconds: 2, maxConsecutiveFailures: 2 };

  it.each<[string, Record<string, string>, Partial<Service>, AppPart[]?]>([
    ['defaults', {}, { appId: '/web', sourceAppIds: ['/web'], portIndex: 0, servicePort: 10000, servicePortSource: 'marathon', backend: 'web_10000', mode: 'tcp', vhosts: [], backendWeight: 0, bindAddr: '*', bindOptions: '', balance: 'roundrobin', sticky: false, redirectToHttps: false, useHsts: false, templates: {} }],
    ['PORT', { HAPROXY_0_PORT: '12000' }, { servicePort: 12000, servicePortSource: 'label', backend: 'web_12000' }],
    ['MODE http', { HAPROXY_0_MODE: 'http' }, { mode: 'http' }],
    ['MODE TCP (any case)', { HAPROXY_0_MODE: 'TCP' }, { mode: 'tcp' }],
    ['MODE default with a VHOST: http', { HAPROXY_0_VHOST: 'a.example.com' }, { mode: 'http' }],
    ['MODE default with an HTTP health check: http', {}, { mode: 'http' }, [withHealthChecks(httpCheck)]],
    ['MODE default with a TCP health check: tcp', {}, { mode: 'tcp' }, [withHealthChecks({ protocol: 'TCP' })]],
    ['MODE default with a MESOS_HTTP health check: tcp', {}, { mode: 'tcp' }, [withHealthChecks({ protocol: 'MESOS_HTTP' })]],
    ['MODE label wins over an HTTP health check', { HAPROXY_0_MODE: 'tcp' }, { mode: 'tcp' }, [withHealthChecks(httpCheck)]],
    ['VHOST: several, lowercased, deduplicated', { HAPROXY_0_VHOST: 'A.Example.com, b.example.com,a.example.com' }, { vhosts: ['a.example.com', 'b.example.com'], mode: 'http' }],
    ['PATH with a VHOST; weight 0 → 1', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_PATH: '/api' }, { path: '/api', backendWeight: 1 }],
    ['PATH with an explicit weight 0 → 1', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_PATH: '/api', HAPROXY_0_BACKEND_WEIGHT: '0' }, { path: '/api', backendWeight: 1 }],
    ['PATH keeps a larger weight', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_PATH: '/api', HAPROXY_0_BACKEND_WEIGHT: '7' }, { path: '/api', backendWeight: 7 }],
    ['BACKEND_WEIGHT', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_BACKEND_WEIGHT: '5' }, { backendWeight: 5 }],
    ['BACKEND_WEIGHT negative', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_BACKEND_WEIGHT: '-2' }, { backendWeight: -2 }],
    ['BIND_ADDR', { HAPROXY_0_BIND_ADDR: '127.0.0.1' }, { bindAddr: '127.0.0.1' }],
    ['BIND_OPTIONS (whitespace collapsed)', { HAPROXY_0_BIND_OPTIONS: ' accept-proxy   v4v6 ' }, { bindOptions: 'accept-proxy v4v6' }],
    ['SSL_CERT', { HAPROXY_0_SSL_CERT: '/etc/ssl/web.pem' }, { sslCert: '/etc/ssl/web.pem' }],
    ['BALANCE', { HAPROXY_0_BALANCE: 'leastconn' }, { balance: 'leastconn' }],
    ['STICKY (http)', { HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'true' }, { sticky: true }],
    ['STICKY y', { HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'Y' }, { sticky: true }],
    ['STICKY no', { HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'no' }, { sticky: false }],
    ['REDIRECT_TO_HTTPS with a VHOST', { HAPROXY_0_VHOST: 'a.example.com', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }, { redirectToHttps: true }],
    ['REDIRECT_TO_HTTPS without a VHOST has nothing to redirect', { HAPROXY_0_MODE: 'http', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }, { redirectToHttps: false }],
    ['USE_HSTS', { HAPROXY_0_MODE: 'http', HAPROXY_0_USE_HSTS: 'yes' }, { useHsts: true }],
    ['AUTH', { HAPROXY_0_MODE: 'http', HAPROXY_0_AUTH: 'Members only:bob:$6$salt$hash' }, { auth: { realm: 'Members only', user: 'bob', password: '$6$salt$hash' } }],
    ['BACKEND_NETWORK_ALLOWED_ACL', { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8 192.168.1.1' }, { allowedNetworks: ['10.0.0.0/8', '192.168.1.1'] }],
    ['HTTP_BACKEND_PROXYPASS_PATH (trailing slash dropped)', { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/api/' }, { proxypassPath: '/api' }],
    ['HTTP_BACKEND_PROXYPASS_PATH /', { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/' }, { proxypassPath: '/' }],
    ['HTTP_BACKEND_REVPROXY_PATH', { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/web/' }, { revproxyPath: '/web' }],
    ['HTTP_BACKEND_REDIR', { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_REDIR: '/home' }, { redirPath: '/home' }],
    ['HAPROXY_APP_ID renames routing and backend', { HAPROXY_APP_ID: 'shop' }, { appId: '/shop', sourceAppIds: ['/web'], backend: 'shop_10000' }],
    ['HAPROXY_APP_ID with a slash', { HAPROXY_APP_ID: '/team/shop' }, { appId: '/team/shop', backend: 'team_shop_10000' }],
    ['HAPROXY_DEPLOYMENT_GROUP alone', { HAPROXY_DEPLOYMENT_GROUP: 'web' }, { deploymentGroup: 'web' }],
    ['BACKEND_HEALTHCHECK_PORT_INDEX is the check port index', { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, { healthCheckPortIndex: 0 }, [withHealthChecks({ protocol: 'TCP' })]],
    ['BACKEND_HEALTHCHECK_PORT_INDEX without a check is still the check port index', { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, { healthCheckPortIndex: 0, healthCheck: undefined }],
    ['check port index default: the port index of the check used', {}, { healthCheckPortIndex: 0 }, [withHealthChecks({ protocol: 'TCP' })]],
    ['check port index default with a COMMAND check (no HAProxy check): unset', {}, { healthCheckPortIndex: undefined, healthCheck: undefined }, [withHealthChecks({ protocol: 'COMMAND' })]],
    ['a per-port template label', { HAPROXY_0_BACKEND_HEAD: '\nbackend {backend}\n' }, { templates: { HAPROXY_BACKEND_HEAD: ['HAPROXY_0_BACKEND_HEAD', '\nbackend {backend}\n'] } }],
  ])('%s', (_name, labels, expected, parts = []) => {
    const result = build([web(labels, ...parts)]);
    expect(result.warnings).toEqual([]);
    const s = onlyService(result);
    expect(s).toMatchObject(expected);
    // toMatchObject takes `{}` as "any object": templates are compared whole.
    expect(s.templates).toEqual(expected.templates ?? {});
  });

  it('an absent optional label leaves its field unset (and out of the model as JSON)', () => {
    const s = onlyService(build([web()]));
    const json = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
    for (const key of ['path', 'sslCert', 'auth', 'allowedNetworks', 'healthCheck', 'healthCheckPortIndex', 'proxypassPath', 'revproxyPath', 'redirPath', 'deploymentGroup'] as const) {
      expect(s[key], key).toBeUndefined();
      expect(json, key).not.toHaveProperty(key);
    }
  });

  it('health check: the first Marathon check of the port becomes the HAProxy check', () => {
    const s = onlyService(build([web({}, withHealthChecks(httpCheck))]));
    expect(s.healthCheck).toEqual({ protocol: 'http', path: '/health', intervalSeconds: 5, timeoutSeconds: 2, falls: 3, maxConsecutiveFailures: 2, gracePeriodSeconds: 300 });
  });

  it('BACKEND_HEALTHCHECK_PORT_INDEX: the check of that index, on that port of each task', () => {
    const a = app(
      '/web',
      withPortDefinitions(10000, 10001),
      withLabels({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1', HAPROXY_1_ENABLED: 'false' }),
      withHealthChecks({ protocol: 'TCP', portIndex: 1, intervalSeconds: 3 }),
      withTasks(task('10.0.0.1', [31000, 31001]), task('10.0.0.2', [32000, 32001])),
    );
    const s = onlyService(build([a]));
    expect(s.healthCheck).toMatchObject({ protocol: 'tcp', intervalSeconds: 3 });
    expect(s.healthCheckPortIndex).toBe(1);
    expect(s.servers.map((sv) => [sv.port, sv.checkPort])).toEqual([
      [31000, 31001],
      [32000, 32001],
    ]);
  });

  it('BACKEND_HEALTHCHECK_PORT_INDEX without a health check adds no check port (HAProxy would refuse it at run time)', () => {
    const a = app('/web', withPortDefinitions(10000, 10001), withLabels({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }), withTasks(task('10.0.0.1', [31000, 31001])));
    const s = build([a]).model.services.find((x) => x.portIndex === 0) as Service;
    expect(s.healthCheck).toBeUndefined();
    expect(s.servers[0]).not.toHaveProperty('checkPort');
  });

  it('BACKEND_HEALTHCHECK_PORT_INDEX of the port itself adds no check port', () => {
    const a = web({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, withHealthChecks({ protocol: 'TCP' }));
    expect(onlyService(build([a])).servers[0]).not.toHaveProperty('checkPort');
  });

  it("VHOST with a host:port entry (as in marathon-lb app definitions): served on the host, one W_LABEL_IGNORED about the port", () => {
    const result = build([web({ HAPROXY_0_VHOST: 'pre1,pre2,pre1:9000' })]);
    expect(onlyService(result).vhosts).toEqual(['pre1', 'pre2']);
    expect(result.warnings).toEqual([{ code: 'W_LABEL_IGNORED', appId: '/web', label: 'HAPROXY_0_VHOST', message: 'the port of pre1:9000 is ignored: vhosts route by host name, whatever the port in the Host header' }]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['PATH without VHOST', { HAPROXY_0_MODE: 'http', HAPROXY_0_PATH: '/api' }, 'HAPROXY_0_PATH'],
    ['STICKY in tcp', { HAPROXY_0_STICKY: 'true' }, 'HAPROXY_0_STICKY'],
    ['VHOST with MODE tcp', { HAPROXY_0_MODE: 'tcp', HAPROXY_0_VHOST: 'a.example.com' }, 'HAPROXY_0_VHOST'],
    ['AUTH in tcp', { HAPROXY_0_AUTH: 'r:u:p' }, 'HAPROXY_0_AUTH'],
    ['REDIRECT_TO_HTTPS in tcp', { HAPROXY_0_REDIRECT_TO_HTTPS: 't' }, 'HAPROXY_0_REDIRECT_TO_HTTPS'],
    ['USE_HSTS in tcp', { HAPROXY_0_USE_HSTS: 'true' }, 'HAPROXY_0_USE_HSTS'],
    ['PROXYPASS in tcp', { HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/a' }, 'HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH'],
    ['REVPROXY in tcp', { HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/a' }, 'HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH'],
    ['REDIR in tcp', { HAPROXY_0_HTTP_BACKEND_REDIR: '/a' }, 'HAPROXY_0_HTTP_BACKEND_REDIR'],
    ['BALANCE uri in tcp', { HAPROXY_0_BALANCE: 'uri' }, 'HAPROXY_0_BALANCE'],
    ['BALANCE hdr(host) in tcp', { HAPROXY_0_BALANCE: 'hdr(host) use_domain_only' }, 'HAPROXY_0_BALANCE'],
    ['BALANCE url_param in tcp', { HAPROXY_0_BALANCE: 'url_param id' }, 'HAPROXY_0_BALANCE'],
  ])('%s: served, the label ignored with one W_LABEL_IGNORED', (_name, labels, label) => {
    const result = build([web(labels)]);
    const s = onlyService(result);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'W_LABEL_IGNORED', appId: '/web', label })]);
    expect(s.balance).toBe('roundrobin');
    expect(s.sticky || s.useHsts || s.redirectToHttps).toBe(false);
    for (const key of ['path', 'auth', 'proxypassPath', 'revproxyPath', 'redirPath'] as const) expect(s[key], key).toBeUndefined();
    expect(s.vhosts).toEqual([]);
  });

  it('a false http-only label in tcp mode is no cause for a warning', () => {
    expect(build([web({ HAPROXY_0_STICKY: 'false', HAPROXY_0_USE_HSTS: 'no' })]).warnings).toEqual([]);
  });

  it.each([
    ['tcp', 'source'],
    ['http', 'uri whole'],
  ])('mode %s keeps BALANCE %j without a warning', (mode, balance) => {
    const result = build([web({ HAPROXY_0_MODE: mode, HAPROXY_0_BALANCE: balance })]);
    expect(result.warnings).toEqual([]);
    expect(onlyService(result).balance).toBe(balance);
  });

  it.each([
    ['with a space', '/health check', true],
    ['relative', 'health', true],
    ['plain', '/health', false],
  ])('a Marathon HTTP health check path %s: checked at / with a W_HEALTHCHECK_PATH warning, or as it is', (_name, path, warned) => {
    const result = build([web({ HAPROXY_0_MODE: 'http' }, withHealthChecks({ protocol: 'HTTP', path }))]);
    expect(onlyService(result).healthCheck?.path).toBe(warned ? '/' : path);
    expect(result.warnings.map((w) => w.code)).toEqual(warned ? ['W_HEALTHCHECK_PATH'] : []);
  });
});

describe('buildModel: selection', () => {
  const grouped = (id: string, labels: Record<string, string>, port: number) => app(id, withPortDefinitions(port), withLabels(labels), withTasks(task('10.0.0.1', [31000])));

  it.each<[string, Record<string, string>]>([
    ['an app of another group', { HAPROXY_GROUP: 'internal', HAPROXY_0_PORT: 'abc', HAPROXY_0_VHOTS: 'x', HAPROXY_7_VHOST: 'y.example.com' }],
    ['a port of another group', { HAPROXY_GROUP: 'external', HAPROXY_0_GROUP: 'internal', HAPROXY_0_PORT: 'abc' }],
  ])('%s is not ours: no warning about its labels', (_name, labels) => {
    const result = build([grouped('/other', labels, 10000)], { groups: ['external'] });
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it.each<[string, Record<string, string>, string[], boolean]>([
    ['app group matches --group', { HAPROXY_GROUP: 'external' }, ['external'], true],
    ['app group does not match', { HAPROXY_GROUP: 'external' }, ['internal'], false],
    ['one of several app groups matches', { HAPROXY_GROUP: 'a, external' }, ['external'], true],
    ['one of several --group values matches', { HAPROXY_GROUP: 'internal' }, ['external', 'internal'], true],
    ['no group and a --group', {}, ['external'], false],
    ["no group and --group '*'", {}, ['*'], true],
    ["any group and --group '*'", { HAPROXY_GROUP: 'whatever' }, ['*'], true],
    ['port group overrides the app group (match)', { HAPROXY_GROUP: 'external', HAPROXY_0_GROUP: 'internal' }, ['internal'], true],
    ['port group overrides the app group (no match)', { HAPROXY_GROUP: 'external', HAPROXY_0_GROUP: 'internal' }, ['external'], false],
    ['port group without an app group', { HAPROXY_0_GROUP: 'internal' }, ['internal'], true],
  ])('GROUP: %s → %s', (_name, labels, groups, served) => {
    const result = build([grouped('/a', labels, 10000)], { groups });
    expect(result.model.services.length).toBe(served ? 1 : 0);
    expect(result.warnings).toEqual([]);
  });

  it('GROUP per port: each port of one app is selected on its own', () => {
    const a = app('/a', withPortDefinitions(10000, 10001), withLabels({ HAPROXY_GROUP: 'external', HAPROXY_1_GROUP: 'internal' }), withTasks(task('10.0.0.1', [31000, 31001])));
    expect(build([a], { groups: ['external'] }).model.services.map((s) => s.servicePort)).toEqual([10000]);
    expect(build([a], { groups: ['internal'] }).model.services.map((s) => s.servicePort)).toEqual([10001]);
  });

  it.each<[string, string | undefined, boolean, boolean]>([
    ['absent', undefined, false, true],
    ['true', 'true', false, true],
    ['false', 'false', false, false],
    ['garbage is false', 'maybe', false, false],
    ['absent, --strict-mode', undefined, true, false],
    ['true, --strict-mode', 'true', true, true],
    ['YES, --strict-mode', 'YES', true, true],
    ['false, --strict-mode', 'false', true, false],
  ])('ENABLED %s → served: %s', (_name, value, strictMode, served) => {
    const labels: Record<string, string> = value === undefined ? {} : { HAPROXY_0_ENABLED: value };
    expect(build([web(labels)], { strictMode }).model.services.length).toBe(served ? 1 : 0);
  });

  it.each<[string, boolean, boolean]>([
    ['true', true, false],
    [' Yes ', true, false],
    ['T', true, false],
    ['false', false, false],
    ['No', false, false],
    ['0', false, false],
    ['', false, false],
    ['maybe', false, true],
    ['ture', false, true],
    ['1', false, true],
    ['on', false, true],
  ])('a yes/no label %j: %s, with a W_LABEL_BOOLEAN line: %s', (value, sticky, said) => {
    const { model, warnings } = build([web({ HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: value })]);
    expect(model.services.map((s) => s.sticky)).toEqual([sticky]);
    expect(warnings).toEqual(said ? [{ code: 'W_LABEL_BOOLEAN', appId: '/web', label: 'HAPROXY_0_STICKY', message: `${JSON.stringify(value)} is not one of marathon-lb's yes/no words (true, t, yes, y; false, f, no, n, 0): taken as false` }] : []);
  });

  it('ENABLED per port', () => {
    const a = app('/a', withPortDefinitions(10000, 10001), withLabels({ HAPROXY_1_ENABLED: 'true' }), withTasks(task('10.0.0.1', [31000, 31001])));
    expect(build([a], { strictMode: true }).model.services.map((s) => s.portIndex)).toEqual([1]);
    expect(build([a]).model.services.map((s) => s.portIndex)).toEqual([0, 1]);
  });
});

describe('buildModel: tasks', () => {
  const withStates = (...states: string[]) => app('/web', withPortDefinitions(10000), withTasks(...states.map((s, i) => task(`10.0.0.${i + 1}`, [31000], inState(s)))));

  it('RUNNING, LOST and UNREACHABLE are ready (as in marathon-lb), KILLING drains, STAGING/STARTING/FAILED/FINISHED/GONE get nothing', () => {
    const s = onlyService(build([withStates('TASK_RUNNING', 'TASK_KILLING', 'TASK_STAGING', 'TASK_STARTING', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST', 'TASK_UNREACHABLE', 'TASK_GONE')]));
    expect(s.servers.map((sv) => [sv.ip, sv.state])).toEqual([
      ['10.0.0.1', 'ready'],
      ['10.0.0.2', 'drain'],
      ['10.0.0.7', 'ready'],
      ['10.0.0.8', 'ready'],
    ]);
  });

  it.each<[string, Record<string, string>, string[][]]>([
    ['not sticky: the killed task drains (weight 0), its connections finish', { HAPROXY_0_MODE: 'http' }, [['10.0.0.1', 'ready'], ['10.0.0.2', 'drain']]],
    ["sticky: the killed task is left out, as marathon-lb does (its cookies would still reach a weight 0 server)", { HAPROXY_0_MODE: 'http', HAPROXY_0_STICKY: 'true' }, [['10.0.0.1', 'ready']]],
  ])('TASK_KILLING, %s', (_name, labels, servers) => {
    const a = app('/web', withPortDefinitions(10000), withLabels(labels), withTasks(task('10.0.0.1', [31000]), task('10.0.0.2', [31000], inState('TASK_KILLING'))));
    expect(onlyService(build([a])).servers.map((sv) => [sv.ip, sv.state])).toEqual(servers);
  });

  it('a service with no usable task is still rendered, with no servers', () => {
    const s = onlyService(build([withStates('TASK_STAGING')]));
    expect(s.servers).toEqual([]);
  });

  it('-H keeps only tasks whose every health check is alive', () => {
    const a = app(
      '/web',
      withPortDefinitions(10000),
      withHealthChecks({ protocol: 'TCP' }, { protocol: 'COMMAND' }),
      withTasks(task('10.0.0.1', [31000], withHealth(true, true)), task('10.0.0.2', [31000], withHealth(true, false)), task('10.0.0.3', [31000]), task('10.0.0.4', [31000], withHealth(true))),
    );
    expect(onlyService(build([a], { healthCheck: true })).servers.map((sv) => sv.ip)).toEqual(['10.0.0.1']);
    expect(onlyService(build([a])).servers.map((sv) => sv.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
  });

  it.each<[string, string[], string[]]>([
    ['IPv4-mapped hosts that clean up alike', ['::ffff:1.2.3.4', '::ffff:1:2:3:4'], ['__ffff_1_2_3_4_31000', '__ffff_1_2_3_4_31000_2']],
    ['three alike', ['::ffff:1.2.3.4', '::ffff:1:2:3:4', '::ffff:1.2:3.4'], ['__ffff_1_2_3_4_31000', '__ffff_1_2_3_4_31000_2', '__ffff_1_2_3_4_31000_3']],
    ['no clash: names as marathon-lb has them', ['10.0.0.1', '10.0.0.2'], ['10_0_0_1_31000', '10_0_0_2_31000']],
  ])('two addresses whose names clean up alike get distinct names in their backend: %s', (_name, hosts, names) => {
    const a = app('/web', withPortDefinitions(10000), withTasks(...hosts.map((h, i) => task(h, [31000], withTaskId(`t-${i}`)))));
    const servers = onlyService(build([a], { resolveHost: (h) => h })).servers;
    expect(servers.map((sv) => sv.name)).toEqual(names);
    expect(new Set(servers.map((sv) => sv.ip)).size).toBe(hosts.length);
  });

  it('servers are sorted by name, carry the task and app ids, and have stable ids', () => {
    const a = app('/web', withPortDefinitions(10000), withTasks(task('10.0.0.2', [31000], withTaskId('t-b')), task('10.0.0.1', [31005], withTaskId('t-a'))));
    const s = onlyService(build([a]));
    expect(s.servers.map(({ name, host, ip, port, taskId, appId }) => ({ name, host, ip, port, taskId, appId }))).toEqual([
      { name: '10_0_0_1_31005', host: '10.0.0.1', ip: '10.0.0.1', port: 31005, taskId: 't-a', appId: '/web' },
      { name: '10_0_0_2_31000', host: '10.0.0.2', ip: '10.0.0.2', port: 31000, taskId: 't-b', appId: '/web' },
    ]);
    const again = onlyService(build([app('/web', withPortDefinitions(10000), withTasks(task('10.0.0.1', [31005])))]));
    expect(again.servers[0]?.id).toBe(s.servers[0]?.id);
  });

  it('two tasks on the same IP and port give one server', () => {
    const a = app('/web', withPortDefinitions(10000), withTasks(task('10.0.0.1', [31000], withTaskId('t-1')), task('10.0.0.1', [31000], withTaskId('t-2'))));
    expect(onlyService(build([a])).servers.map((sv) => sv.taskId)).toEqual(['t-1']);
  });
});

describe('buildModel: networking end to end', () => {
  const mapping = (containerPort: number, servicePort?: number) => ({ containerPort, hostPort: 0, ...(servicePort ? { servicePort } : {}), protocol: 'tcp' });

  it.each<[string, AppPart, ReturnType<typeof task>, { servicePort: number; source: Service['servicePortSource']; ip: string; port: number }]>([
    ['host, portDefinitions', withPortDefinitions(10000), task('10.0.0.1', [31000]), { servicePort: 10000, source: 'marathon', ip: '10.0.0.1', port: 31000 }],
    ['host, legacy ports', (a) => (a.ports = [10000]), task('10.0.0.1', [31000]), { servicePort: 10000, source: 'marathon', ip: '10.0.0.1', port: 31000 }],
    ['≥1.5 bridge', withBridge(mapping(80, 10000)), task('10.0.0.1', [31000], withIp('172.17.0.2')), { servicePort: 10000, source: 'marathon', ip: '10.0.0.1', port: 31000 }],
    ['≥1.5 container with a service port', withContainerNetwork(mapping(8080, 10000)), task('10.0.0.1', [], withIp('9.0.0.2')), { servicePort: 10000, source: 'marathon', ip: '9.0.0.2', port: 8080 }],
    ['≥1.5 container without a service port', withContainerNetwork(mapping(8080)), task('10.0.0.1', [], withIp('9.0.0.2')), { servicePort: -1, source: 'assigned', ip: '9.0.0.2', port: 8080 }],
    ['≤1.4 docker BRIDGE', withDockerNetwork('BRIDGE', mapping(80, 10000)), task('10.0.0.1', [31000]), { servicePort: 10000, source: 'marathon', ip: '10.0.0.1', port: 31000 }],
    ['≤1.4 docker USER', withDockerNetwork('USER', mapping(8080)), task('10.0.0.1', [], withIp('9.0.0.2')), { servicePort: -1, source: 'assigned', ip: '9.0.0.2', port: 8080 }],
    ['≤1.4 docker HOST', (a) => {
      withDockerNetwork('HOST')(a);
      a.portDefinitions = [{ port: 10000 }];
    }, task('10.0.0.1', [31000]), { servicePort: 10000, source: 'marathon', ip: '10.0.0.1', port: 31000 }],
    ['legacy ipAddress.discovery', withIpAddress(8080), task('10.0.0.1', [], withIp('9.0.0.2')), { servicePort: -1, source: 'assigned', ip: '9.0.0.2', port: 8080 }],
  ])('%s', (_name, part, t, expected) => {
    const result = build([app('/web', part, withTasks(t))], { minServicePort: 10050, maxServicePort: 10100 });
    expect(result.warnings).toEqual([]);
    const s = onlyService(result);
    expect(s.servicePortSource).toBe(expected.source);
    if (expected.servicePort > 0) {
      expect(s.servicePort).toBe(expected.servicePort);
    } else {
      expect(s.servicePort).toBeGreaterThanOrEqual(10050);
      expect(s.servicePort).toBeLessThanOrEqual(10100);
    }
    expect(s.servers.map((sv) => [sv.ip, sv.port])).toEqual([[expected.ip, expected.port]]);
    expect(s.backend).toBe(`web_${s.servicePort}`);
  });

  it('IP-per-task: ports are assigned in range, distinct, avoiding ports other apps bind', () => {
    const apps = [
      app('/host', withPortDefinitions(10050), withTasks(task('10.0.0.1', [31000]))),
      ...['/a', '/b', '/c'].map((id) => app(id, withIpAddress(8080, 8081), withTasks(task('10.0.0.1', [], withIp('9.0.0.1'))))),
    ];
    const services = build(apps, { minServicePort: 10050, maxServicePort: 10060 }).model.services;
    const assigned = services.filter((s) => s.servicePortSource === 'assigned').map((s) => s.servicePort);
    expect(assigned).toHaveLength(6);
    expect(new Set(assigned).size).toBe(6);
    for (const p of assigned) {
      expect(p).toBeGreaterThan(10050);
      expect(p).toBeLessThanOrEqual(10060);
    }
  });

  it('IP-per-task: HAPROXY_{n}_PORT wins over assignment', () => {
    const s = onlyService(build([app('/web', withIpAddress(8080), withLabels({ HAPROXY_0_PORT: '12000' }), withTasks(task('h', [], withIp('9.0.0.1'))))]));
    expect([s.servicePort, s.servicePortSource]).toEqual([12000, 'label']);
  });

  it('IP-per-task: an exhausted range drops the port with E_NO_SERVICE_PORT', () => {
    const apps = ['/a', '/b', '/c'].map((id) => app(id, withIpAddress(8080), withTasks(task('h', [], withIp('9.0.0.1')))));
    const result = build(apps, { minServicePort: 10050, maxServicePort: 10051 });
    expect(result.model.services).toHaveLength(2);
    expect(result.warnings).toEqual([{ code: 'E_NO_SERVICE_PORT', appId: '/c', message: 'port 0 dropped: the IP-per-task service port range is exhausted' }]);
  });

  it.each<[string, MarathonApp]>([
    ['legacy ipAddress', app('/ip', withIpAddress(8080), withTasks(task('h', [], withIp('9.0.0.1'))))],
    ['≥1.5 container network', app('/ip', withContainerNetwork(mapping(8080)), withTasks(task('h', [], withIp('9.0.0.1'))))],
    ['≤1.4 docker USER', app('/ip', withDockerNetwork('USER', mapping(8080)), withTasks(task('h', [], withIp('9.0.0.1'))))],
  ])('IP-per-task with the range 0..0 (assignment off, as in marathon-lb): %s without a service port is not served, without a warning', (_name, ipApp) => {
    const host = app('/host', withPortDefinitions(10000), withTasks(task('10.0.0.1', [31000])));
    const result = build([ipApp, host], { minServicePort: 0, maxServicePort: 0 });
    expect(result.model.services.map((s) => s.backend)).toEqual(['host_10000']);
    expect(result.warnings).toEqual([]);
  });

  it('IP-per-task with the range 0..0: HAPROXY_{n}_PORT and a declared service port still serve', () => {
    const apps = [
      app('/labelled', withIpAddress(8080), withLabels({ HAPROXY_0_PORT: '12000' }), withTasks(task('h', [], withIp('9.0.0.1')))),
      app('/declared', withContainerNetwork(mapping(8080, 10001)), withTasks(task('h', [], withIp('9.0.0.2')))),
    ];
    const result = build(apps, { minServicePort: 0, maxServicePort: 0 });
    expect(result.model.services.map((s) => [s.backend, s.servicePortSource])).toEqual([['declared_10001', 'marathon'], ['labelled_12000', 'label']]);
    expect(result.warnings).toEqual([]);
  });

  it('the range 0..0 leaves the host/bridge warning as it is', () => {
    const result = build([app('/web', withBridge(mapping(80)), withTasks(task('10.0.0.1', [31000])))], { minServicePort: 0, maxServicePort: 0 });
    expect(codes(result.warnings)).toEqual(['E_NO_SERVICE_PORT']);
  });

  it('IP-per-task: a range overlapping the reserved ports skips them', () => {
    const result = build([app('/web', withIpAddress(8080), withTasks(task('h', [], withIp('9.0.0.1'))))], { minServicePort: 9090, maxServicePort: 9092 });
    expect(result.warnings).toEqual([]);
    expect(onlyService(result).servicePort).toBe(9092);
  });

  describe('odd apps the schema lets through: each dropped alone, named', () => {
    const ok = () => app('/ok', withPortDefinitions(10000), withTasks(task('10.0.0.1', [31000])));
    it.each([
      { case: 'a legacy discovery port that is null (read past the schema)', odd: { id: '/odd', labels: {}, ipAddress: { discovery: { ports: [null] } } }, code: 'E_APP_UNREADABLE', message: /^cannot be read \(.+\); app dropped$/ },
      { case: 'an app id with a quote', odd: app('/qu"ote', withPortDefinitions(10001)), code: 'E_APP_ID_INVALID', message: /not a single word; app dropped$/ },
      { case: 'an app id with a space', odd: app('/two words', withPortDefinitions(10001)), code: 'E_APP_ID_INVALID', message: /not a single word; app dropped$/ },
      { case: 'an app id with a line break', odd: app('/line\nbreak', withPortDefinitions(10001)), code: 'E_APP_ID_INVALID', message: /line break.*; app dropped$/ },
      { case: "an app id with '#'", odd: app('/hash#tag', withPortDefinitions(10001)), code: 'E_APP_ID_INVALID', message: /'#'.*; app dropped$/ },
      { case: 'an app id over 1,000 characters (HAProxy loses track of ~4 KB backend names)', odd: app(`/${'x'.repeat(1000)}`, withPortDefinitions(10001)), code: 'E_APP_ID_INVALID', message: /longer than 1000 characters; app dropped$/ },
    ])('$case', ({ odd, code, message }) => {
      const result = build([ok(), odd as MarathonApp]);
      expect(result.model.services.map((s) => s.backend)).toEqual(['ok_10000']);
      expect(result.warnings).toEqual([{ code, appId: (odd as MarathonApp).id, message: expect.stringMatching(message) }]);
    });

    it('a container task IP that is the unspecified address (0.0.0.0, ::): that task gets no server', () => {
      const overlay = app('/overlay', withContainerNetwork(mapping(8080, 10005)), withTasks(task('10.0.0.2', [], withIp('0.0.0.0')), task('10.0.0.3', [], withIp('9.0.0.3')), task('10.0.0.4', [], withIp('::'))));
      const result = build([overlay]);
      expect(onlyService(result).servers.map((sv) => `${sv.ip}:${sv.port}`)).toEqual(['9.0.0.3:8080']);
      expect(result.warnings).toEqual([
        { code: 'E_TASK_IP_INVALID', appId: '/overlay', message: 'task IP address "0.0.0.0" is the unspecified address; its tasks get no traffic' },
        { code: 'E_TASK_IP_INVALID', appId: '/overlay', message: 'task IP address "::" is the unspecified address; its tasks get no traffic' },
      ]);
    });

    it('a container task IP that is not an IP: that task gets no server, one warning per value', () => {
      const overlay = app('/overlay', withContainerNetwork(mapping(8080, 10005)), withTasks(task('10.0.0.2', [], withIp('a b')), task('10.0.0.3', [], withIp('9.0.0.3')), task('10.0.0.4', [], withIp('a b'))));
      const result = build([overlay]);
      expect(onlyService(result).servers.map((sv) => `${sv.ip}:${sv.port}`)).toEqual(['9.0.0.3:8080']);
      expect(result.warnings).toEqual([{ code: 'E_TASK_IP_INVALID', appId: '/overlay', message: 'task IP address "a b" is not an IP address; its tasks get no traffic' }]);
    });
  });

  describe('ModelOptions.droppedPorts: ports HAProxy refused, left out without a warning of their own', () => {
    const two = () => app('/two', withPortDefinitions(10000, 10001), withTasks(task('10.0.0.1', [31000, 31001])));
    it.each([
      { case: 'none dropped', dropped: [], backends: ['two_10000', 'two_10001'] },
      { case: 'port 1 dropped: port 0 stays', dropped: ['/two#1'], backends: ['two_10000'] },
      { case: 'port 0 dropped: port 1 stays', dropped: ['/two#0'], backends: ['two_10001'] },
      { case: "another app's port: nothing of this one dropped", dropped: ['/other#0'], backends: ['two_10000', 'two_10001'] },
    ])('$case', ({ dropped, backends }) => {
      const result = build([two()], { droppedPorts: new Set(dropped) });
      expect(result.model.services.map((s) => s.backend)).toEqual(backends);
      expect(result.warnings).toEqual([]);
    });
  });

  describe('IP-per-task: previous assignments (ModelOptions.previousServicePorts)', () => {
    // In 10050..10100 both /svc/zeta and /svc/a12 hash to 10093; /svc/a12 sorts first.
    const ipApp = (id: string, ...parts: AppPart[]) => app(id, withIpAddress(8080), withTasks(task('10.0.0.1', [], withIp(`9.0.0.${id.length}`))), ...parts);
    const zeta = ipApp('/svc/zeta');
    const a12 = ipApp('/svc/a12');
    const others = [ipApp('/svc/b'), ipApp('/svc/c', withIpAddress(8080, 8081))];
    const range = { minServicePort: 10050, maxServicePort: 10100 };
    /** backend of each app id's port 0 (blue/green aside, one per app). */
    const backends = (result: ModelResult) => Object.fromEntries(result.model.services.map((sv) => [`${sv.sourceAppIds[0]}#${sv.portIndex}`, sv.backend]));
    /** Builds `before`, then `after` with the assignments of the first as previous ones. */
    const rebuild = (before: MarathonApp[], after: MarathonApp[], opts: Partial<ModelOptions> = {}) => {
      const first = build(before, { ...range, ...opts });
      return { first, second: build(after, { ...range, ...opts, previousServicePorts: assignedServicePorts(first.model.services) }) };
    };

    it('the reported case: alone, /svc/zeta is svc_zeta_10093; without previous assignments /svc/a12 takes 10093 and /svc/zeta moves', () => {
      expect(backends(build([zeta], range))).toEqual({ '/svc/zeta#0': 'svc_zeta_10093' });
      expect(backends(build([zeta, a12], range))).toEqual({ '/svc/a12#0': 'svc_a12_10093', '/svc/zeta#0': 'svc_zeta_10094' });
    });

    it.each<[string, MarathonApp[], MarathonApp[], Record<string, string>]>([
      ['an app sorted first with the same home port is added: /svc/zeta keeps its port and backend', [zeta], [zeta, a12], { '/svc/zeta#0': 'svc_zeta_10093', '/svc/a12#0': 'svc_a12_10094' }],
      ['others are added too', [zeta, ...others], [a12, zeta, ...others], { ...backends(build([zeta, ...others], range)), '/svc/a12#0': 'svc_a12_10094' }],
      ['the app that displaced it leaves: the displaced one stays where it is', [a12, zeta], [zeta], { '/svc/zeta#0': 'svc_zeta_10094' }],
      ['others leave', [a12, zeta, ...others], [a12, zeta], { '/svc/a12#0': 'svc_a12_10093', '/svc/zeta#0': 'svc_zeta_10094' }],
    ])('%s', (_name, before, after, expected) => {
      const { second } = rebuild(before, after);
      expect(second.warnings).toEqual([]);
      expect(backends(second)).toEqual(expected);
    });

    it.each<[string, MarathonApp]>([
      ['a Marathon service port', app('/host', withPortDefinitions(10093), withTasks(task('10.0.0.1', [31000])))],
      ['a HAPROXY_0_PORT label', app('/labelled', withIpAddress(8080), withLabels({ HAPROXY_0_PORT: '10093' }), withTasks(task('10.0.0.1', [], withIp('9.0.0.9'))))],
    ])('the previous port now bound by %s: the app gets another port, nothing is dropped', (_name, claimant) => {
      const { first, second } = rebuild([zeta], [zeta, claimant]);
      expect(backends(first)).toEqual({ '/svc/zeta#0': 'svc_zeta_10093' });
      expect(second.warnings).toEqual([]);
      expect(second.model.services.map((sv) => [sv.sourceAppIds[0], sv.servicePort, sv.servicePortSource])).toEqual([
        [claimant.id, 10093, claimant.id === '/host' ? 'marathon' : 'label'],
        ['/svc/zeta', 10094, 'assigned'],
      ]);
    });

    it('the previous port now reserved (--http-port moved onto it): the app gets another port', () => {
      const moved = build([zeta], { ...range, reservedPorts: [...RESERVED, 10093], previousServicePorts: new Map([['/svc/zeta#0', 10093]]) });
      expect(moved.warnings).toEqual([]);
      expect(backends(moved)).toEqual({ '/svc/zeta#0': 'svc_zeta_10094' });
    });

    it('only assigned ports are carried: Marathon and label ports are not previous assignments', () => {
      const withLabel = app('/labelled', withIpAddress(8080), withLabels({ HAPROXY_0_PORT: '12000' }), withTasks(task('10.0.0.1', [], withIp('9.0.0.9'))));
      const host = app('/host', withPortDefinitions(10000), withTasks(task('10.0.0.1', [31000])));
      expect(assignedServicePorts(build([zeta, withLabel, host], range).model.services)).toEqual(new Map([['/svc/zeta#0', 10093]]));
    });

    it('keys are the Marathon app id, not HAPROXY_APP_ID', () => {
      const renamed = ipApp('/svc/zeta', withLabels({ HAPROXY_APP_ID: 'other' }));
      const { first, second } = rebuild([renamed], [renamed, a12]);
      expect(assignedServicePorts(first.model.services)).toEqual(new Map([['/svc/zeta#0', 10093]]));
      expect(backends(second)).toEqual({ '/svc/zeta#0': 'other_10093', '/svc/a12#0': 'svc_a12_10094' });
    });
  });

  it('host/bridge without a service port and without HAPROXY_{n}_PORT: dropped with E_NO_SERVICE_PORT', () => {
    const result = build([app('/web', withBridge(mapping(80)), withTasks(task('10.0.0.1', [31000])))]);
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([{ code: 'E_NO_SERVICE_PORT', appId: '/web', message: 'port 0 dropped: it has no service port and no HAPROXY_{n}_PORT' }]);
  });
});

describe('buildModel: agent host names', () => {
  const onAgent = (id: string, port: number, ...hosts: string[]) => app(id, withPortDefinitions(port), withTasks(...hosts.map((h) => task(h, [31000]))));

  it('resolves agent names through resolveHost; IP literals never reach it', () => {
    const asked: string[] = [];
    const resolveHost = (h: string) => (asked.push(h), h === 'agent-1' ? '10.0.0.1' : undefined);
    const s = onlyService(build([onAgent('/web', 10000, 'agent-1', '10.0.0.7')], { resolveHost }));
    expect(asked).toEqual(['agent-1']);
    expect(s.servers.map((sv) => [sv.host, sv.ip, sv.name])).toEqual([
      ['10.0.0.7', '10.0.0.7', '10_0_0_7_31000'],
      ['agent-1', '10.0.0.1', 'agent-1_10_0_0_1_31000'],
    ]);
  });

  it('an unresolvable agent drops its tasks with one warning, however many tasks it runs, naming every app it drops tasks of', () => {
    // /c's service port sorts first: the warning still names the apps in id order.
    const apps = [onAgent('/a', 10002, 'gone', 'agent-1'), onAgent('/b', 10001, 'gone'), onAgent('/c', 10000, 'gone', 'gone')];
    const result = build(apps, { resolveHost: (h) => (h === 'agent-1' ? '10.0.0.1' : undefined) });
    expect(result.model.services.map((s) => [s.appId, s.servers.map((sv) => sv.host)])).toEqual([['/a', ['agent-1']], ['/b', []], ['/c', []]]);
    expect(result.warnings).toEqual([{ code: 'E_HOST_UNRESOLVED', appId: '/a', message: 'agent host gone does not resolve; its tasks get no traffic (so do those of /b, /c)' }]);
  });

  it('an unresolvable agent running many apps: the first ten named, the rest counted', () => {
    const apps = Array.from({ length: 13 }, (_, i) => onAgent(`/app-${String(i).padStart(2, '0')}`, 10000 + i, 'gone'));
    const result = build(apps, { resolveHost: () => undefined });
    const named = Array.from({ length: 9 }, (_, i) => `/app-${String(i + 1).padStart(2, '0')}`).join(', ');
    expect(result.warnings).toEqual([{ code: 'E_HOST_UNRESOLVED', appId: '/app-00', message: `agent host gone does not resolve; its tasks get no traffic (so do those of ${named} and 3 more apps)` }]);
  });

  it('an agent whose host is, or resolves to, the unspecified address (0.0.0.0) gets no server, with one warning each', () => {
    const apps = [onAgent('/a', 10000, '0.0.0.0', 'agent-1', 'blackholed')];
    const result = build(apps, { resolveHost: (h) => (h === 'agent-1' ? '10.0.0.1' : '0.0.0.0') });
    expect(result.model.services.map((s) => s.servers.map((sv) => sv.host))).toEqual([['agent-1']]);
    expect(result.warnings).toEqual([
      { code: 'E_HOST_UNRESOLVED', appId: '/a', message: 'agent host 0.0.0.0 is the unspecified address; its tasks get no traffic' },
      { code: 'E_HOST_UNRESOLVED', appId: '/a', message: 'agent host blackholed resolves to 0.0.0.0, which is the unspecified address; its tasks get no traffic' },
    ]);
  });

  it('IP-per-task tasks need no agent resolution', () => {
    const resolveHost = () => {
      throw new Error('must not be called');
    };
    const s = onlyService(build([app('/web', withIpAddress(8080), withTasks(task('agent-1', [], withIp('9.0.0.1'))))], { resolveHost }));
    expect(s.servers.map((sv) => [sv.host, sv.ip])).toEqual([['agent-1', '9.0.0.1']]);
  });

  it('without resolveHost the name is used as given', () => {
    expect(onlyService(build([onAgent('/web', 10000, 'agent-1')])).servers[0]?.ip).toBe('agent-1');
  });
});

describe('buildModel: bad input drops only what is bad, with one warning', () => {
  it.each<[string, string, string]>([
    ['HAPROXY_0_VHOST', 'a.example.com\n  bind *:1', 'contains a line break'],
    ['HAPROXY_0_VHOST', 'a.example.com\u2028x', 'contains a line break'],
    ['HAPROXY_0_PATH', '/x#y', "contains '#'"],
    ['HAPROXY_0_PORT', 'abc', 'is not a port number'],
    ['HAPROXY_0_PORT', '70000', 'is not a port number (1-65535)'],
    ['HAPROXY_0_MODE', 'udp', 'is not a mode'],
    ['HAPROXY_0_AUTH', 'realm-only', "is not 'realm:user:encrypted-password'"],
    ['HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL', '10.0.0.0/33', 'is not an IP address or CIDR'],
    ['HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL', '10.0.0.0/8,10.1.0.0/16', 'is not an IP address or CIDR'],
    ['HAPROXY_0_BALANCE', 'fastest', 'is not a balance algorithm'],
    ['HAPROXY_0_BIND_ADDR', '10.0.0.1:80', 'is not a bind address'],
    ['HAPROXY_0_BIND_OPTIONS', 'ssl crt "x', 'contains a quote or backslash'],
    ['HAPROXY_0_SSL_CERT', '/a b.pem', 'is not a single word'],
    ['HAPROXY_0_BACKEND_WEIGHT', 'heavy', 'is not an integer'],
    ['HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX', 'one', 'is not a port index'],
    ['HAPROXY_0_GROUP', 'a\rb', 'contains a line break'],
    ['HAPROXY_0_ENABLED', 'true\u0000', 'contains a control character'],
    ['HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH', 'api', "does not start with '/'"],
  ])('%s %j: port 0 dropped, port 1 served', (label, value, reason) => {
    const a = app('/bad', withPortDefinitions(10000, 10001), withLabels({ [label]: value }), withTasks(task('10.0.0.1', [31000, 31001])));
    const result = build([a]);
    expect(result.model.services.map((s) => s.portIndex)).toEqual([1]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatchObject({ code: 'E_LABEL_INVALID', appId: '/bad', label });
    expect(result.warnings[0]?.message).toContain(reason);
    expect(result.warnings[0]?.message).toContain(JSON.stringify(value));
    expect(result.warnings[0]?.message).toMatch(/port 0 dropped$/);
  });

  // A hand-written apps file may hold values that are not strings; Marathon never sends them.
  it.each<[string, unknown, string]>([
    ['HAPROXY_0_PORT', 8080, 'is a number, not a string'],
    ['HAPROXY_0_STICKY', true, 'is a boolean, not a string'],
    ['HAPROXY_0_VHOST', ['a.example', 'b.example'], 'is an array, not a string'],
    ['HAPROXY_0_GROUP', null, 'is null, not a string'],
    ['HAPROXY_0_BACKEND_HEAD', { mode: 'http' }, 'is an object, not a string'],
    ['HAPROXY_0_FRONTEND_HEAD', 7, 'is a number, not a string'],
  ])('%s %j (not a string): port 0 dropped, port 1 served', (label, value, reason) => {
    const a = app('/bad', withPortDefinitions(10000, 10001), withLabels({ [label]: value }), withTasks(task('10.0.0.1', [31000, 31001])));
    const result = build([a]);
    expect(result.model.services.map((s) => s.portIndex)).toEqual([1]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_LABEL_INVALID', appId: '/bad', label, message: `${JSON.stringify(value)} ${reason} (label values are strings: quote it); port 0 dropped` })]);
  });

  it.each<[string, unknown, string]>([
    ['HAPROXY_GROUP', 1, 'app dropped'],
    ['HAPROXY_DEPLOYMENT_TARGET_INSTANCES', 3, 'label ignored'],
  ])('app label %s %j (not a string): %s', (label, value, outcome) => {
    const result = build([web({ [label]: value })]);
    expect(result.model.services).toHaveLength(outcome === 'app dropped' ? 0 : 1);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_LABEL_INVALID', appId: '/web', label, message: `${JSON.stringify(value)} is a number, not a string (label values are strings: quote it); ${outcome}` })]);
  });

  it('labels that are not ours may hold anything: no warning', () => {
    const result = build([web({ team: 5, owner: null, tags: ['a'] })]);
    expect(result.model.services).toHaveLength(1);
    expect(result.warnings).toEqual([]);
  });

  it('a port whose group label is not a string is not taken for another group\'s: it warns', () => {
    const result = build([web({ HAPROXY_0_GROUP: 5 })], { groups: ['external'] });
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_LABEL_INVALID', label: 'HAPROXY_0_GROUP' })]);
  });

  it('several bad labels on one port give one warning', () => {
    const result = build([web({ HAPROXY_0_PORT: 'x', HAPROXY_0_MODE: 'udp' })]);
    expect(result.model.services).toEqual([]);
    expect(codes(result.warnings)).toEqual(['E_LABEL_INVALID']);
  });

  it.each([
    ['HAPROXY_GROUP', 'external\r\nfrontend x'],
    ['HAPROXY_APP_ID', 'two words'],
  ])('a bad %s drops the whole app', (label, value) => {
    const result = build([web({ [label]: value })]);
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_LABEL_INVALID', appId: '/web', label, message: expect.stringMatching(/app dropped$/) })]);
  });

  it.each([
    ['HAPROXY_DEPLOYMENT_ALT_PORT', 'x'],
    ['HAPROXY_DEPLOYMENT_TARGET_INSTANCES', 'many'],
    ['HAPROXY_DEPLOYMENT_GROUP', 'a b'],
  ])('a bad %s is ignored; the app is served', (label, value) => {
    const result = build([web({ [label]: value })]);
    expect(result.model.services).toHaveLength(1);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_LABEL_INVALID', appId: '/web', label, message: expect.stringMatching(/label ignored$/) })]);
  });

  it('unknown HAPROXY_ labels warn; other labels are not ours to judge', () => {
    const result = build([web({ HAPROXY_0_VHOTS: 'x', HAPROXY_FOO: 'y', MARATHON_SINGLE_INSTANCE_APP: 'true', VIP_0: '/x:80' })]);
    expect(onlyService(result).vhosts).toEqual([]);
    expect(result.warnings.map((w) => [w.code, w.label])).toEqual([
      ['W_LABEL_UNKNOWN', 'HAPROXY_0_VHOTS'],
      ['W_LABEL_UNKNOWN', 'HAPROXY_FOO'],
    ]);
  });

  it('labels for a port index the app does not have', () => {
    const result = build([web({ HAPROXY_3_VHOST: 'a.example.com', HAPROXY_3_BACKEND_HEAD: 'x' })]);
    expect(onlyService(result).vhosts).toEqual([]);
    expect(result.warnings.map((w) => [w.code, w.label, w.message])).toEqual([
      ['E_PORT_INDEX_UNKNOWN', 'HAPROXY_3_BACKEND_HEAD', 'port index 3 does not exist (the app has 1 port); ignored'],
      ['E_PORT_INDEX_UNKNOWN', 'HAPROXY_3_VHOST', 'port index 3 does not exist (the app has 1 port); ignored'],
    ]);
  });

  it('a health-check port index the app does not have drops the port', () => {
    const result = build([web({ HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '3' })]);
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'E_PORT_INDEX_UNKNOWN', appId: '/web', label: 'HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX' })]);
  });

  it('label templates disabled: the template label is ignored with a warning', () => {
    const result = build([web({ HAPROXY_0_BACKEND_HEAD: 'x' })], { labelTemplates: false });
    expect(onlyService(result).templates).toEqual({});
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'W_LABEL_TEMPLATE_DISABLED', label: 'HAPROXY_0_BACKEND_HEAD' })]);
  });

  it('port conflict: the first app by id keeps the port', () => {
    const result = build([app('/b', withPortDefinitions(10000)), app('/a', withPortDefinitions(10000))]);
    expect(onlyService(result).appId).toBe('/a');
    expect(result.warnings).toEqual([{ code: 'E_PORT_CONFLICT', appId: '/b', message: 'port 0 dropped: service port 10000 is already bound by /a' }]);
  });

  it("port conflict: Marathon's own service port beats a HAPROXY_{n}_PORT claim", () => {
    const result = build([app('/a', withPortDefinitions(10001), withLabels({ HAPROXY_0_PORT: '10000' })), app('/b', withPortDefinitions(10000))]);
    expect(onlyService(result).appId).toBe('/b');
    expect(result.warnings).toEqual([{ code: 'E_PORT_CONFLICT', appId: '/a', message: 'port 0 dropped: service port 10000 is already bound by /b', label: 'HAPROXY_0_PORT' }]);
  });

  it.each([80, 443, 9090, 9091])('reserved port %d is refused', (port) => {
    const result = build([web({ HAPROXY_0_PORT: String(port) })]);
    expect(result.model.services).toEqual([]);
    expect(result.warnings).toEqual([{ code: 'E_PORT_CONFLICT', appId: '/web', message: `port 0 dropped: service port ${port} is reserved for mlb-ts's own frontends`, label: 'HAPROXY_0_PORT' }]);
  });

  it('a port reserved by nobody is fine', () => {
    expect(build([web({ HAPROXY_0_PORT: '80' })], { reservedPorts: [] }).model.services).toHaveLength(1);
  });
});

describe('buildModel: blue/green', () => {
  const side = (id: string, startedAt: string, servicePort: number, hosts: string[], extra: Record<string, string> = {}, state = 'TASK_RUNNING') =>
    app(
      id,
      withPortDefinitions(servicePort),
      withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10021', HAPROXY_DEPLOYMENT_STARTED_AT: startedAt, HAPROXY_0_PORT: '10020', HAPROXY_APP_ID: '/shop', HAPROXY_0_VHOST: 'shop.example.com', ...extra }),
      withTasks(...hosts.map((h) => task(h, [31000], inState(state)))),
    );
  const blue = side('/shop-blue', '2026-11-01T09:00:00Z', 10020, ['10.0.0.1', '10.0.0.2']);

  it('two apps of one group on one port are one backend named after the older side', () => {
    const green = side('/shop-green', '2026-11-01T10:00:00Z', 10021, ['10.0.0.3']);
    const result = build([green, blue]);
    const s = onlyService(result);
    expect(result.warnings).toEqual([]);
    expect(s).toMatchObject({ appId: '/shop', backend: 'shop_10020', servicePort: 10020, sourceAppIds: ['/shop-blue', '/shop-green'], deploymentGroup: 'shop' });
    expect(s.servers.map((sv) => [sv.ip, sv.appId, sv.state])).toEqual([
      ['10.0.0.1', '/shop-blue', 'ready'],
      ['10.0.0.2', '/shop-blue', 'ready'],
      ['10.0.0.3', '/shop-green', 'ready'],
    ]);
  });

  it('older is by HAPROXY_DEPLOYMENT_STARTED_AT, not by id', () => {
    const older = side('/shop-z', '2026-11-01T08:00:00Z', 10021, ['10.0.0.3']);
    expect(onlyService(build([older, blue])).sourceAppIds).toEqual(['/shop-z', '/shop-blue']);
  });

  it.each<[string, string, number, string]>([
    ['target reached: the old side drains', '1', 1, 'drain'],
    ['target exceeded: the old side drains', '1', 2, 'drain'],
    ['target not reached: both serve', '3', 2, 'ready'],
  ])('%s', (_name, target, newTasks, oldState) => {
    const hosts = ['10.0.0.3', '10.0.0.4'].slice(0, newTasks);
    const green = side('/shop-green', '2026-11-01T10:00:00Z', 10021, hosts, { HAPROXY_DEPLOYMENT_TARGET_INSTANCES: target });
    const s = onlyService(build([blue, green]));
    expect(s.servers.filter((sv) => sv.appId === '/shop-blue').map((sv) => sv.state)).toEqual([oldState, oldState]);
    expect(s.servers.filter((sv) => sv.appId === '/shop-green').map((sv) => sv.state)).toEqual(hosts.map(() => 'ready'));
  });

  it.each(['TASK_KILLING', 'TASK_UNREACHABLE', 'TASK_LOST'])('only running tasks of the new side count towards the target: one %s does not drain the old side', (state) => {
    const green = side('/shop-green', '2026-11-01T10:00:00Z', 10021, ['10.0.0.3'], { HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1' }, state);
    const s = onlyService(build([blue, green]));
    expect(s.servers.filter((sv) => sv.appId === '/shop-blue').map((sv) => sv.state)).toEqual(['ready', 'ready']);
  });

  describe('the new side counts towards the target only with its Marathon health checks passing', () => {
    const HTTP_CHECK: HealthCheckDef = { protocol: 'HTTP', path: '/health', portIndex: 0 };
    const TCP_CHECK: HealthCheckDef = { protocol: 'TCP', portIndex: 0 };
    /** Green with target 2 and one task per entry of `results` (undefined: no result yet, else one result per check). */
    const greenWith = (checks: HealthCheckDef[], results: (boolean[] | undefined)[]) =>
      app(
        '/shop-green',
        withPortDefinitions(10021),
        withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10021', HAPROXY_DEPLOYMENT_STARTED_AT: '2026-11-01T10:00:00Z', HAPROXY_0_PORT: '10020', HAPROXY_APP_ID: '/shop', HAPROXY_0_VHOST: 'shop.example.com', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '2' }),
        withHealthChecks(...checks),
        withTasks(...results.map((r, i) => task(`10.0.0.${i + 3}`, [31000], ...(r ? [withHealth(...r)] : [])))),
      );

    it.each<[string, HealthCheckDef[], (boolean[] | undefined)[], boolean, string, string[]]>([
      ['no checks: every running task counts (as before)', [], [undefined, undefined], false, 'drain', ['ready', 'ready']],
      ['checks, no results yet (grace period): no drain', [HTTP_CHECK], [undefined, undefined], false, 'ready', ['ready', 'ready']],
      ['checks, all failing: no drain', [HTTP_CHECK], [[false], [false]], false, 'ready', ['ready', 'ready']],
      ['checks, one target task failing: no drain', [HTTP_CHECK], [[true], [false]], false, 'ready', ['ready', 'ready']],
      ['checks, one target task without a result yet: no drain', [HTTP_CHECK], [[true], undefined], false, 'ready', ['ready', 'ready']],
      ['two checks, one result each: no drain', [HTTP_CHECK, TCP_CHECK], [[true], [true]], false, 'ready', ['ready', 'ready']],
      ['two checks, one of them failing: no drain', [HTTP_CHECK, TCP_CHECK], [[true, true], [true, false]], false, 'ready', ['ready', 'ready']],
      ['checks, all alive on the target tasks: drain', [HTTP_CHECK], [[true], [true]], false, 'drain', ['ready', 'ready']],
      ['two checks, all alive: drain', [HTTP_CHECK, TCP_CHECK], [[true, true], [true, true]], false, 'drain', ['ready', 'ready']],
      ['checks, target reached by the healthy ones, a third still starting: drain', [HTTP_CHECK], [[true], undefined, [true]], false, 'drain', ['ready', 'ready', 'ready']],
      ['-H, no results yet: the new tasks are no servers, no drain', [HTTP_CHECK], [undefined, undefined], true, 'ready', []],
      ['-H, one healthy: no drain', [HTTP_CHECK], [[true], [false]], true, 'ready', ['ready']],
      ['-H, all alive: drain', [HTTP_CHECK], [[true], [true]], true, 'drain', ['ready', 'ready']],
    ])('%s', (_name, checks, results, healthCheck, oldState, newStates) => {
      const s = onlyService(build([blue, greenWith(checks, results)], { healthCheck }));
      expect(s.servers.filter((sv) => sv.appId === '/shop-blue').map((sv) => sv.state)).toEqual([oldState, oldState]);
      expect(s.servers.filter((sv) => sv.appId === '/shop-green').map((sv) => sv.state)).toEqual(newStates);
    });

    it("the reviewer's repro: green (target 3) running 3 tasks with no results yet, blue healthy: blue keeps serving", () => {
      const blueChecked = side('/shop-blue', '2026-11-01T09:00:00Z', 10020, ['10.0.0.1', '10.0.0.2']);
      withHealthChecks(HTTP_CHECK)(blueChecked);
      for (const t of blueChecked.tasks ?? []) withHealth(true)(t);
      const green = greenWith([HTTP_CHECK], [undefined, undefined, undefined]);
      green.labels = { ...green.labels, HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3' };
      const s = onlyService(build([blueChecked, green]));
      expect(s.servers.map((sv) => [sv.appId, sv.state])).toEqual([
        ['/shop-blue', 'ready'],
        ['/shop-blue', 'ready'],
        ['/shop-green', 'ready'],
        ['/shop-green', 'ready'],
        ['/shop-green', 'ready'],
      ]);
    });

    it('the drain decision keeps the model free of health fields: servers have the same keys as before', () => {
      const s = onlyService(build([blue, greenWith([HTTP_CHECK], [[true], [true]])]));
      for (const sv of s.servers) expect(Object.keys(sv).sort()).toEqual(['appId', 'host', 'id', 'ip', 'name', 'port', 'state', 'taskId']);
    });
  });

  it('apps of different deployment groups on one port conflict', () => {
    const other = side('/other', '2026-11-01T10:00:00Z', 10021, ['10.0.0.3'], { HAPROXY_DEPLOYMENT_GROUP: 'other' });
    const result = build([blue, other]);
    expect(result.model.services).toHaveLength(1);
    expect(codes(result.warnings)).toEqual(['E_PORT_CONFLICT']);
  });
});

describe('buildModel: blue/green, the service port at another port index of each side', () => {
  /** A task port is its service port + 20000, so a server on the wrong port of its task shows. */
  const taskPorts = (servicePorts: number[]) => servicePorts.map((p) => p + 20000);
  /** An app of deployment group `shop` binding `servicePorts` (HAPROXY_{n}_PORT, in port index order) with one task per host. */
  const side = (id: string, startedAt: string, servicePorts: number[], hosts: string[], extra: Record<string, string> = {}, ...parts: AppPart[]) =>
    app(
      id,
      withPortDefinitions(...servicePorts.map((_, i) => 11000 + i)),
      withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: startedAt, HAPROXY_APP_ID: '/shop', ...Object.fromEntries(servicePorts.map((p, i) => [`HAPROXY_${i}_PORT`, String(p)])), ...extra }),
      withTasks(...hosts.map((h) => task(h, taskPorts(servicePorts)))),
      ...parts,
    );
  const BLUE_AT = '2026-11-01T09:00:00Z';
  const GREEN_AT = '2026-11-01T10:00:00Z';
  /** backend → [ip, port, app id, state] of its servers. */
  const serversByBackend = (result: ModelResult) => Object.fromEntries(result.model.services.map((s) => [s.backend, s.servers.map((sv) => [sv.ip, sv.port, sv.appId, sv.state])]));
  const blueA = ['10.0.0.1', 30000, '/shop-blue', 'ready'];
  const blueB = ['10.0.0.1', 30001, '/shop-blue', 'ready'];
  const greenA = ['10.0.0.3', 30000, '/shop-green', 'ready'];
  const greenB = ['10.0.0.3', 30001, '/shop-green', 'ready'];

  it.each<[string, number[], number[], Record<string, unknown[][]>]>([
    ['old A,B; new B,A (swapped): each side serves each port from its own index', [10000, 10001], [10001, 10000], { shop_10000: [blueA, greenA], shop_10001: [blueB, greenB] }],
    ['old A,B; new B only: B is merged from index 1 of the old side and index 0 of the new', [10000, 10001], [10001], { shop_10000: [blueA], shop_10001: [blueB, greenB] }],
    ['old B only; new A,B: B is merged from index 0 of the old side and index 1 of the new', [10001], [10000, 10001], { shop_10000: [greenA], shop_10001: [blueB, greenB] }],
    ['old A,B; new A,B (same indices)', [10000, 10001], [10000, 10001], { shop_10000: [blueA, greenA], shop_10001: [blueB, greenB] }],
  ])('%s', (_name, bluePorts, greenPorts, expected) => {
    const result = build([side('/shop-green', GREEN_AT, greenPorts, ['10.0.0.3']), side('/shop-blue', BLUE_AT, bluePorts, ['10.0.0.1'])]);
    expect(result.warnings).toEqual([]);
    expect(serversByBackend(result)).toEqual(expected);
  });

  it.each<[string, Record<string, string>, number | undefined]>([
    ['the new side checks on its own BACKEND_HEALTHCHECK_PORT_INDEX', { HAPROXY_0_ENABLED: 'false', HAPROXY_1_BACKEND_HEALTHCHECK_PORT_INDEX: '0' }, 30001],
    ['the new side without the label checks the port it serves', { HAPROXY_0_ENABLED: 'false' }, undefined],
  ])('health check port: %s', (_name, greenLabels, greenCheckPort) => {
    // Service port 10000 with an admin port (10001) to check; the new side has them the other way round.
    const blue = side('/shop-blue', BLUE_AT, [10000, 10001], ['10.0.0.1'], { HAPROXY_1_ENABLED: 'false', HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '1' }, withHealthChecks({ protocol: 'TCP', portIndex: 1 }));
    const green = side('/shop-green', GREEN_AT, [10001, 10000], ['10.0.0.3'], greenLabels, withHealthChecks({ protocol: 'TCP', portIndex: 0 }));
    const result = build([blue, green]);
    expect(result.warnings).toEqual([]);
    const s = onlyService(result);
    expect(s).toMatchObject({ backend: 'shop_10000', healthCheckPortIndex: 1, healthCheck: { protocol: 'tcp' } });
    expect(s.servers.map((sv) => [sv.appId, sv.port, sv.checkPort])).toEqual([
      ['/shop-blue', 30000, 30001],
      ['/shop-green', 30000, greenCheckPort],
    ]);
  });

  it("the old side drains once the new side's target is reached, the new side's port at another index", () => {
    const result = build([side('/shop-blue', BLUE_AT, [10000, 10001], ['10.0.0.1']), side('/shop-green', GREEN_AT, [10001], ['10.0.0.3'], { HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1' })]);
    expect(serversByBackend(result)).toEqual({ shop_10000: [blueA], shop_10001: [[...blueB.slice(0, 3), 'drain'], greenB] });
  });

  it('an app binding the port twice feeds it once, from its lower index; the other claim is a port conflict', () => {
    const blue = app(
      '/shop-blue',
      withPortDefinitions(11000, 11001),
      withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: BLUE_AT, HAPROXY_APP_ID: '/shop', HAPROXY_0_PORT: '10000', HAPROXY_1_PORT: '10000' }),
      withTasks(task('10.0.0.1', [30000, 30005])),
    );
    const result = build([blue, side('/shop-green', GREEN_AT, [10000], ['10.0.0.3'])]);
    expect(serversByBackend(result)).toEqual({ shop_10000: [blueA, greenA] });
    expect(result.warnings).toEqual([{ code: 'E_PORT_CONFLICT', appId: '/shop-blue', message: 'port 1 dropped: service port 10000 is already bound by /shop-blue', label: 'HAPROXY_1_PORT' }]);
  });
});

describe('buildModel: determinism', () => {
  /** A small world touching most of the model: every networking mode, groups, bad labels, blue/green. */
  function world(): MarathonApp[] {
    return [
      app('/web', withPortDefinitions(10000, 10001), withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.example.com,www.example.com', HAPROXY_0_PATH: '/api', HAPROXY_1_MODE: 'tcp' }), withHealthChecks({ protocol: 'HTTP', path: '/h' }),
        withTasks(task('agent-2', [31000, 31001], withTaskId('web-2')), task('agent-1', [31002, 31003], withTaskId('web-1')), task('10.0.0.9', [31004, 31005], inState('TASK_KILLING'), withTaskId('web-3')))),
      app('/bridge', withBridge({ containerPort: 80, hostPort: 0, servicePort: 10002 }), withLabels({ HAPROXY_0_STICKY: 'true', HAPROXY_0_MODE: 'http' }), withTasks(task('agent-1', [31010], withTaskId('br-1')))),
      app('/ipt-a', withIpAddress(8080), withTasks(task('agent-1', [], withIp('9.0.0.1'), withTaskId('a-1')))),
      app('/ipt-b', withContainerNetwork({ containerPort: 8080 }, { containerPort: 8081 }), withTasks(task('agent-2', [], withIp('9.0.0.2'), withTaskId('b-1')))),
      app('/bad', withPortDefinitions(10003, 10004), withLabels({ HAPROXY_0_PORT: 'x', HAPROXY_0_MODE: 'udp', HAPROXY_9_VHOST: 'y', HAPROXY_ZZZ: '1' })),
      app('/dup', withPortDefinitions(10000)),
      app('/unresolved', withPortDefinitions(10005), withTasks(task('nowhere', [31020], withTaskId('u-1')))),
      app('/shop-blue', withPortDefinitions(10020), withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: '1', HAPROXY_0_PORT: '10020', HAPROXY_APP_ID: 'shop' }), withTasks(task('10.0.1.1', [31030], withTaskId('sb-1')))),
      app('/shop-green', withPortDefinitions(10021), withLabels({ HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: '2', HAPROXY_0_PORT: '10020', HAPROXY_APP_ID: 'shop', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1' }), withTasks(task('10.0.1.2', [31031], withTaskId('sg-1')))),
      // Two apps with one id (a hand-written file): neither can be chosen whatever their order.
      app('/twin', withPortDefinitions(10030), withLabels({ HAPROXY_0_VHOST: 'one.example.com' }), withTasks(task('10.0.2.1', [31040], withTaskId('t-1')))),
      app('/twin', withPortDefinitions(10030), withLabels({ HAPROXY_0_VHOST: 'two.example.com' }), withTasks(task('10.0.2.2', [31040], withTaskId('t-2')))),
    ];
  }

  /** A deterministic shuffle (LCG), so a failure reproduces. */
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    const out = [...items];
    let x = seed;
    for (let i = out.length - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  function shuffledWorld(seed: number): MarathonApp[] {
    return shuffled(world(), seed).map((a, i) => ({
      ...a,
      labels: Object.fromEntries(shuffled(Object.entries(a.labels ?? {}), seed + i)),
      tasks: shuffled(a.tasks ?? [], seed * 7 + i),
    }));
  }

  const opts: Partial<ModelOptions> = { resolveHost: (h) => ({ 'agent-1': '10.0.0.1', 'agent-2': '10.0.0.2' })[h] ?? (/^\d/.test(h) ? h : undefined) };

  it('the world exercises what it should', () => {
    const { model, warnings } = build(world(), opts);
    expect(model.services.length).toBeGreaterThanOrEqual(7);
    expect(new Set(codes(warnings))).toEqual(new Set(['E_LABEL_INVALID', 'E_PORT_INDEX_UNKNOWN', 'W_LABEL_UNKNOWN', 'E_PORT_CONFLICT', 'E_HOST_UNRESOLVED', 'E_APP_DUPLICATE']));
    expect(warnings.filter((w) => w.appId === '/twin')).toEqual([{ code: 'E_APP_DUPLICATE', appId: '/twin', message: 'the document has 2 apps with this id; all of them dropped' }]);
    expect(model.services.filter((s) => s.appId === '/twin')).toEqual([]);
  });

  it('shuffled apps, labels and tasks give the identical model and warnings', () => {
    const expected = JSON.stringify(build(world(), opts));
    for (let seed = 1; seed <= 20; seed++) {
      expect(JSON.stringify(build(shuffledWorld(seed), opts)), `seed ${seed}`).toBe(expected);
    }
  });

  it('services are sorted by backend name', () => {
    const backends = build(shuffledWorld(3), opts).model.services.map((s) => s.backend);
    expect(backends).toEqual([...backends].sort());
  });

  it('does not modify its input', () => {
    const apps = world();
    const before = JSON.stringify(apps);
    build(apps, opts);
    expect(JSON.stringify(apps)).toBe(before);
  });
});
