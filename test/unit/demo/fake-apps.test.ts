import { describe, expect, it } from 'vitest';
import {
  absoluteAppId,
  asAppDefinition,
  configKey,
  healthPathsOf,
  responseDelayOf,
  ServicePortPool,
  servicePortsOf,
  storedApp,
  taskIdPrefix,
  taskPlan,
  type AppDefinition,
} from '../../../src/demo/fake-apps.js';

describe('app ids', () => {
  it('makes ids absolute and task prefixes Marathon-like', () => {
    expect(absoluteAppId('myservice')).toBe('/myservice');
    expect(absoluteAppId('/group/web/')).toBe('/group/web');
    expect(taskIdPrefix('/group/web')).toBe('group_web');
  });

  it('rejects what Marathon would answer 422 to', () => {
    expect(() => asAppDefinition({ id: '/Web' }, 'x')).toThrow(/invalid app id/);
    expect(() => asAppDefinition({ id: '/' }, 'x')).toThrow(/invalid app id/);
    expect(() => asAppDefinition({ id: '/web', instances: -1 }, 'x')).toThrow(/instances/);
    expect(() => asAppDefinition({ id: '/web', portDefinitions: [{ port: 70000 }] }, 'x')).toThrow(/portDefinitions/);
    expect(asAppDefinition({ id: 'web.v2-a', cmd: 'x' }, 'x').cmd).toBe('x');
  });
});

describe('service ports', () => {
  it('hands out from the first port up, skipping declared ones, and reuses an app’s previous ports', () => {
    const pool = new ServicePortPool(10_000);
    const a = storedApp({ id: '/a', portDefinitions: [{ port: 0 }, { port: 10_001 }, { port: 0 }] }, undefined, pool);
    expect(servicePortsOf(a)).toEqual([10_000, 10_001, 10_002]);
    const b = storedApp({ id: '/b' }, undefined, pool);
    expect(servicePortsOf(b)).toEqual([10_003]);
    const a2 = storedApp({ id: '/a', portDefinitions: [{ port: 0 }, { port: 0 }] }, a, pool);
    expect(servicePortsOf(a2)).toEqual([10_000, 10_001]);
    pool.releaseApp('/a');
    expect(servicePortsOf(storedApp({ id: '/c', portDefinitions: [{ port: 0 }] }, undefined, pool))).toEqual([10_000]);
  });

  it('fills bridge and container port mappings in the shape they were posted', () => {
    const pool = new ServicePortPool();
    const bridge = storedApp({ id: '/br', networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', portMappings: [{ name: 'http' }] } }, undefined, pool);
    expect(bridge.container?.portMappings).toEqual([{ containerPort: 0, hostPort: 0, servicePort: 10_000, protocol: 'tcp', labels: {}, name: 'http' }]);
    const legacy = storedApp({ id: '/old', container: { docker: { network: 'BRIDGE', portMappings: [{ containerPort: 80, servicePort: 9000 }] } } }, undefined, pool);
    expect(legacy.networks).toBeUndefined();
    expect(legacy.container?.portMappings).toBeUndefined();
    expect(legacy.container?.docker?.portMappings?.[0]).toMatchObject({ containerPort: 80, hostPort: 0, servicePort: 9000 });
    const overlay = storedApp({ id: '/ov', networks: [{ mode: 'container', name: 'dcos' }], container: { portMappings: [{}, { containerPort: 3141, hostPort: 0 }] } }, undefined, pool);
    expect(overlay.container?.portMappings?.map((m) => [m.containerPort, m.hostPort, m.servicePort])).toEqual([
      [8080, undefined, 10_001],
      [3141, 0, 10_002],
    ]);
  });

  it('gives host apps Marathon’s defaults and drops fields Marathon only reports', () => {
    const app = storedApp({ id: 'x', tasks: [{ id: 't' }], version: 'v', tasksRunning: 3 } as AppDefinition, undefined, new ServicePortPool());
    expect(app).toMatchObject({ id: '/x', instances: 1, networks: [{ mode: 'host' }], portDefinitions: [{ port: 10_000, protocol: 'tcp', labels: {} }], requirePorts: false });
    expect(app.portDefinitions).toEqual([{ port: 10_000, protocol: 'tcp', labels: {} }]);
    expect(app.tasks).toBeUndefined();
    expect(app.version).toBeUndefined();
    expect(app.tasksRunning).toBeUndefined();
    expect(servicePortsOf(storedApp({ id: 'y', ports: [0, 0] }, undefined, new ServicePortPool()))).toEqual([10_000, 10_001]);
  });
});

describe('taskPlan', () => {
  const pool = new ServicePortPool();
  it('host: any free host port per definition, the service port with requirePorts', () => {
    expect(taskPlan(storedApp({ id: '/h', portDefinitions: [{ port: 0 }, { port: 0 }] }, undefined, pool)).ports).toEqual([{ hostPort: 0 }, { hostPort: 0 }]);
    const fixed = storedApp({ id: '/f', requirePorts: true, portDefinitions: [{ port: 12_345 }] }, undefined, pool);
    expect(taskPlan(fixed)).toEqual({ mode: 'host', ports: [{ hostPort: 12_345 }] });
  });

  it('container: container ports on the task IP, host ports only where mapped; legacy discovery ports too', () => {
    const ov = storedApp({ id: '/ov', networks: [{ mode: 'container' }], container: { portMappings: [{ containerPort: 80 }, { containerPort: 81, hostPort: 0 }] } }, undefined, pool);
    expect(taskPlan(ov)).toEqual({ mode: 'container', ports: [{ hostPort: undefined, containerPort: 80 }, { hostPort: 0, containerPort: 81 }] });
    const legacy = storedApp({ id: '/ip', ipAddress: { discovery: { ports: [{ number: 8080, name: 'http' }] } } }, undefined, pool);
    expect(taskPlan(legacy)).toEqual({ mode: 'container', ports: [{ containerPort: 8080 }] });
  });
});

describe('configKey', () => {
  it('ignores instances and key order, sees everything else', () => {
    const a = { id: '/a', instances: 1, labels: { A: '1', B: '2' } } as AppDefinition;
    expect(configKey(a)).toBe(configKey({ labels: { B: '2', A: '1' }, instances: 5, id: '/a' } as AppDefinition));
    expect(configKey(a)).not.toBe(configKey({ ...a, labels: { A: '1' } }));
  });
});

describe('task behaviour from the app', () => {
  it('reads env.RESPONSE_DELAY_MS and the HTTP health check paths', () => {
    expect(responseDelayOf({ id: '/a', env: { RESPONSE_DELAY_MS: '250' } })).toBe(250);
    expect(responseDelayOf({ id: '/a', env: { RESPONSE_DELAY_MS: 'soon' } })).toBeUndefined();
    expect(responseDelayOf({ id: '/a' })).toBeUndefined();
    const paths = healthPathsOf({ id: '/a', healthChecks: [{ protocol: 'MESOS_HTTP', path: '/ping?x=1' }, { protocol: 'TCP', path: '/tcp' }] });
    expect([...paths].sort()).toEqual(['/health', '/ping']);
  });
});
