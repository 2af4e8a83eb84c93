import { describe, expect, it } from 'vitest';
import type { HealthCheckDef } from '../../../src/marathon/types.js';
import { haproxyHealthCheck, healthCheckDefFor, modeFromHealthChecks, serviceCheckDef } from '../../../src/model/health.js';
import type { HealthCheck, Mode } from '../../../src/model/types.js';
import { app, withHealthChecks, withPortDefinitions } from '../../helpers/builders.js';

describe('healthCheckDefFor', () => {
  const a = app(
    '/a',
    withPortDefinitions(10000, 10001),
    withHealthChecks(
      { protocol: 'TCP', portIndex: 1, intervalSeconds: 1 },
      { protocol: 'HTTP', port: 8080, intervalSeconds: 2 },
      { protocol: 'HTTP', intervalSeconds: 3 },
      { protocol: 'HTTP', portIndex: 0, intervalSeconds: 4 },
      { protocol: 'HTTP', portIndex: 1, intervalSeconds: 5 },
    ),
  );

  it.each([
    [0, 2],
    [1, 1],
    [2, 2],
  ])('port index %d → the first check for it or for a fixed `port` (which serves every index, as in marathon-lb)', (index, interval) => {
    expect(healthCheckDefFor(a, index)?.intervalSeconds).toBe(interval);
  });

  it.each<[string, HealthCheckDef[], number, number | undefined]>([
    ['no fixed port: no portIndex means 0', [{ protocol: 'TCP', portIndex: 1, intervalSeconds: 1 }, { protocol: 'HTTP', intervalSeconds: 3 }], 0, 3],
    ['no fixed port: nothing for index 2', [{ protocol: 'TCP', portIndex: 1, intervalSeconds: 1 }, { protocol: 'HTTP', intervalSeconds: 3 }], 2, undefined],
    ['a fixed port after the index check: the index check first', [{ protocol: 'HTTP', portIndex: 0, intervalSeconds: 4 }, { protocol: 'HTTP', port: 8080, intervalSeconds: 2 }], 0, 4],
    ['port 0 is no fixed port', [{ protocol: 'HTTP', port: 0, intervalSeconds: 2 }, { protocol: 'HTTP', portIndex: 0, intervalSeconds: 4 }], 0, 4],
    // Marathon sends COMMAND checks without a portIndex: they are no check of port 0 (marathon-lb: None != 0)
    ['a COMMAND check first does not hide the HTTP check of the port', [{ protocol: 'COMMAND', intervalSeconds: 1 }, { protocol: 'HTTP', portIndex: 0, intervalSeconds: 4 }], 0, 4],
    ['a COMMAND check alone: none', [{ protocol: 'COMMAND', intervalSeconds: 1 }], 0, undefined],
  ])('%s', (_name, checks, index, interval) => {
    expect(healthCheckDefFor(app('/c', withPortDefinitions(10000, 10001, 10002), withHealthChecks(...checks)), index)?.intervalSeconds).toBe(interval);
  });

  it('an app without checks has none', () => {
    expect(healthCheckDefFor(app('/b'), 0)).toBeUndefined();
  });
});

describe('healthCheckDefFor with null fields (an older Marathon)', () => {
  it('port null is no fixed port: the check belongs to its portIndex (null: 0)', () => {
    const a = app('/a', withPortDefinitions(10000, 10001), withHealthChecks({ protocol: 'TCP', port: null, portIndex: 1, intervalSeconds: 7 }, { protocol: 'HTTP', port: null, portIndex: null, intervalSeconds: 8 }));
    expect(healthCheckDefFor(a, 1)?.intervalSeconds).toBe(7);
    expect(healthCheckDefFor(a, 0)?.intervalSeconds).toBe(8);
  });
});

