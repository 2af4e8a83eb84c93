import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { parseAppsDocument } from '../../../src/marathon/client.js';
import { asAppsDocument } from '../../../src/marathon/schema.js';
import { buildModel } from '../../../src/model/build.js';
import { buildVipModel } from '../../../src/model/vips.js';
import { app, task, withBridge, withIp, withIpAddress, withLabels, withPortDefinitions, withTasks } from '../../helpers/builders.js';

const FIXTURES = 'test/fixtures';
const fixtureDocs = readdirSync(FIXTURES)
  .filter((d) => readdirSync(join(FIXTURES, d)).includes('apps.json'))
  .sort()
  .map((d) => [d, JSON.parse(readFileSync(join(FIXTURES, d, 'apps.json'), 'utf8')) as unknown] as const);

/** What a user POSTs to /v2/apps: one app definition, not the apps document GET returns. */
const appDefinition = {
  id: '/httpi',
  networks: [{ mode: 'host' }],
  portDefinitions: [{ port: 0, name: 'http' }],
  labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http' },
  instances: 1,
};

function refusal(doc: unknown): MlbError {
  try {
    asAppsDocument(doc, 'input.json');
  } catch (e) {
    expect(e).toBeInstanceOf(MlbError);
    return e as MlbError;
  }
  throw new Error('expected the document to be refused');
}

