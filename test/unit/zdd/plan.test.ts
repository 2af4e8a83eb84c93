import { describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import type { MarathonApp, Task } from '../../../src/marathon/types.js';
import {
  type Action,
  type AppDefinition,
  baseIdOf,
  bindPortsOf,
  colourOf,
  describePlan,
  groupStateOf,
  newAppOf,
  nextAction,
  nextSize,
  planDeploy,
  scheduleOf,
  servicePortsOf,
  type Shift,
  stepSizeOf,
  taskAddresses,
  withServicePorts,
} from '../../../src/zdd/plan.js';
import { app, inState, task, withBridge, withHealth, withHealthChecks, withLabels, withPortDefinitions, withTaskId, withTasks } from '../../helpers/builders.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const OPTS = { now: NOW, initialInstances: 1, step: 1 };

/** What a user posts: group shop, main service port 10000, alt 10001, public port 8080. */
function definition(extra: Record<string, unknown> = {}, instances = 2): AppDefinition {
  return {
    id: '/shop',
    instances,
    cmd: 'serve --version 2',
    env: { VERSION: '2' },
    portDefinitions: [{ port: 10000, protocol: 'tcp', name: 'http' }],
    labels: { HAPROXY_GROUP: 'external', HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10001', HAPROXY_0_PORT: '8080', HAPROXY_0_VHOST: 'shop.example.com', ...extra },
  };
}

function live(id: string, labels: Record<string, string>, servicePort: number, instances = 3): MarathonApp {
  const a = app(id, withPortDefinitions(servicePort), withLabels({ HAPROXY_GROUP: 'external', HAPROXY_DEPLOYMENT_GROUP: 'shop', ...labels }));
  a.instances = instances;
  return a;
}

const blue = (labels: Record<string, string> = {}, servicePort = 10000, instances = 3) =>
  live('/shop-blue', { HAPROXY_DEPLOYMENT_COLOUR: 'blue', HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-01T00:00:00.000Z', HAPROXY_0_PORT: '8080', ...labels }, servicePort, instances);
const green = (labels: Record<string, string> = {}, servicePort = 10001, instances = 1) =>
  live('/shop-green', { HAPROXY_DEPLOYMENT_COLOUR: 'green', HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-02T00:00:00.000Z', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3', HAPROXY_0_PORT: '8080', ...labels }, servicePort, instances);

function zddCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlbError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('colours and ids', () => {
  it.each([
    ['/shop-blue', '/shop'],
    ['shop-green', '/shop'],
    ['/team/shop-blue', '/team/shop'],
    ['/shop', '/shop'],
    ['/blueberry', '/blueberry'],
    ['/shop-blue-green', '/shop-blue'],
  ])('baseIdOf(%s) = %s', (id, base) => expect(baseIdOf(id)).toBe(base));

  it.each([
    ['label blue', live('/x', { HAPROXY_DEPLOYMENT_COLOUR: 'blue' }, 1), 'blue'],
    ['label GREEN (any case)', live('/x', { HAPROXY_DEPLOYMENT_COLOUR: 'GREEN' }, 1), 'green'],
    ['no label, -green id', live('/x-green', {}, 1), 'green'],
    ['no label, plain id (deployed without zdd)', live('/x', {}, 1), 'blue'],
    ['label wins over the id', live('/x-green', { HAPROXY_DEPLOYMENT_COLOUR: 'blue' }, 1), 'blue'],
  ])('colourOf: %s', (_, a, colour) => expect(colourOf(a)).toBe(colour));

  it.each([
    ['no live app: blue', undefined, '/shop-blue', 'blue'],
    ['blue live: green', blue(), '/shop-green', 'green'],
    ['green live: blue', green(), '/shop-blue', 'blue'],
    ['unlabelled /shop live: green', live('/shop', {}, 10000), '/shop-green', 'green'],
  ])('new app colour — %s', (_, current, id, colour) => {
    const n = newAppOf(definition(), current, OPTS);
    expect([n.def.id, n.colour, n.def.labels?.HAPROXY_DEPLOYMENT_COLOUR]).toEqual([id, colour, colour]);
  });

  it('refuses when the new id is the live one (colour label contradicts the name)', () => {
    expect(zddCode(() => newAppOf(definition(), live('/shop-blue', { HAPROXY_DEPLOYMENT_COLOUR: 'green' }, 10000), OPTS))).toMatch(/^E_ZDD: \/shop-blue is labelled green but named blue/);
  });
});

describe('labels of the new app', () => {
  it('replacing blue: colour, start time, target from the live app, starting instances, app id, the live bind port', () => {
    const n = newAppOf(definition({ HAPROXY_0_PORT: '9999' }), blue(), OPTS);
    expect(n.def.labels).toEqual({
      HAPROXY_GROUP: 'external',
      HAPROXY_DEPLOYMENT_GROUP: 'shop',
      HAPROXY_DEPLOYMENT_ALT_PORT: '10001',
      HAPROXY_0_VHOST: 'shop.example.com',
      HAPROXY_0_PORT: '8080',
      HAPROXY_DEPLOYMENT_COLOUR: 'green',
      HAPROXY_DEPLOYMENT_STARTED_AT: '2026-03-01T12:00:00.000Z',
      HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3',
      // zdd.py's meaning: the share of a hybrid deploy, 0 for a whole one (not the starting instances).
      HAPROXY_DEPLOYMENT_NEW_INSTANCES: '0',
      HAPROXY_APP_ID: '/shop',
    });
    expect(n.def.instances).toBe(1);
    expect(n.target).toBe(3);
    expect(n.notes).toEqual(['HAPROXY_0_PORT 9999 of the definition replaced by 8080, the port /shop-blue binds (a deploy keeps the public port)']);
    expect([n.def.cmd, n.def.env]).toEqual(['serve --version 2', { VERSION: '2' }]);
  });

  it.each([
    ['--target sets the target', { targetInstances: 5, initialInstances: 2 }, 5, 2, '0'],
    ['initial instances are capped by the target', { targetInstances: 2, initialInstances: 4 }, 2, 2, '0'],
    ['default: the live app’s instances, one to start', {}, 3, 1, '0'],
    ['-n 2 of 3: hybrid, the share is labelled', { newInstances: 2 }, 3, 1, '2'],
    ['-n 2 of 3: initial instances are capped by the share', { newInstances: 2, initialInstances: 3 }, 3, 2, '2'],
    ['-n 3 of 3: a whole deploy', { newInstances: 3, initialInstances: 3 }, 3, 3, '0'],
    ['-n 9 of 3: a whole deploy', { newInstances: 9 }, 3, 1, '0'],
  ] as const)('%s', (_, extra, target, instances, share) => {
    const n = newAppOf(definition(), blue(), { ...OPTS, ...extra });
    expect([n.target, n.def.instances, n.def.labels?.HAPROXY_DEPLOYMENT_TARGET_INSTANCES, n.def.labels?.HAPROXY_DEPLOYMENT_NEW_INSTANCES]).toEqual([target, instances, String(target), share]);
  });

  it('a first deploy labels no hybrid share, whatever -n says', () => {
    expect(newAppOf(definition({}, 4), undefined, { ...OPTS, newInstances: 2 }).def.labels?.HAPROXY_DEPLOYMENT_NEW_INSTANCES).toBe('0');
  });

  it('keeps an HAPROXY_APP_ID the definition sets', () => {
    expect(newAppOf(definition({ HAPROXY_APP_ID: '/storefront' }), blue(), OPTS).def.labels?.HAPROXY_APP_ID).toBe('/storefront');
  });

  it('takes the live app’s Marathon service port as the bind port when it has no HAPROXY_0_PORT', () => {
    const current = live('/shop', {}, 10000);
    const n = newAppOf(definition({ HAPROXY_0_PORT: '' }), current, OPTS);
    expect(n.def.labels?.HAPROXY_0_PORT).toBe('10000');
    expect(servicePortsOf(n.def)).toEqual([10001]);
  });

  it('first deploy: the whole target at once, the definition’s own ports, blue', () => {
    const n = newAppOf(definition({}, 4), undefined, OPTS);
    expect([n.def.id, n.def.instances, n.target, servicePortsOf(n.def), n.def.labels?.HAPROXY_0_PORT]).toEqual(['/shop-blue', 4, 4, [10000], '8080']);
  });

  it('drops what Marathon reports but never takes (version, tasks, deployments)', () => {
    const def = { ...definition(), version: '2026-01-01T00:00:00.000Z', tasks: [], deployments: [], tasksRunning: 3 };
    const n = newAppOf(def, blue(), OPTS);
    expect(Object.keys(n.def).filter((k) => ['version', 'tasks', 'deployments', 'tasksRunning'].includes(k))).toEqual([]);
  });
});

describe('service ports', () => {
  const bridged = (servicePorts: number[], labels: Record<string, string> = {}): AppDefinition => {
    const d = definition(labels);
    delete d.portDefinitions;
    withBridge(...servicePorts.map((servicePort, i) => ({ containerPort: 80 + i, hostPort: 0, servicePort })))(d);
    return d;
  };

  it.each([
    ['portDefinitions, live on the main port → alt', definition(), blue({}, 10000), [10001]],
    ['portDefinitions, live on the alt port → main', definition(), blue({}, 10001), [10000]],
    ['container.portMappings, live on main → alt; other ports left to Marathon', bridged([10000, 10002]), blue({}, 10000), [10001, 0]],
    ['container.portMappings, live on alt → main', bridged([10000]), blue({}, 10001), [10000]],
    ['definition without a service port (assigned), live on alt → assigned', { ...definition(), portDefinitions: [{ port: 0 }] }, blue({}, 10001), [0]],
  ])('%s', (_, def, current, ports) => {
    const n = newAppOf(def, current, OPTS);
    expect(servicePortsOf(n.def)).toEqual(ports);
    expect(n.servicePorts).toEqual(ports);
  });

  it('docker (≤1.4) portMappings and legacy ports[] are rewritten in place', () => {
    const docker: AppDefinition = { ...definition(), portDefinitions: undefined, container: { type: 'DOCKER', docker: { image: 'x', network: 'BRIDGE', portMappings: [{ containerPort: 80, servicePort: 10000 }] } } };
    expect(withServicePorts(docker, [10001]).container?.docker?.portMappings).toEqual([{ containerPort: 80, servicePort: 10001 }]);
    const legacy: AppDefinition = { ...definition(), portDefinitions: undefined, ports: [10000, 10005] };
    const out = withServicePorts(legacy, [10001, 0]);
    expect([out.portDefinitions, out.ports]).toEqual([[{ port: 10001 }, { port: 0 }], undefined]);
  });

  it('keeps the bind port of every index: labels first, then Marathon service ports', () => {
    const a = live('/m', { HAPROXY_1_PORT: '9001' }, 0);
    a.portDefinitions = [{ port: 10000 }, { port: 10002 }, { port: 0 }];
    expect([...bindPortsOf(a)]).toEqual([[0, 10000], [1, 9001]]);
  });

  it.each([
    ['no alt port', { HAPROXY_DEPLOYMENT_ALT_PORT: '' }, /has no HAPROXY_DEPLOYMENT_ALT_PORT label/],
    ['alt port is the main port', { HAPROXY_DEPLOYMENT_ALT_PORT: '10000' }, /ALT_PORT 10000 is the definition's own service port/],
    ['alt port not a port', { HAPROXY_DEPLOYMENT_ALT_PORT: 'eighty' }, /ALT_PORT "eighty" is not a port number/],
    ['alt port a number, not a string (a hand-written definition)', { HAPROXY_DEPLOYMENT_ALT_PORT: 10001 }, /^E_ZDD: \/shop: HAPROXY_DEPLOYMENT_ALT_PORT 10001 is a number, not a string/],
  ])('E_ZDD: %s', (_, labels, message) => {
    expect(zddCode(() => newAppOf(definition(labels), blue(), OPTS))).toMatch(message);
  });
});

describe('state of the deployment group', () => {
  const other = live('/cart', { HAPROXY_DEPLOYMENT_GROUP: 'cart' }, 12000);

  it.each([
    ['none', [other], 'none', []],
    ['one', [other, blue()], 'one', ['/shop-blue']],
    ['two, newer by start time whatever the order', [green(), other, blue()], 'two', ['/shop-blue', '/shop-green']],
    ['two, an unlabelled app counts as the older', [green(), live('/shop', {}, 10000)], 'two', ['/shop', '/shop-green']],
  ])('%s', (_, apps, kind, ids) => {
    const s = groupStateOf(apps, 'shop');
    expect(s.kind).toBe(kind);
    const found = s.kind === 'one' ? [s.current.id] : s.kind === 'two' ? [s.older.id, s.newer.id] : [];
    expect(found).toEqual(ids);
  });

  it('three apps: E_ZDD naming them', () => {
    expect(zddCode(() => groupStateOf([blue(), green(), live('/shop-red', {}, 1)], 'shop'))).toBe(
      'E_ZDD: deployment group shop has 3 apps (/shop-red, /shop-blue, /shop-green); at most two can take part in a deploy — delete the extra ones',
    );
  });

  it('two apps started at the same time: E_ZDD', () => {
    expect(zddCode(() => groupStateOf([blue(), green({ HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-01T00:00:00.000Z' })], 'shop'))).toMatch(/cannot tell which is newer/);
  });

  it('the definition must name its deployment group', () => {
    expect(zddCode(() => planDeploy(definition({ HAPROXY_DEPLOYMENT_GROUP: '' }), [], OPTS))).toMatch(/^E_ZDD: \/shop: the app definition has no HAPROXY_DEPLOYMENT_GROUP label/);
  });
});

describe('planDeploy', () => {
  it.each([
    ['first deploy', [], undefined, { kind: 'first', shift: { to: '/shop-blue', target: 2, step: 2 } }],
    ['replace the live app', [blue()], undefined, { kind: 'deploy', shift: { from: '/shop-blue', to: '/shop-green', target: 3, step: 1 } }],
    ['--resume with one app is a normal deploy', [blue()], 'resume', { kind: 'deploy', shift: { from: '/shop-blue', to: '/shop-green', target: 3, step: 1 } }],
    ['--resume continues older → newer in steps', [blue(), green()], 'resume', { kind: 'interrupted', shift: { from: '/shop-blue', to: '/shop-green', target: 3, step: 1 } }],
    ['--complete-cur: all at once to the newer', [blue(), green()], 'complete-cur', { kind: 'interrupted', shift: { from: '/shop-blue', to: '/shop-green', target: 3, step: 3 } }],
    ['--complete-prev: back to the older', [blue(), green()], 'complete-prev', { kind: 'interrupted', shift: { from: '/shop-green', to: '/shop-blue', target: 3, step: 3 } }],
    ['--complete-cur with one app: nothing to do', [blue()], 'complete-cur', { kind: 'nothing' }],
    ['--complete-prev with none: nothing to do', [], 'complete-prev', { kind: 'nothing' }],
  ] as const)('%s', (_, apps, choice, expected) => {
    const plan = planDeploy(definition(), apps, { ...OPTS, ...(choice ? { choice } : {}) });
    expect(plan).toMatchObject(expected);
  });

  it('two apps without a choice: E_ZDD naming both and the three ways on', () => {
    expect(zddCode(() => planDeploy(definition(), [green(), blue()], OPTS))).toBe(
      'E_ZDD: deployment group shop has two apps, /shop-blue (started 2026-02-01T00:00:00.000Z) and /shop-green (started 2026-02-02T00:00:00.000Z): ' +
        'a previous deploy was interrupted. Run again with --resume to continue it, --complete-cur to finish it now keeping /shop-green, or --complete-prev to roll back to /shop-blue',
    );
  });

  it('an interrupted deploy without a target label needs --target', () => {
    const g = green({ HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '' });
    expect(zddCode(() => planDeploy(definition(), [blue(), g], { ...OPTS, choice: 'resume' }))).toMatch(/pass --target/);
    expect(planDeploy(definition(), [blue(), g], { ...OPTS, choice: 'resume', targetInstances: 4 })).toMatchObject({ shift: { target: 4 } });
  });

  // The kept app grows to --target, else its own target label, else the other app's:
  // --resume and --complete-cur keep the newer app, --complete-prev the older one.
  const TARGET = 'HAPROXY_DEPLOYMENT_TARGET_INSTANCES';
  it.each([
    ['--complete-prev: the older app\'s own target, not the newer one\'s', 'complete-prev', '5', '10', {}, { from: '/shop-green', to: '/shop-blue', target: 5, step: 5 }],
    ['--complete-prev: older without a label takes the newer one\'s', 'complete-prev', '', '10', {}, { to: '/shop-blue', target: 10, step: 10 }],
    ['--complete-prev: only the older app has a label', 'complete-prev', '5', '', {}, { to: '/shop-blue', target: 5 }],
    ['--complete-prev: --target wins over both labels', 'complete-prev', '5', '10', { targetInstances: 7 }, { to: '/shop-blue', target: 7, step: 7 }],
    ['--complete-cur: the newer app\'s target', 'complete-cur', '5', '10', {}, { from: '/shop-blue', to: '/shop-green', target: 10, step: 10 }],
    ['--complete-cur: newer without a label takes the older one\'s', 'complete-cur', '5', '', {}, { to: '/shop-green', target: 5 }],
    ['--complete-cur: --target wins over both labels', 'complete-cur', '5', '10', { targetInstances: 7 }, { to: '/shop-green', target: 7 }],
    ['--resume: the newer app\'s target, in steps', 'resume', '5', '10', {}, { from: '/shop-blue', to: '/shop-green', target: 10, step: 1 }],
    ['--resume: newer without a label takes the older one\'s', 'resume', '5', '', {}, { to: '/shop-green', target: 5, step: 1 }],
    ['--resume: --target wins over both labels', 'resume', '5', '10', { targetInstances: 7 }, { to: '/shop-green', target: 7, step: 1 }],
  ] as const)('interrupted deploy target: %s', (_, choice, olderTarget, newerTarget, extra, shift) => {
    const apps = [blue({ [TARGET]: olderTarget }, 10000, 1), green({ [TARGET]: newerTarget }, 10001, 4)];
    expect(planDeploy(definition(), apps, { ...OPTS, ...extra, choice })).toMatchObject({ kind: 'interrupted', shift });
  });

  it.each(['resume', 'complete-cur', 'complete-prev'] as const)('--%s without a target label on either app needs --target', (choice) => {
    const apps = [blue({}, 10000, 1), green({ [TARGET]: '' }, 10001, 4)];
    expect(zddCode(() => planDeploy(definition(), apps, { ...OPTS, choice }))).toBe(
      'E_ZDD: neither /shop-green nor /shop-blue has a HAPROXY_DEPLOYMENT_TARGET_INSTANCES label: pass --target',
    );
  });

  // zdd.py's hybrid deploy (-n N): the new app grows to N, the old one keeps the rest and stays.
  const NEW = 'HAPROXY_DEPLOYMENT_NEW_INSTANCES';
  it.each([
    ['-n 2 of 4 live: hybrid, new 2, old keeps 2', [blue({}, 10000, 4)], { newInstances: 2 }, { kind: 'deploy', shift: { from: '/shop-blue', to: '/shop-green', target: 4, hybrid: 2 }, create: { hybrid: 2, def: { instances: 1, labels: { [NEW]: '2' } } } }],
    ['-n 4 of 4 live: a normal deploy', [blue({}, 10000, 4)], { newInstances: 4 }, { kind: 'deploy', shift: { from: '/shop-blue', to: '/shop-green', target: 4 }, create: { def: { labels: { [NEW]: '0' } } } }],
    ['-n 6 of 4 live: a normal deploy', [blue({}, 10000, 4)], { newInstances: 6 }, { kind: 'deploy', shift: { target: 4 }, create: { def: { labels: { [NEW]: '0' } } } }],
    ['-n 3 with --target 8: hybrid of 8', [blue({}, 10000, 4)], { newInstances: 3, targetInstances: 8 }, { kind: 'deploy', shift: { target: 8, hybrid: 3 } }],
    ['-n on a first deploy: the whole app', [], { newInstances: 1 }, { kind: 'first', shift: { to: '/shop-blue', target: 2, step: 2 } }],
  ] as const)('%s', (_, apps, extra, expected) => {
    const plan = planDeploy(definition(), apps, { ...OPTS, ...extra });
    expect(plan).toMatchObject(expected);
    const hybrid = plan.kind === 'deploy' || plan.kind === 'first' ? plan.shift.hybrid : 'n/a';
    if (!('hybrid' in expected.shift)) expect(hybrid).toBeUndefined();
  });

  // What a hybrid -n 2 of 4 leaves: green (newer) 2 instances labelled with its share, blue 2.
  const hybridState = () => [blue({}, 10000, 2), green({ [TARGET]: '4', [NEW]: '2' }, 10001, 2)];
  it.each([
    ['--complete-cur: all to the newer, the older deleted', 'complete-cur', {}, { from: '/shop-blue', to: '/shop-green', target: 4, step: 4 }],
    ['--complete-prev: all back to the older, the newer deleted', 'complete-prev', {}, { from: '/shop-green', to: '/shop-blue', target: 4, step: 4 }],
    ['--resume: the hybrid share again (nothing to grow)', 'resume', {}, { from: '/shop-blue', to: '/shop-green', target: 4, hybrid: 2 }],
    ['--resume -n 3: a larger share', 'resume', { newInstances: 3 }, { to: '/shop-green', target: 4, hybrid: 3 }],
  ] as const)('from a hybrid state, %s', (_, choice, extra, shift) => {
    const plan = planDeploy(definition(), hybridState(), { ...OPTS, ...extra, choice });
    expect(plan).toMatchObject({ kind: 'interrupted', shift });
    if (!('hybrid' in shift) && plan.kind === 'interrupted') expect(plan.shift.hybrid).toBeUndefined();
  });

  it('a hybrid state without a choice: E_ZDD saying how to finish it', () => {
    expect(zddCode(() => planDeploy(definition(), hybridState(), OPTS))).toBe(
      'E_ZDD: deployment group shop has a hybrid deploy in place: /shop-green (started 2026-02-02T00:00:00.000Z) with 2 of 4 instances and /shop-blue (started 2026-02-01T00:00:00.000Z) with the rest. ' +
        'Run again with --complete-cur to move all instances to /shop-green, or --complete-prev to move them all back to /shop-blue',
    );
  });

  it('a newer app labelled 0 (a whole deploy) is an interrupted deploy, not a hybrid one', () => {
    const apps = [blue({}, 10000, 2), green({ [TARGET]: '4', [NEW]: '0' }, 10001, 2)];
    expect(zddCode(() => planDeploy(definition(), apps, OPTS))).toMatch(/a previous deploy was interrupted/);
    const plan = planDeploy(definition(), apps, { ...OPTS, choice: 'resume' });
    expect(plan.kind === 'interrupted' && plan.shift.hybrid).toBeUndefined();
  });

  it('a fractional step is a share of the target', () => {
    expect(planDeploy(definition(), [blue({}, 10000, 10)], { ...OPTS, step: 0.25 })).toMatchObject({ shift: { target: 10, step: 3 } });
  });
});

describe('step sizes', () => {
  it.each([
    [1, 3, 1],
    [2, 3, 2],
    [0.5, 3, 2],
    [0.1, 3, 1],
    [0.5, 10, 5],
  ])('stepSizeOf(%s, target %s) = %s', (step, target, size) => expect(stepSizeOf(step, target)).toBe(size));

  it.each([[0], [-1], [1.5], [Number.NaN]])('stepSizeOf(%s) is a usage error', (step) => {
    expect(zddCode(() => stepSizeOf(step, 3))).toBe(`E_USAGE: --step must be a whole number of instances or a fraction below 1 of the target (got ${step})`);
  });

  it.each([
    [3, 1, 3, 1, [1, 2, 3], [3, 2, 1, 0]],
    [3, 1, 3, 2, [1, 3], [3, 2, 0]],
    [4, 2, 4, 1, [2, 3, 4], [4, 2, 1, 0]],
    [2, 1, 5, 2, [1, 3, 5], [2, 0]],
    [0, 3, 3, 3, [3], [0]],
  ])('schedule from %s, new starting at %s, target %s, step %s', (from, start, target, step, toSeq, fromSeq) => {
    expect(scheduleOf(from, start, target, step)).toEqual({ to: toSeq, from: fromSeq });
  });

  it.each([
    [4, 1, 4, 'geometric', 2, [1, 2], [4, 3, 2]],
    [10, 1, 10, 'geometric', 4, [1, 2, 3, 4], [10, 9, 8, 7, 6]],
    [4, 1, 4, 1, 3, [1, 2, 3], [4, 3, 2, 1]],
  ] as const)('hybrid schedule from %s, new starting at %s, target %s, step %s, -n %s: the old side keeps the rest', (from, start, target, step, hybrid, toSeq, fromSeq) => {
    expect(scheduleOf(from, start, target, step, hybrid)).toEqual({ to: toSeq, from: fromSeq });
  });
});

describe('geometric steps (the default, as zdd.py scales)', () => {
  // Half as many again each step, rounded down; once that reaches the old side's live tasks, the whole target.
  it.each([
    [3, 1, 3, [1, 3], [3, 2, 0]],
    [10, 1, 10, [1, 2, 3, 5, 10], [10, 9, 8, 7, 5, 0]],
    [30, 1, 30, [1, 2, 3, 5, 8, 12, 30], [30, 29, 28, 27, 25, 22, 18, 0]],
    [61, 1, 61, [1, 2, 3, 5, 8, 12, 18, 27, 61], [61, 60, 59, 58, 56, 53, 49, 43, 34, 0]],
    [4, 2, 4, [2, 4], [4, 2, 0]],
    [0, 3, 3, [3], [0]],
  ])('schedule from %s, new starting at %s, target %s', (from, start, target, toSeq, fromSeq) => {
    expect(scheduleOf(from, start, target, 'geometric')).toEqual({ to: toSeq, from: fromSeq });
  });

  it.each([
    [1, 61, 60, 2],
    [2, 61, 59, 3],
    [3, 61, 58, 5],
    [27, 61, 34, 61],
    [5, 6, 100, 6],
  ])('nextSize(geometric, %s, target %s, old live %s) = %s', (wanted, target, fromLive, size) => {
    expect(nextSize('geometric', wanted, target, fromLive)).toBe(size);
  });

  it('planDeploy without --step grows geometrically; --step keeps fixed steps', () => {
    const { step: _, ...noStep } = OPTS;
    expect(planDeploy(definition(), [blue()], noStep)).toMatchObject({ shift: { step: 'geometric' } });
    expect(planDeploy(definition(), [blue()], OPTS)).toMatchObject({ shift: { step: 1 } });
  });
});

describe('nextAction', () => {
  const checked = withHealthChecks({ protocol: 'HTTP', path: '/health', portIndex: 0 });
  let seq = 0;
  const up = (appId: string, state = 'TASK_RUNNING', healthy = true): Task => task('10.0.0.1', [31000 + seq], withTaskId(`${appId.slice(1)}.t${String(++seq).padStart(3, '0')}`), inState(state), withHealth(healthy));
  const withN = (a: MarathonApp, instances: number, tasks: Task[]): MarathonApp => {
    checked(a);
    withTasks(...tasks)(a);
    a.instances = instances;
    return a;
  };
  const shift: Shift = { from: '/shop-blue', to: '/shop-green', target: 3, step: 1 };
  const brief = (a: Action) => (a.kind === 'kill' ? `kill ${a.taskIds.length} of ${a.appId}` : a.kind === 'scale' ? `scale ${a.appId} to ${a.instances}` : a.kind === 'delete' ? `delete ${a.appId}` : a.kind);

  it.each([
    ['new task not healthy yet: wait', 3, [], 1, [['TASK_RUNNING', false]], 'wait'],
    ['new task still staging: wait', 3, [], 1, [['TASK_STAGING', false]], 'wait'],
    ['one new healthy: one old goes', 3, [], 1, [['TASK_RUNNING', true]], 'kill 1 of /shop-blue'],
    ['capacity matched, new all healthy: scale new up a step', 2, [], 1, [['TASK_RUNNING', true]], 'scale /shop-green to 2'],
    ['killing old tasks no longer count', 2, ['TASK_KILLING'], 1, [['TASK_RUNNING', true]], 'scale /shop-green to 2'],
    ['new at target and healthy, old tasks left: all go', 2, [], 3, [['TASK_RUNNING', true], ['TASK_RUNNING', true], ['TASK_RUNNING', true]], 'kill 2 of /shop-blue'],
    ['old still killing: wait for it to finish', 0, ['TASK_KILLING'], 3, [['TASK_RUNNING', true], ['TASK_RUNNING', true], ['TASK_RUNNING', true]], 'wait'],
    ['old has no tasks: delete it', 0, [], 3, [['TASK_RUNNING', true], ['TASK_RUNNING', true], ['TASK_RUNNING', true]], 'delete /shop-blue'],
    ['a sick new task is no capacity', 3, [], 3, [['TASK_RUNNING', true], ['TASK_RUNNING', false], ['TASK_RUNNING', true]], 'kill 2 of /shop-blue'],
  ] as const)('%s', (_, oldLive, oldEnding, newInstances, newTasks, expected) => {
    const b = withN(blue(), oldLive, [...Array.from({ length: oldLive }, () => up('/shop-blue')), ...oldEnding.map((s) => up('/shop-blue', s))]);
    const g = withN(green(), newInstances, newTasks.map(([s, h]) => up('/shop-green', s, h)));
    expect(brief(nextAction(shift, [b, g]))).toBe(expected);
  });

  it('old app gone and new at target: done', () => {
    const g = withN(green(), 3, [up('/shop-green'), up('/shop-green'), up('/shop-green')]);
    expect(nextAction(shift, [g])).toEqual({ kind: 'done', reason: '/shop-green has 3 healthy tasks (target 3)' });
  });

  it('kills unhealthy old tasks first, then in id order', () => {
    const b = withN(blue(), 3, [up('/shop-blue'), up('/shop-blue', 'TASK_RUNNING', false), up('/shop-blue')]);
    const g = withN(green(), 2, [up('/shop-green'), up('/shop-green')]);
    const a = nextAction(shift, [b, g]);
    const ids = (b.tasks ?? []).map((t) => t.id);
    expect(a).toMatchObject({ kind: 'kill', taskIds: [ids[1], ids[0]] });
  });

  it('the new app vanished: E_ZDD', () => {
    expect(zddCode(() => nextAction(shift, [blue()]))).toMatch(/\/shop-green is gone from Marathon/);
  });

  /** A tiny Marathon: scaling up launches healthy tasks at once, killed tasks are gone at once. Returns the steps and what is left. */
  function walk(sh: Shift, start: MarathonApp[]): { seen: string[]; apps: Map<string, MarathonApp> } {
    const apps = new Map(start.map((a) => [a.id, a]));
    const rebuild = (id: string, instances: number, tasks: Task[]) => withN(id === '/shop-blue' ? blue() : green(), instances, tasks);
    const seen: string[] = [];
    for (let i = 0; i < 50 && seen.at(-1) !== 'done'; i++) {
      const a = nextAction(sh, [...apps.values()]);
      seen.push(brief(a));
      const target = 'appId' in a ? apps.get(a.appId) : undefined;
      if (a.kind === 'kill' && target) apps.set(a.appId, rebuild(a.appId, (target.instances ?? 0) - a.taskIds.length, (target.tasks ?? []).filter((t) => !a.taskIds.includes(t.id))));
      if (a.kind === 'scale' && target) apps.set(a.appId, rebuild(a.appId, a.instances, [...(target.tasks ?? []), ...Array.from({ length: a.instances - (target.instances ?? 0) }, () => up(a.appId))]));
      if (a.kind === 'delete') apps.delete(a.appId);
    }
    return { seen, apps };
  }
  const count = (apps: Map<string, MarathonApp>) => Object.fromEntries([...apps].map(([id, a]) => [id, [a.instances, (a.tasks ?? []).length]]));

  it('hybrid -n 2 of 4: green grows to 2, blue keeps 2, nothing deleted; never below 4 ready', () => {
    const hybrid: Shift = { from: '/shop-blue', to: '/shop-green', target: 4, step: 'geometric', hybrid: 2 };
    const start = [withN(blue(), 4, Array.from({ length: 4 }, () => up('/shop-blue'))), withN(green(), 1, [up('/shop-green')])];
    const { seen, apps } = walk(hybrid, start);
    expect(seen).toEqual(['kill 1 of /shop-blue', 'scale /shop-green to 2', 'kill 1 of /shop-blue', 'done']);
    expect(count(apps)).toEqual({ '/shop-blue': [2, 2], '/shop-green': [2, 2] });
    expect(nextAction(hybrid, [...apps.values()])).toMatchObject({ kind: 'done', reason: expect.stringMatching(/^hybrid deploy in place: .*\/shop-blue is not deleted — finish with --complete-cur or --complete-prev$/) });
  });

  it('hybrid: waits for the killed old tasks to finish before it is done', () => {
    const hybrid: Shift = { from: '/shop-blue', to: '/shop-green', target: 4, step: 'geometric', hybrid: 2 };
    const b = withN(blue(), 2, [up('/shop-blue'), up('/shop-blue'), up('/shop-blue', 'TASK_KILLING')]);
    const g = withN(green(), 2, [up('/shop-green'), up('/shop-green')]);
    expect(nextAction(hybrid, [b, g])).toEqual({ kind: 'wait', reason: 'waiting for 1 killed task of /shop-blue to finish' });
  });

  it.each([
    ['--complete-cur', { from: '/shop-blue', to: '/shop-green' }, ['scale /shop-green to 4', 'kill 2 of /shop-blue', 'delete /shop-blue', 'done'], { '/shop-green': [4, 4] }],
    ['--complete-prev', { from: '/shop-green', to: '/shop-blue' }, ['scale /shop-blue to 4', 'kill 2 of /shop-green', 'delete /shop-green', 'done'], { '/shop-blue': [4, 4] }],
  ] as const)('from the hybrid state, %s moves everything and deletes the other app', (_, sides, steps, left) => {
    const start = [withN(blue(), 2, [up('/shop-blue'), up('/shop-blue')]), withN(green(), 2, [up('/shop-green'), up('/shop-green')])];
    const { seen, apps } = walk({ ...sides, target: 4, step: 4 }, start);
    expect(seen).toEqual(steps);
    expect(count(apps)).toEqual(left);
  });

  it('walks a whole deploy to the end in the scheduled steps', () => {
    // A tiny Marathon: scaling up launches healthy tasks at once, killed tasks are gone at once.
    const apps = new Map<string, MarathonApp>([
      ['/shop-blue', withN(blue(), 3, [up('/shop-blue'), up('/shop-blue'), up('/shop-blue')])],
      ['/shop-green', withN(green(), 1, [up('/shop-green')])],
    ]);
    const seen: string[] = [];
    for (let i = 0; i < 50 && seen.at(-1) !== 'done'; i++) {
      const a = nextAction(shift, [...apps.values()]);
      seen.push(brief(a));
      const target = 'appId' in a ? apps.get(a.appId) : undefined;
      if (a.kind === 'kill' && target) apps.set(a.appId, withN(blue(), (target.instances ?? 0) - a.taskIds.length, (target.tasks ?? []).filter((t) => !a.taskIds.includes(t.id))));
      if (a.kind === 'scale' && target) apps.set(a.appId, withN(green(), a.instances, [...(target.tasks ?? []), ...Array.from({ length: a.instances - (target.instances ?? 0) }, () => up(a.appId))]));
      if (a.kind === 'delete') apps.delete(a.appId);
    }
    expect(seen).toEqual(['kill 1 of /shop-blue', 'scale /shop-green to 2', 'kill 1 of /shop-blue', 'scale /shop-green to 3', 'kill 1 of /shop-blue', 'delete /shop-blue', 'done']);
  });
});

describe('dry run', () => {
  it('says what it would create, scale, kill and delete, then the definition to post', () => {
    const b = blue();
    withTasks(task('10.0.0.1', [31000]), task('10.0.0.1', [31001]), task('10.0.0.1', [31002]))(b);
    const plan = planDeploy(definition(), [b], OPTS);
    const lines = describePlan(plan, { stepDelaySeconds: 5, drainNote: 'once the load balancer shows no sessions on it' });
    const json = lines.slice(lines.indexOf('app definition to post:') + 1).join('\n');
    expect(lines.slice(0, lines.indexOf('app definition to post:'))).toEqual([
      'deployment group shop: /shop-blue (blue) is live with 3 instances; deploying /shop-green (green)',
      'create /shop-green (green) with 1 instance (target 3); service port 10001 (HAPROXY_DEPLOYMENT_ALT_PORT); HAPROXY_0_PORT 8080 as /shop-blue binds; HAPROXY_APP_ID /shop',
      'shift traffic in steps of 1, 5 s apart once each step is healthy: /shop-green 1 → 2 → 3; /shop-blue 3 → 2 → 1 → 0',
      'kill each /shop-blue task (DELETE …/tasks/{id}?scale=true) once the load balancer shows no sessions on it',
      'delete /shop-blue once it has no tasks left',
    ]);
    expect(JSON.parse(json)).toEqual(plan.kind === 'deploy' ? plan.create.def : undefined);
  });

  it('a hybrid deploy: the old app keeps the rest and is not deleted', () => {
    const b = blue({}, 10000, 4);
    withTasks(...Array.from({ length: 4 }, (_, i) => task('10.0.0.1', [31000 + i])))(b);
    const lines = describePlan(planDeploy(definition(), [b], { ...OPTS, newInstances: 2 }), { stepDelaySeconds: 5, drainNote: 'at once' });
    expect(lines.slice(1, 5)).toEqual([
      'create /shop-green (green) with 1 instance (target 4; hybrid: it grows to 2); service port 10001 (HAPROXY_DEPLOYMENT_ALT_PORT); HAPROXY_0_PORT 8080 as /shop-blue binds; HAPROXY_APP_ID /shop',
      'shift traffic in steps of 1, 5 s apart once each step is healthy: /shop-green 1 → 2; /shop-blue 4 → 3 → 2',
      'kill each /shop-blue task (DELETE …/tasks/{id}?scale=true) at once',
      'hybrid deploy (-n 2): keep /shop-blue with 2 instances, not deleted; finish later with --complete-cur (all to /shop-green) or --complete-prev (all back to /shop-blue)',
    ]);
  });

  it('a first deploy: create blue with the whole target and wait for it', () => {
    const lines = describePlan(planDeploy(definition(), [], OPTS), { stepDelaySeconds: 5, drainNote: '' });
    expect(lines.slice(0, 3)).toEqual([
      'deployment group shop: no app yet — first deploy',
      'create /shop-blue (blue) with 2 instances (target 2); service port 10000; HAPROXY_0_PORT 8080; HAPROXY_APP_ID /shop',
      'wait until its 2 tasks are healthy',
    ]);
  });

  it('an interrupted deploy: which way it goes', () => {
    const b = blue();
    b.instances = 1;
    withTasks(task('10.0.0.1', [31000]))(b);
    const plan = planDeploy(definition(), [b, green({}, 10001, 2)], { ...OPTS, choice: 'complete-prev' });
    expect(describePlan(plan, { stepDelaySeconds: 1, drainNote: 'at once' })).toEqual([
      'deployment group shop: interrupted deploy: /shop-blue (older) and /shop-green (newer); --complete-prev: roll back to /shop-blue',
      'shift traffic in steps of 3, 1 s apart once each step is healthy: /shop-blue 1 → 3; /shop-green 0',
      'kill each /shop-green task (DELETE …/tasks/{id}?scale=true) at once',
      'delete /shop-green once it has no tasks left',
    ]);
  });
});

describe('taskAddresses', () => {
  it('maps each task to the ip:port HAProxy has for it and its server names, whatever its group', () => {
    const a = app('/web', withPortDefinitions(10000, 10001), withLabels({ HAPROXY_GROUP: 'internal' }), withTasks(task('10.0.0.7', [31000, 31001], withTaskId('web.1')), task('agent-2', [31005, 31006], withTaskId('web.2'))));
    const addrs = taskAddresses([a], (h) => (h === 'agent-2' ? '10.0.0.8' : undefined));
    expect(Object.fromEntries([...addrs].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      'web.1': ['10.0.0.7:31000', '10.0.0.7:31001', '10_0_0_7_31000', '10_0_0_7_31001'],
      'web.2': ['10.0.0.8:31005', '10.0.0.8:31006', 'agent-2_10_0_0_8_31005', 'agent-2_10_0_0_8_31006'],
    });
  });
});