describe('haproxyHealthCheck', () => {
  it.each<[string, HealthCheckDef | undefined, HealthCheck | undefined]>([
    ['none', undefined, undefined],
    ['HTTP with everything', { protocol: 'HTTP', path: '/health', intervalSeconds: 5, timeoutSeconds: 2, maxConsecutiveFailures: 1 }, { protocol: 'http', path: '/health', intervalSeconds: 5, timeoutSeconds: 2, falls: 2, maxConsecutiveFailures: 1, gracePeriodSeconds: 300 }],
    ['MESOS_HTTP', { protocol: 'MESOS_HTTP', path: '/h' }, { protocol: 'http', path: '/h', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['HTTPS', { protocol: 'HTTPS', path: '/s' }, { protocol: 'https', path: '/s', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['MESOS_HTTPS', { protocol: 'MESOS_HTTPS' }, { protocol: 'https', path: '/', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['TCP', { protocol: 'TCP', intervalSeconds: 10, maxConsecutiveFailures: 0 }, { protocol: 'tcp', path: '/', intervalSeconds: 10, timeoutSeconds: 20, falls: 1, maxConsecutiveFailures: 0, gracePeriodSeconds: 300 }],
    ['MESOS_TCP', { protocol: 'MESOS_TCP' }, { protocol: 'tcp', path: '/', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['lower-case protocol', { protocol: 'http' }, { protocol: 'http', path: '/', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['grace period and fixed port', { protocol: 'HTTP', gracePeriodSeconds: 15, port: 8081 }, { protocol: 'http', path: '/', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 15, port: 8081 }],
    ['COMMAND gives no HAProxy check', { protocol: 'COMMAND' }, undefined],
    ['no protocol', {}, undefined],
    ['unknown protocol', { protocol: 'UDP' }, undefined],
    ['fields null (an older Marathon): the defaults', { protocol: 'TCP', path: null, port: null, intervalSeconds: null, timeoutSeconds: null, gracePeriodSeconds: null, maxConsecutiveFailures: null }, { protocol: 'tcp', path: '/', intervalSeconds: 60, timeoutSeconds: 20, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    // HAProxy refuses `inter 0s`, a negative `fall`: the least it takes instead
    ['interval and timeout 0', { protocol: 'TCP', intervalSeconds: 0, timeoutSeconds: 0 }, { protocol: 'tcp', path: '/', intervalSeconds: 1, timeoutSeconds: 1, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    // …and refuses a timer over 2^31 − 1 ms: the longest it takes instead
    ['interval and timeout beyond HAProxy\'s longest timer', { protocol: 'TCP', intervalSeconds: 2147484, timeoutSeconds: 1e300 }, { protocol: 'tcp', path: '/', intervalSeconds: 2147483, timeoutSeconds: 2147483, falls: 4, maxConsecutiveFailures: 3, gracePeriodSeconds: 300 }],
    ['negative interval, fractional timeout, negative failures', { protocol: 'HTTP', intervalSeconds: -5, timeoutSeconds: 2.5, maxConsecutiveFailures: -1 }, { protocol: 'http', path: '/', intervalSeconds: 1, timeoutSeconds: 3, falls: 1, maxConsecutiveFailures: 0, gracePeriodSeconds: 300 }],
  ])('%s', (_name, def, expected) => {
    expect(haproxyHealthCheck(def)).toEqual(expected);
  });

  it.each([
    ['/ok', '/ok'],
    ['/a?b=c', '/a?b=c'],
    ['relative', '/'],
    ['', '/'],
    ['/with space', '/'],
    ['/with#hash', '/'],
    ['/line\nbreak', '/'],
    ['/un"matched', '/'],
    ["/single'quote", '/'],
    ['/back\\slash', '/'],
    ['/ctl\u0001char', '/'],
  ])('path %j → %j (anything that would break the httpchk line becomes /)', (path, expected) => {
    expect(haproxyHealthCheck({ protocol: 'HTTP', path })?.path).toBe(expected);
  });
});

describe('serviceCheckDef', () => {
  const checks: HealthCheckDef[] = [{ protocol: 'HTTP', portIndex: 0, intervalSeconds: 1 }, { protocol: 'TCP', portIndex: 2, intervalSeconds: 3 }];
  it.each<[string, number, number | undefined, number | undefined]>([
    ["the port's own check", 0, undefined, 1],
    ['HEALTHCHECK_PORT_INDEX keeps the own check (it moves only its port)', 0, 1, 1],
    ['no own check: the one of HEALTHCHECK_PORT_INDEX', 1, 0, 1],
    ['no own check, no index: none', 1, undefined, undefined],
    ['no own check, an index without one: none', 1, 1, undefined],
  ])('%s', (_name, index, checkIndex, interval) => {
    expect(serviceCheckDef(app('/c', withPortDefinitions(10000, 10001, 10002), withHealthChecks(...checks)), index, checkIndex)?.intervalSeconds).toBe(interval);
  });
});

describe('modeFromHealthChecks', () => {
  it.each<[string, HealthCheckDef[], number, Mode]>([
    ['no checks', [], 0, 'tcp'],
    ['own check HTTP', [{ protocol: 'HTTP' }], 0, 'http'],
    ['own check http (any case)', [{ protocol: 'http' }], 0, 'http'],
    ['own check TCP, an HTTP check of another port', [{ protocol: 'TCP', portIndex: 0 }, { protocol: 'HTTP', portIndex: 1 }], 0, 'tcp'],
    ["port 1's own check is the second one (HTTP)", [{ protocol: 'TCP', portIndex: 0 }, { protocol: 'HTTP', portIndex: 1 }], 1, 'http'],
    // nor does one it borrows through HEALTHCHECK_PORT_INDEX (an app port beside an HTTP health port)
    ["port 0's HTTP check says nothing of port 1", [{ protocol: 'HTTP', portIndex: 0 }], 1, 'tcp'],
    ['HTTPS is not plain HTTP', [{ protocol: 'HTTPS' }], 0, 'tcp'],
    ['MESOS_HTTP is not plain HTTP', [{ protocol: 'MESOS_HTTP' }], 0, 'tcp'],
    ['COMMAND, then HTTP', [{ protocol: 'COMMAND' }, { protocol: 'HTTP', portIndex: 0 }], 0, 'http'],
  ])('%s → %s', (_name, checks, index, mode) => {
    expect(modeFromHealthChecks(app('/a', withPortDefinitions(10000, 10001), withHealthChecks(...checks)), index)).toBe(mode);
  });
});
