import { describe, expect, it } from 'vitest';
import type { MarathonApp } from '../../../src/marathon/types.js';
import { type AppPort, appNetworking, networkingMode, taskEndpoint } from '../../../src/model/networking.js';
import type { NetworkingMode } from '../../../src/model/types.js';
import {
  app,
  type AppPart,
  task,
  withBridge,
  withContainerNetwork,
  withDockerNetwork,
  withIp,
  withIpAddress,
  withPortDefinitions,
} from '../../helpers/builders.js';

/** Marathon ≤1.4 host networking: only the legacy `ports` array. */
function withLegacyPorts(...ports: number[]): AppPart {
  return (a) => {
    a.ports = ports;
  };
}

const mapping = (containerPort: number, servicePort?: number, hostPort?: number) => ({
  containerPort,
  ...(servicePort !== undefined ? { servicePort } : {}),
  ...(hostPort !== undefined ? { hostPort } : {}),
  protocol: 'tcp',
});

describe('networkingMode', () => {
  it.each<[string, MarathonApp, NetworkingMode]>([
    ['no networking fields', app('/a'), 'host'],
    ['≥1.5 host', app('/a', withPortDefinitions(10000)), 'host'],
    ['≥1.5 container/bridge', app('/a', withBridge(mapping(80, 10000))), 'bridge'],
    ['≥1.5 container', app('/a', withContainerNetwork(mapping(80))), 'container'],
    ['≤1.4 docker BRIDGE', app('/a', withDockerNetwork('BRIDGE', mapping(80, 10000))), 'bridge'],
    ['≤1.4 docker USER', app('/a', withDockerNetwork('USER', mapping(80))), 'container'],
    ['≤1.4 docker HOST', app('/a', withDockerNetwork('HOST')), 'host'],
    ['legacy ipAddress', app('/a', withIpAddress(8080)), 'container'],
    ['ipAddress: null (as Marathon sends it)', { ...app('/a', withLegacyPorts(10000)), ipAddress: null }, 'host'],
    ['legacy ports only', app('/a', withLegacyPorts(10000)), 'host'],
    ['networks win over docker.network', app('/a', withDockerNetwork('BRIDGE', mapping(80, 10000)), (a) => (a.networks = [{ mode: 'host' }])), 'host'],
    ['networks win over ipAddress', app('/a', withIpAddress(8080), (a) => (a.networks = [{ mode: 'container/bridge' }])), 'bridge'],
    ['unknown networks mode falls through to docker.network', app('/a', withDockerNetwork('USER', mapping(80)), (a) => (a.networks = [{ mode: 'bogus' }])), 'container'],
  ])('%s → %s', (_name, a, mode) => {
    expect(networkingMode(a)).toBe(mode);
  });
});