describe('asAppsDocument', () => {
  it('has fixture documents to check', () => {
    expect(fixtureDocs.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtureDocs)('accepts the %s fixture, returning it unchanged', (_name, doc) => {
    expect(asAppsDocument(doc, 'apps.json')).toBe(doc);
  });

  it.each<[string, unknown]>([
    ['no apps', { apps: [] }],
    ['built apps of every networking shape', { apps: [app('/a', withPortDefinitions(10000), withLabels({ HAPROXY_GROUP: 'x' }), withTasks(task('h', [31000]))), app('/b', withBridge({ containerPort: 80, hostPort: 0, servicePort: 0 })), app('/c', withIpAddress(8080), withTasks(task('h', [], withIp('9.0.0.1'))))] }],
    ['fields mlb-ts does not know (a newer Marathon)', { apps: [{ id: '/a', cpus: 0.1, unreachableStrategy: { inactiveAfterSeconds: 0 }, tasks: [{ id: 't', localVolumes: [] }] }], extra: true }],
    ['nulls Marathon sends', { apps: [{ id: '/a', container: null, ipAddress: null, tasks: [{ id: 't', ipAddresses: null }] }] }],
    ['null portMappings', { apps: [{ id: '/a', container: { portMappings: null, docker: { portMappings: null } } }] }],
    ['port 0 (not yet assigned)', { apps: [{ id: '/a', ports: [0], portDefinitions: [{ port: 0 }] }] }],
    ['health-check fields null (not set)', { apps: [{ id: '/a', healthChecks: [{ protocol: 'TCP', path: null, portIndex: null, port: null, intervalSeconds: null, timeoutSeconds: null, gracePeriodSeconds: null, maxConsecutiveFailures: null }] }] }],
    ['legacy discovery null', { apps: [{ id: '/a', ipAddress: { discovery: null } }, { id: '/b', ipAddress: { discovery: { ports: null } } }] }],
  ])('accepts %s', (_name, doc) => {
    expect(asAppsDocument(doc, 'x')).toBe(doc);
  });

  it('refuses an app definition (a POST body, not GET /v2/apps)', () => {
    const e = refusal(appDefinition);
    expect(e.code).toBe('E_INPUT_NOT_MARATHON');
    expect(e.message).toContain("must have required property 'apps'");
  });

  it.each<[string, unknown, string, RegExp]>([
    ['null', null, '/', /must be object/],
    ['an array', [], '/', /must be object/],
    ['a string', 'apps', '/', /must be object/],
    ['a number', 42, '/', /must be object/],
    ['an empty object', {}, '/', /must have required property 'apps'/],
    ['one app (GET /v2/apps/{id})', { app: { id: '/a' } }, '/', /must have required property 'apps'/],
    ['the tasks endpoint', { tasks: [] }, '/', /must have required property 'apps'/],
    ['apps not an array', { apps: {} }, '/apps', /must be array/],
    ['an app without id', { apps: [{}] }, '/apps/0', /must have required property 'id'/],
    ['an app with an empty id', { apps: [{ id: '/a' }, { id: '' }] }, '/apps/1/id', /NOT have fewer than 1 characters|is empty/],
    ['an app id that is not a string', { apps: [{ id: 7 }] }, '/apps/0/id', /must be string/],
    ['a service port above 65535', { apps: [{ id: '/a', portDefinitions: [{ port: 70000 }] }] }, '/apps/0/portDefinitions/0/port', /must be <= 65535/],
    ['a negative legacy port', { apps: [{ id: '/a', ports: [-1] }] }, '/apps/0/ports/0', /must be >= 0/],
    ['a fractional port', { apps: [{ id: '/a', ports: [80.5] }] }, '/apps/0/ports/0', /must be integer/],
    ['a bad port mapping', { apps: [{ id: '/a', container: { portMappings: [{ containerPort: 'eighty' }] } }] }, '/apps/0/container/portMappings/0/containerPort', /must be integer/],
    ['a bad docker port mapping', { apps: [{ id: '/a', container: { docker: { portMappings: [{ hostPort: 99999 }] } } }] }, '/apps/0/container/docker/portMappings/0/hostPort', /must be <= 65535/],
    ['tasks not an array', { apps: [{ id: '/a', tasks: {} }] }, '/apps/0/tasks', /must be array/],
    ['a task without id', { apps: [{ id: '/a', tasks: [{ host: 'h' }] }] }, '/apps/0/tasks/0', /must have required property 'id'/],
    ['a task host that is not a string', { apps: [{ id: '/a', tasks: [{ id: 't', host: 1 }] }] }, '/apps/0/tasks/0/host', /must be string/],
    ['task ports as strings', { apps: [{ id: '/a', tasks: [{ id: 't', ports: ['31000'] }] }] }, '/apps/0/tasks/0/ports/0', /must be integer/],
    ['a task IP without ipAddress', { apps: [{ id: '/a', tasks: [{ id: 't', ipAddresses: [{ protocol: 'IPv4' }] }] }] }, '/apps/0/tasks/0/ipAddresses/0', /must have required property 'ipAddress'/],
    ['a legacy discovery port that is null', { apps: [{ id: '/a', ipAddress: { discovery: { ports: [null] } } }] }, '/apps/0/ipAddress/discovery/ports/0', /must be object/],
    ['a legacy discovery port above 65535', { apps: [{ id: '/a', ipAddress: { discovery: { ports: [{ number: 70000 }] } } }] }, '/apps/0/ipAddress/discovery/ports/0/number', /must be <= 65535/],
    ['a health-check protocol that is not a string', { apps: [{ id: '/a', healthChecks: [{ protocol: 5 }] }] }, '/apps/0/healthChecks/0/protocol', /must be string/],
    ['a health-check path that is not a string', { apps: [{ id: '/a', healthChecks: [{ protocol: 'HTTP', path: 5 }] }] }, '/apps/0/healthChecks/0/path', /must be string/],
    ['a health-check port above 65535', { apps: [{ id: '/a', healthChecks: [{ protocol: 'TCP', port: 70000 }] }] }, '/apps/0/healthChecks/0/port', /must be <= 65535/],
    ['a negative health-check port index', { apps: [{ id: '/a', healthChecks: [{ protocol: 'TCP', portIndex: -1 }] }] }, '/apps/0/healthChecks/0/portIndex', /must be >= 0/],
    ['a health-check interval that is not a number', { apps: [{ id: '/a', healthChecks: [{ protocol: 'TCP', intervalSeconds: '5' }] }] }, '/apps/0/healthChecks/0/intervalSeconds', /must be number/],
  ])('refuses %s with E_INPUT_NOT_MARATHON naming where', (_name, doc, path, reason) => {
    const e = refusal(doc);
    expect(e.code).toBe('E_INPUT_NOT_MARATHON');
    const prefix = `input.json is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): ${path} `;
    expect(e.message.startsWith(prefix), e.message).toBe(true);
    // the wording of the reason is the validator's; the path and the gist are ours
    expect(e.message.slice(prefix.length)).toMatch(reason);
  });
});

describe('parseAppsDocument with slim (app by app)', () => {
  const refusalOf = (doc: unknown, slim: boolean): string => {
    try {
      parseAppsDocument(JSON.stringify(doc), 'input.json', { slim });
    } catch (e) {
      expect(e).toBeInstanceOf(MlbError);
      return `${(e as MlbError).code} ${(e as MlbError).message}`;
    }
    throw new Error('expected the document to be refused');
  };

  it.each(fixtureDocs)('reads the %s fixture to the same LB and VIP models as the whole-document parse', (_name, doc) => {
    const whole = asAppsDocument(doc, 'apps.json');
    const slim = parseAppsDocument(JSON.stringify(doc), 'apps.json', { slim: true });
    expect(slim.apps.map((a) => a.id)).toEqual(whole.apps.map((a) => a.id));
    const opts = { groups: ['*'], healthCheck: true };
    expect(buildModel(slim.apps, opts)).toEqual(buildModel(whole.apps, opts));
    expect(buildVipModel(slim.apps)).toEqual(buildVipModel(whole.apps));
  });

  it('takes labels whose values are not strings: they are one app\'s bad labels, which the model reports', () => {
    const doc = { apps: [{ id: '/a', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: 8080, team: null }, portDefinitions: [{ port: 10000, labels: { VIP_0: 5 } }] }] };
    for (const slim of [true, false]) expect(parseAppsDocument(JSON.stringify(doc), 'x', { slim }).apps[0]?.labels).toEqual(doc.apps[0]?.labels);
  });

  it('drops the fields mlb-ts does not read, and keeps the ones it does', () => {
    const full = { id: '/a', cmd: 'sleep', env: { A: '1' }, labels: { HAPROXY_GROUP: 'external' }, versionInfo: { lastScalingAt: 'x' }, tasks: [{ id: 't', host: 'h', ports: [1], slaveId: 's', stagedAt: 'x', localVolumes: [], state: 'TASK_RUNNING' }] };
    expect(parseAppsDocument(JSON.stringify({ apps: [full] }), 'x', { slim: true }).apps).toEqual([{ id: '/a', labels: { HAPROXY_GROUP: 'external' }, tasks: [{ id: 't', host: 'h', ports: [1], state: 'TASK_RUNNING' }] }]);
  });

  it.each<[string, unknown]>([
    ['an app without id', { apps: [{ id: '/a' }, {}] }],
    ['an app with an empty id', { apps: [{ id: '/a' }, { id: '' }] }],
    ['a bad docker port mapping', { apps: [{ id: '/a', container: { docker: { portMappings: [{ hostPort: 99999 }] } } }] }],
    ['task ports as strings', { apps: [{ id: '/a' }, { id: '/b', tasks: [{ id: 't', ports: ['31000'] }] }] }],
    ['a task IP without ipAddress', { apps: [{ id: '/a', tasks: [{ id: 't', ipAddresses: [{ protocol: 'IPv4' }] }] }] }],
    ['an app definition', appDefinition],
  ])('refuses %s with the same error as the whole-document parse', (_name, doc) => {
    expect(refusalOf(doc, true)).toBe(refusalOf(doc, false));
  });

  it.each<[string, string]>([
    ['a broken app', '{"apps":[{"id":"/a"},{"id":"/b",}]}'],
    ['a truncated document', '{"apps":[{"id":"/a"},{"id":"/b"'],
    ['a bad literal', '{"apps":[{"id":"/a","x":nul}]}'],
  ])('refuses %s as not JSON', (_name, text) => {
    expect(() => parseAppsDocument(text, 'input.json', { slim: true })).toThrow(expect.objectContaining({ code: 'E_INPUT_NOT_JSON' }));
  });
});