describe('appNetworking', () => {
  it('host: portDefinitions give service ports, names and per-port labels', () => {
    const a = app('/a', withPortDefinitions(10000, 10001));
    (a.portDefinitions ?? [])[1]!.labels = { VIP_0: '/a:80' };
    expect(appNetworking(a)).toEqual({
      mode: 'host',
      ports: [
        { index: 0, servicePort: 10000, protocol: 'tcp', name: 'p0', labels: {} },
        { index: 1, servicePort: 10001, protocol: 'tcp', name: 'p1', labels: { VIP_0: '/a:80' } },
      ],
    });
  });

  it('host: legacy `ports` when there are no portDefinitions', () => {
    expect(appNetworking(app('/a', withLegacyPorts(10000, 0)))).toEqual({
      mode: 'host',
      ports: [
        { index: 0, servicePort: 10000, protocol: 'tcp', name: undefined, labels: {} },
        { index: 1, servicePort: undefined, protocol: 'tcp', name: undefined, labels: {} },
      ],
    });
  });

  it('host: a portDefinition without a port or protocol has no service port and is tcp', () => {
    const a = app('/a', (x) => (x.portDefinitions = [{}]));
    expect(appNetworking(a).ports).toEqual([{ index: 0, servicePort: undefined, protocol: 'tcp', name: undefined, labels: {} }]);
  });

  it('host: no ports at all', () => {
    expect(appNetworking(app('/a'))).toEqual({ mode: 'host', ports: [] });
  });

  it.each<[string, AppPart, NetworkingMode]>([
    ['≥1.5 bridge (container.portMappings)', withBridge(mapping(80, 10000, 0), { containerPort: 443, servicePort: 0, protocol: 'udp', name: 'tls', labels: { x: 'y' } }), 'bridge'],
    ['≤1.4 BRIDGE (docker.portMappings)', withDockerNetwork('BRIDGE', mapping(80, 10000, 0), { containerPort: 443, servicePort: 0, protocol: 'udp', name: 'tls', labels: { x: 'y' } }), 'bridge'],
    ['≥1.5 container', withContainerNetwork(mapping(80, 10000), { containerPort: 443, protocol: 'udp', name: 'tls', labels: { x: 'y' } }), 'container'],
    ['≤1.4 USER', withDockerNetwork('USER', mapping(80, 10000), { containerPort: 443, protocol: 'udp', name: 'tls', labels: { x: 'y' } }), 'container'],
  ])('%s: port mappings give service and container ports', (_name, part, mode) => {
    expect(appNetworking(app('/a', part))).toEqual({
      mode,
      ports: [
        { index: 0, servicePort: 10000, containerPort: 80, protocol: 'tcp', name: undefined, labels: {} },
        { index: 1, servicePort: undefined, containerPort: 443, protocol: 'udp', name: 'tls', labels: { x: 'y' } },
      ],
    });
  });

  it('≥1.5 container.portMappings win over docker.portMappings', () => {
    const a = app('/a', withBridge(mapping(80, 10000)));
    a.container!.docker!.portMappings = [mapping(81, 10001)];
    expect(appNetworking(a).ports.map((p) => p.containerPort)).toEqual([80]);
  });

  it('legacy ipAddress.discovery gives container ports and no service ports', () => {
    const a = app('/a', withIpAddress(8080, 8443));
    expect(appNetworking(a)).toEqual({
      mode: 'container',
      ports: [
        { index: 0, containerPort: 8080, protocol: 'tcp', name: 'p0', labels: {} },
        { index: 1, containerPort: 8443, protocol: 'tcp', name: 'p1', labels: {} },
      ],
    });
  });

  it('USER network with portMappings prefers them over ipAddress.discovery', () => {
    const a = app('/a', withIpAddress(9999), withDockerNetwork('USER', mapping(80, 10000)));
    expect(appNetworking(a).ports.map((p) => p.containerPort)).toEqual([80]);
  });

  it('USER network without portMappings falls back to ipAddress.discovery', () => {
    const a = app('/a', withIpAddress(9999), withDockerNetwork('USER'));
    expect(appNetworking(a)).toMatchObject({ mode: 'container', ports: [{ index: 0, containerPort: 9999 }] });
  });

  it('null portMappings count as none', () => {
    const a = app('/a', withBridge(), (x) => {
      x.container!.portMappings = null;
      x.container!.docker!.portMappings = null;
    });
    expect(appNetworking(a)).toEqual({ mode: 'bridge', ports: [] });
  });
});

describe('taskEndpoint', () => {
  const port = (index: number, containerPort?: number): AppPort => ({ index, protocol: 'tcp', labels: {}, ...(containerPort ? { containerPort } : {}) });

  it.each<[string, NetworkingMode, AppPort, ReturnType<typeof task>, { ip: string; port: number } | undefined]>([
    ['host: agent IP and host port of the index', 'host', port(1), task('agent-1', [31000, 31001]), { ip: '10.0.0.9', port: 31001 }],
    ['bridge: agent IP and mapped host port', 'bridge', port(0, 80), task('agent-1', [31500], withIp('172.17.0.2')), { ip: '10.0.0.9', port: 31500 }],
    ['host: the task has no host port for the index', 'host', port(2), task('agent-1', [31000]), undefined],
    ['host: host port 0', 'host', port(0), task('agent-1', [0]), undefined],
    ['container: task IP and container port', 'container', port(0, 8080), task('agent-1', [], withIp('9.0.0.3')), { ip: '9.0.0.3', port: 8080 }],
    ['container: ignores host ports', 'container', port(0, 8080), task('agent-1', [31000], withIp('9.0.0.3')), { ip: '9.0.0.3', port: 8080 }],
    ['container: no task IP yet', 'container', port(0, 8080), task('agent-1', []), undefined],
    ['container: no container port', 'container', port(0), task('agent-1', [], withIp('9.0.0.3')), undefined],
  ])('%s', (_name, mode, p, t, expected) => {
    expect(taskEndpoint(mode, p, t, '10.0.0.9')).toEqual(expected);
  });

  it('container: uses the first of several task IPs', () => {
    const t = task('agent-1', []);
    t.ipAddresses = [{ ipAddress: '9.0.0.3' }, { ipAddress: '9.0.0.4' }];
    expect(taskEndpoint('container', port(0, 80), t, '10.0.0.9')).toEqual({ ip: '9.0.0.3', port: 80 });
  });
});
