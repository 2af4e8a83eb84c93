import { describe, expect, it } from 'vitest';
import type { Labels, MarathonApp } from '../../../src/marathon/types.js';
import { LabelValueError } from '../../../src/model/labels/values.js';
import { fnv1a } from '../../../src/model/naming.js';
import {
  allocateVipAddresses,
  buildVipModel,
  mangleVipName,
  parseVipValue,
  VIP_SLOTS,
  vipBackendWeight,
  vipDnsName,
  vipHomeAddress,
  vipProtocols,
} from '../../../src/model/vips.js';
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

/** Labels on port `index`, wherever this app's ports are declared. */
function portLabels(index: number, labels: Labels): AppPart {
  return (a) => {
    const port =
      a.portDefinitions?.[index] ?? a.container?.portMappings?.[index] ?? a.container?.docker?.portMappings?.[index] ?? a.ipAddress?.discovery?.ports?.[index];
    if (!port) throw new Error(`no port ${index} on ${a.id}`);
    port.labels = { ...port.labels, ...labels };
  };
}

function portProtocol(index: number, protocol: string): AppPart {
  return (a) => {
    const port = a.portDefinitions?.[index] ?? a.container?.portMappings?.[index] ?? a.container?.docker?.portMappings?.[index];
    if (!port) throw new Error(`no port ${index} on ${a.id}`);
    port.protocol = protocol;
  };
}

const NAME = 'svc.marathon.l4lb.thisdcos.directory';

describe('mangleVipName / vipDnsName', () => {
  const cases: [string, string][] = [
    ['/httpi', 'httpi'],
    ['httpi', 'httpi'],
    ['/group/app', 'groupapp'],
    ['My_Service', 'my-service'],
    ['-lead-dash', 'lead-dash'],
    ['__x', 'x'],
    ['a.b-c.D_e', 'a.b-c.d-e'],
    ['a..b', 'a.b'],
    ['/svc.', 'svc'],
    ['sp ace!@#$%^&*()', 'space'],
    ['ünï-cödé', 'n-cd'],
    ['x'.repeat(70), 'x'.repeat(63)],
    [`${'y'.repeat(64)}.z`, `${'y'.repeat(63)}.z`],
    ['-'.repeat(3) + 'a'.repeat(64), 'a'.repeat(63)],
    ['!!!', ''],
    ['/', ''],
  ];
  it.each(cases)('%j → %j', (raw, mangled) => {
    expect(mangleVipName(raw)).toBe(mangled);
    expect(vipDnsName(raw)).toBe(mangled === '' ? undefined : `${mangled}.marathon.l4lb.thisdcos.directory`);
  });
});

describe('parseVipValue', () => {
  const good: [string, ReturnType<typeof parseVipValue>][] = [
    ['/httpi:3141', { kind: 'named', name: 'httpi.marathon.l4lb.thisdcos.directory', port: 3141 }],
    ['myservice:6666', { kind: 'named', name: 'myservice.marathon.l4lb.thisdcos.directory', port: 6666 }],
    [' /a/b:80 ', { kind: 'named', name: 'ab.marathon.l4lb.thisdcos.directory', port: 80 }],
    ['10.21.1.15:6666', { kind: 'ip', ip: '10.21.1.15', port: 6666 }],
    ['11.0.0.1:1', { kind: 'ip', ip: '11.0.0.1', port: 1 }],
    ['weird:name:65535', { kind: 'named', name: 'weirdname.marathon.l4lb.thisdcos.directory', port: 65535 }],
  ];
  it.each(good)('%j', (raw, want) => expect(parseVipValue(raw)).toEqual(want));

  const bad: [string, RegExp][] = [
    ['httpi', /name:port/],
    ['httpi:', /port number/],
    ['httpi:0', /1-65535/],
    ['httpi:65536', /1-65535/],
    ['httpi:80x', /port number/],
    [':80', /no name/],
    ['!!!:80', /no letter or digit/],
    ['[::1]:80', /IPv6/],
    ['2001:db8::1:80', /IPv6/],
    ['127.0.0.1:80', /usable/],
    ['0.0.0.0:80', /usable/],
    ['224.0.0.1:80', /usable/],
    ['255.255.255.255:80', /usable/],
    [`${'a.'.repeat(130)}b:80`, /longer than 253/],
    ['a:8\n0', /line break|port/],
  ];
  it.each(bad)('%j is refused', (raw, why) => {
    expect(() => parseVipValue(raw)).toThrow(LabelValueError);
    expect(() => parseVipValue(raw)).toThrow(why);
  });
});

describe('vipProtocols', () => {
  it.each([
    ['tcp', ['tcp'], []],
    ['udp', ['udp'], []],
    ['udp,tcp', ['tcp', 'udp'], []],
    [' TCP , udp ', ['tcp', 'udp'], []],
    ['tcp,tcp', ['tcp'], []],
    ['', ['tcp'], []],
    ['sctp', [], ['sctp']],
    ['tcp,sctp', ['tcp'], ['sctp']],
  ] as [string, string[], string[]][])('%j', (raw, protocols, unsupported) => {
    expect(vipProtocols(raw)).toEqual({ protocols, unsupported });
  });
});

describe('vipBackendWeight', () => {
  const checked = app('/c', withHealthChecks({ protocol: 'HTTP', path: '/' }));
  const twoChecks = app('/c2', withHealthChecks({ protocol: 'HTTP' }, { protocol: 'TCP' }));
  const unchecked = app('/u');
  const cases: [string, MarathonApp, ReturnType<typeof task>, 0 | 1 | undefined][] = [
    ['running, no checks', unchecked, task('10.0.0.1', [1]), 1],
    ['running, state missing (Marathon omits it for running tasks)', unchecked, { ...task('10.0.0.1', [1]), state: undefined }, 1],
    ['running, healthy', checked, task('10.0.0.1', [1], withHealth(true)), 1],
    ['running, failing check', checked, task('10.0.0.1', [1], withHealth(false)), 0],
    ['running, no result yet (active once healthy)', checked, task('10.0.0.1', [1]), 0],
    ['running, one of two checks reported', twoChecks, task('10.0.0.1', [1], withHealth(true)), 0],
    ['running, both checks alive', twoChecks, task('10.0.0.1', [1], withHealth(true, true)), 1],
    ['running, one of two failing', twoChecks, task('10.0.0.1', [1], withHealth(true, false)), 0],
    ['killing, healthy', checked, task('10.0.0.1', [1], withHealth(true), inState('TASK_KILLING')), 0],
    ['killing, no checks', unchecked, task('10.0.0.1', [1], inState('TASK_KILLING')), 0],
    ['staging', unchecked, task('10.0.0.1', [1], inState('TASK_STAGING')), undefined],
    ['starting', unchecked, task('10.0.0.1', [1], inState('TASK_STARTING')), undefined],
    ['finished', unchecked, task('10.0.0.1', [1], inState('TASK_FINISHED')), undefined],
    ['failed', unchecked, task('10.0.0.1', [1], inState('TASK_FAILED')), undefined],
    ['lost', unchecked, task('10.0.0.1', [1], inState('TASK_LOST')), undefined],
    ['unreachable', unchecked, task('10.0.0.1', [1], inState('TASK_UNREACHABLE')), undefined],
  ];
  it.each(cases)('%s', (_name, a, t, weight) => expect(vipBackendWeight(a, t)).toBe(weight));
});

describe('allocateVipAddresses', () => {
  const names = (n: number, prefix = 'svc') => Array.from({ length: n }, (_, i) => `${prefix}-${i}.marathon.l4lb.thisdcos.directory`);

  it('gives every name an address in 11.0.0.0/8, never .0 or .255, at its home slot when free', () => {
    const a = allocateVipAddresses(['httpi.marathon.l4lb.thisdcos.directory']);
    const ip = a.get('httpi.marathon.l4lb.thisdcos.directory') as string;
    expect(ip).toBe(vipHomeAddress('httpi.marathon.l4lb.thisdcos.directory'));
    expect(ip).toMatch(/^11\.\d+\.\d+\.\d+$/);
  });

  it('is a function of the set: order and duplicates do not matter', () => {
    const list = names(500);
    const a = allocateVipAddresses(list);
    const b = allocateVipAddresses([...list].reverse().concat(list.slice(0, 50)));
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
  });

  it('gives 100,000 names 100,000 distinct addresses, deterministically, none ending in .0 or .255', () => {
    const list = names(100_000);
    const t0 = performance.now();
    const a = allocateVipAddresses(list);
    const ms = performance.now() - t0;
    const ips = [...a.values()];
    expect(a.size).toBe(100_000);
    expect(new Set(ips).size).toBe(100_000);
    expect(ips.filter((ip) => !/^11\.\d+\.\d+\.\d+$/.test(ip) || /\.(0|255)$/.test(ip))).toEqual([]);
    const displaced = list.filter((n) => a.get(n) !== vipHomeAddress(n)).length;
    // Home-slot collisions are expected (birthday bound: up to n²/2S ≈ 300); each is resolved by probing.
    expect(displaced).toBeGreaterThan(0);
    expect(displaced).toBeLessThan(1000);
    console.log(`allocate: 100,000 names in ${ms.toFixed(0)} ms, ${displaced} displaced from their home slot`);
    expect(allocateVipAddresses(list)).toEqual(a);
  });

  it("keeps a name's address when names sorting after it come and go", () => {
    const list = names(20_000).sort();
    const full = allocateVipAddresses(list);
    for (const cut of [1, 7, 1000, 12_345, 19_999]) {
      const prefix = allocateVipAddresses(list.slice(0, cut));
      expect(list.slice(0, cut).filter((n) => prefix.get(n) !== full.get(n))).toEqual([]);
    }
  });

  it('keeps the addresses of the seeds while other names come and go', () => {
    const seeds = ['httpi.marathon.l4lb.thisdcos.directory', 'myservice.marathon.l4lb.thisdcos.directory'];
    const alone = allocateVipAddresses(seeds);
    for (const others of [names(10), names(1000, 'a'), names(1000, 'zz'), []]) {
      const withOthers = allocateVipAddresses([...others, ...seeds]);
      for (const s of seeds) expect(withOthers.get(s)).toBe(alone.get(s));
    }
  });

  it('under churn moves only names whose probe path met another name (bounded, measured)', () => {
    const base = names(100_000);
    const removed = new Set(base.filter((_, i) => i % 100 === 0));
    const next = [...base.filter((n) => !removed.has(n)), ...names(1000, 'new')];
    const a = allocateVipAddresses(base);
    const b = allocateVipAddresses(next);
    const homes = new Map<number, number>();
    for (const n of new Set([...base, ...next])) {
      const h = fnv1a(n) % VIP_SLOTS;
      homes.set(h, (homes.get(h) ?? 0) + 1);
    }
    const moved = next.filter((n) => a.has(n) && a.get(n) !== b.get(n));
    // A name can move only if its home slot is shared, or another name's home lies just before it
    // (so that name's probing can reach it).
    const near = (n: string) => {
      const h = fnv1a(n) % VIP_SLOTS;
      return (homes.get(h) ?? 0) > 1 || [1, 2, 3, 4].some((d) => homes.has((h - d + VIP_SLOTS) % VIP_SLOTS));
    };
    expect(moved.filter((n) => !near(n))).toEqual([]);
    expect(moved.length).toBeGreaterThan(0);
    console.log(`churn: -1000 +1000 of 100,000 names moved ${moved.length} surviving names`);
    expect(moved.length).toBeLessThan(50);
  });

  it('resolves a home-slot collision by name order, and the loser returns home when the winner goes', () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; i < 200_000 && !pair; i++) {
      const n = `c${i}`;
      const h = fnv1a(n) % VIP_SLOTS;
      const other = seen.get(h);
      if (other !== undefined) pair = [other, n].sort() as [string, string];
      seen.set(h, n);
    }
    expect(pair).toBeDefined();
    const [first, second] = pair as [string, string];
    const both = allocateVipAddresses([second, first]);
    expect(both.get(first)).toBe(vipHomeAddress(first));
    expect(both.get(second)).not.toBe(both.get(first));
    expect(allocateVipAddresses([second]).get(second)).toBe(vipHomeAddress(second));
  });

  it('skips reserved addresses (IP VIPs in 11.0.0.0/8)', () => {
    const n = 'httpi.marathon.l4lb.thisdcos.directory';
    const home = vipHomeAddress(n);
    const moved = allocateVipAddresses([n], [home]).get(n);
    expect(moved).not.toBe(home);
    expect(moved).toMatch(/^11\./);
    expect(allocateVipAddresses([n], ['10.0.0.1', '11.0.0.0', '11.0.0.255']).get(n)).toBe(home);
  });
});

describe('buildVipModel: label shapes', () => {
  const vip = { VIP_0: 'svc:80' };
  const running = (...p: Parameters<typeof task>[2][]) => task('10.0.0.1', [31000, 31001], ...p);
  const shapes: [string, MarathonApp, { ip: string; port: number }[]][] = [
    ['host: portDefinitions[i].labels', app('/h', withPortDefinitions(10000), portLabels(0, vip), withTasks(running())), [{ ip: '10.0.0.1', port: 31000 }]],
    ['host: second port', app('/h', withPortDefinitions(10000, 10001), portLabels(1, vip), withTasks(running())), [{ ip: '10.0.0.1', port: 31001 }]],
    ['bridge ≥1.5: container.portMappings[i].labels', app('/b', withBridge({ containerPort: 80, hostPort: 0 }), portLabels(0, vip), withTasks(running(withIp('172.17.0.2')))), [{ ip: '10.0.0.1', port: 31000 }]],
    ['bridge ≤1.4: container.docker.portMappings[i].labels', app('/d', withDockerNetwork('BRIDGE', { containerPort: 80, hostPort: 0 }), portLabels(0, vip), withTasks(running(withIp('172.17.0.2')))), [{ ip: '10.0.0.1', port: 31000 }]],
    ['container ≥1.5: task IP + container port', app('/c', withContainerNetwork({ containerPort: 8080 }), portLabels(0, vip), withTasks(task('10.0.0.1', [], withIp('9.0.1.2')))), [{ ip: '9.0.1.2', port: 8080 }]],
    ['container ≤1.4: docker USER network', app('/u', withDockerNetwork('USER', { containerPort: 8080 }), portLabels(0, vip), withTasks(task('10.0.0.1', [], withIp('9.0.1.3')))), [{ ip: '9.0.1.3', port: 8080 }]],
    ['legacy ipAddress.discovery.ports[i].labels', app('/l', withIpAddress(8080), portLabels(0, vip), withTasks(task('10.0.0.1', [], withIp('9.0.1.4')))), [{ ip: '9.0.1.4', port: 8080 }]],
    ['lowercase vip_ key', app('/h', withPortDefinitions(10000), portLabels(0, { vip_web: 'svc:80' }), withTasks(running())), [{ ip: '10.0.0.1', port: 31000 }]],
  ];
  it.each(shapes)('%s', (_name, a, backends) => {
    const { model, warnings } = buildVipModel([a]);
    expect(warnings).toEqual([]);
    expect(model.vips).toHaveLength(1);
    const v = model.vips[0];
    expect(v?.name).toBe(NAME);
    expect(v?.port).toBe(80);
    expect(v?.protocol).toBe('tcp');
    expect(v?.apps).toEqual([a.id]);
    expect(v?.backends.map((b) => ({ ip: b.ip, port: b.port }))).toEqual(backends);
  });

  it('ignores labels that are not VIP_ ones, app-level VIP labels and HAPROXY_* labels and groups', () => {
    const a = app('/h', withPortDefinitions(10000), withLabels({ VIP_0: 'app-level:80', HAPROXY_GROUP: 'internal', HAPROXY_0_ENABLED: 'false' }), portLabels(0, { VIPX: 'x:1', MY_VIP_0: 'y:1', VIP_0: 'svc:80' }), withTasks(running()));
    const { model } = buildVipModel([a]);
    expect(model.vips.map((v) => v.name)).toEqual([NAME]);
  });

  it('a container task: the first IPv4 of its addresses', () => {
    const t = task('10.0.0.1', []);
    t.ipAddresses = [{ ipAddress: 'fd00::5', protocol: 'IPv6' }, { ipAddress: '9.0.0.7', protocol: 'IPv4' }];
    const { model } = buildVipModel([app('/c', withContainerNetwork({ containerPort: 80 }), portLabels(0, vip), withTasks(t))]);
    expect(model.vips[0]?.backends.map((b) => b.ip)).toEqual(['9.0.0.7']);
  });

  it('udp,tcp gives one service per protocol on the same address', () => {
    const a = app('/dns', withPortDefinitions(53), portProtocol(0, 'udp,tcp'), portLabels(0, { VIP_0: 'dns:53' }), withTasks(running()));
    const { model } = buildVipModel([a]);
    expect(model.vips.map((v) => [v.protocol, v.port])).toEqual([['tcp', 53], ['udp', 53]]);
    expect(model.vips[0]?.ip).toBe(model.vips[1]?.ip);
  });

  it('one name on two ports: one address, two services', () => {
    const a = app('/myservice', withPortDefinitions(6666, 7777), portLabels(0, { VIP_0: 'myservice:6666' }), portLabels(1, { VIP_1: 'myservice:7777' }), withTasks(running()));
    const { model } = buildVipModel([a]);
    expect(model.vips.map((v) => `${v.ip}:${v.port}`)).toEqual([`${model.vips[0]?.ip}:6666`, `${model.vips[0]?.ip}:7777`]);
    expect(model.vips.map((v) => v.backends[0]?.port)).toEqual([31000, 31001]);
  });

  it('two apps naming the same VIP share one service with the backends of both', () => {
    const a = app('/a', withPortDefinitions(1), portLabels(0, { VIP_0: '/shared:80' }), withTasks(task('10.0.0.1', [31000])));
    const b = app('/b', withPortDefinitions(2), portLabels(0, { VIP_0: 'SHARED:80' }), withTasks(task('10.0.0.2', [31000])));
    const { model } = buildVipModel([b, a]);
    expect(model.vips).toHaveLength(1);
    expect(model.vips[0]?.apps).toEqual(['/a', '/b']);
    expect(model.vips[0]?.backends.map((x) => `${x.ip}:${x.port}`)).toEqual(['10.0.0.1:31000', '10.0.0.2:31000']);
  });

  it('an IP VIP is used as given and has no name', () => {
    const { model } = buildVipModel([app('/ip', withPortDefinitions(1), portLabels(0, { VIP_0: '10.21.1.15:6666' }), withTasks(running()))]);
    expect(model.vips).toEqual([{ ip: '10.21.1.15', port: 6666, protocol: 'tcp', apps: ['/ip'], backends: [expect.objectContaining({ ip: '10.0.0.1', port: 31000, weight: 1 })] }]);
  });

  it('a named VIP never takes the address of an IP VIP in 11.0.0.0/8', () => {
    const home = vipHomeAddress(NAME);
    const a = app('/a', withPortDefinitions(1), portLabels(0, { VIP_0: 'svc:80' }));
    const b = app('/b', withPortDefinitions(2), portLabels(0, { VIP_0: `${home}:80` }));
    const { model } = buildVipModel([a, b]);
    expect(model.vips).toHaveLength(2);
    const named = model.vips.find((v) => v.name === NAME);
    expect(named?.ip).toMatch(/^11\./);
    expect(named?.ip).not.toBe(home);
  });

  it('keeps a VIP without running tasks (scaled to zero) with no backends', () => {
    const { model } = buildVipModel([app('/z', withPortDefinitions(1), portLabels(0, vip), withTasks(task('10.0.0.1', [31000], inState('TASK_FINISHED'))))]);
    expect(model.vips).toEqual([{ name: NAME, ip: vipHomeAddress(NAME), port: 80, protocol: 'tcp', apps: ['/z'], backends: [] }]);
  });

  it('weights: healthy 1, failing / not yet checked / killing 0, others absent; sorted by address', () => {
    const a = app(
      '/w',
      withPortDefinitions(1),
      withHealthChecks({ protocol: 'HTTP', path: '/' }),
      portLabels(0, vip),
      withTasks(
        task('10.0.0.9', [5], withHealth(true), withTaskId('t1')),
        task('10.0.0.2', [5], withHealth(false), withTaskId('t2')),
        task('10.0.0.3', [5], withTaskId('t3')),
        task('10.0.0.10', [5], withHealth(true), inState('TASK_KILLING'), withTaskId('t4')),
        task('10.0.0.5', [5], withHealth(true), inState('TASK_STAGING'), withTaskId('t5')),
      ),
    );
    const { model } = buildVipModel([a]);
    expect(model.vips[0]?.backends.map((b) => [b.ip, b.weight, b.taskId])).toEqual([
      ['10.0.0.2', 0, 't2'],
      ['10.0.0.3', 0, 't3'],
      ['10.0.0.9', 1, 't1'],
      ['10.0.0.10', 0, 't4'],
    ]);
  });

  it('one backend per address: a duplicate keeps the higher weight', () => {
    const a = app('/d', withPortDefinitions(1), portLabels(0, vip), withTasks(task('10.0.0.1', [5], inState('TASK_KILLING'), withTaskId('a')), task('10.0.0.1', [5], withTaskId('b'))));
    expect(buildVipModel([a]).model.vips[0]?.backends).toEqual([{ ip: '10.0.0.1', port: 5, weight: 1, appId: '/d', taskId: 'b' }]);
  });

  it('an agent at the unspecified address (0.0.0.0, as written or resolved) gets no backend, with a warning', () => {
    const a = app('/z', withPortDefinitions(1), portLabels(0, vip), withTasks(task('0.0.0.0', [5]), task('blackholed', [6]), task('10.0.0.4', [8])));
    const { model, warnings } = buildVipModel([a], { resolveHost: () => '0.0.0.0' });
    expect(model.vips[0]?.backends.map((b) => `${b.ip}:${b.port}`)).toEqual(['10.0.0.4:8']);
    expect(warnings).toEqual([
      { code: 'E_HOST_UNRESOLVED', appId: '/z', message: 'agent host 0.0.0.0 is the unspecified address; its tasks get no traffic' },
      { code: 'E_HOST_UNRESOLVED', appId: '/z', message: 'agent host blackholed resolves to 0.0.0.0, which is the unspecified address; its tasks get no traffic' },
    ]);
  });

  it('agent host names go through resolveHost; unresolvable ones warn once and get no backend', () => {
    const a = app('/n', withPortDefinitions(1), portLabels(0, vip), withTasks(task('agent-1', [5]), task('agent-2', [6]), task('agent-2', [7]), task('10.0.0.4', [8])));
    const resolved: string[] = [];
    const { model, warnings } = buildVipModel([a], {
      resolveHost: (h) => {
        resolved.push(h);
        return h === 'agent-1' ? '10.0.0.1' : undefined;
      },
    });
    expect(model.vips[0]?.backends.map((b) => `${b.ip}:${b.port}`)).toEqual(['10.0.0.1:5', '10.0.0.4:8']);
    expect(resolved).not.toContain('10.0.0.4');
    expect(warnings).toEqual([{ code: 'E_HOST_UNRESOLVED', appId: '/n', message: 'agent host agent-2 does not resolve; its tasks get no traffic' }]);
  });

  it('is deterministic: app and task order do not matter', () => {
    const mk = () => [
      app('/a', withPortDefinitions(1), portLabels(0, { VIP_0: 'x:1' }), withTasks(task('10.0.0.1', [5], withTaskId('a1')), task('10.0.0.2', [5], withTaskId('a2')))),
      app('/b', withPortDefinitions(1), portLabels(0, { VIP_0: 'y:1', VIP_1: '10.1.1.1:2' }), withTasks(task('10.0.0.3', [5], withTaskId('b1')))),
    ];
    const one = buildVipModel(mk());
    const rev = mk().reverse();
    for (const a of rev) a.tasks?.reverse();
    expect(buildVipModel(rev)).toEqual(one);
  });
});

describe('buildVipModel: bad labels warn, never throw', () => {
  const cases: [string, Labels, string | undefined, string][] = [
    ['no port', { VIP_0: 'svc' }, undefined, `E_LABEL_INVALID|VIP_0|port 0: "svc" is not 'name:port'; VIP ignored`],
    ['port out of range', { VIP_0: 'svc:70000' }, undefined, 'E_LABEL_INVALID|VIP_0|port 0: "svc:70000" is not a port number (1-65535); VIP ignored'],
    ['nothing left after mangling', { VIP_3: '%%%:80' }, undefined, 'E_LABEL_INVALID|VIP_3|port 0: "%%%:80" has no letter or digit in its name; VIP ignored'],
    ['IPv6', { VIP_0: '[fd00::1]:80' }, undefined, 'E_LABEL_INVALID|VIP_0|port 0: "[fd00::1]:80" is an IPv6 VIP, which mlb-ts does not support; VIP ignored'],
    ['loopback IP', { VIP_0: '127.0.0.1:80' }, undefined, 'E_LABEL_INVALID|VIP_0|port 0: "127.0.0.1:80" is not a usable VIP address (0/8, loopback, multicast or reserved); VIP ignored'],
    ['sctp port', { VIP_0: 'svc:80' }, 'sctp', 'W_VIP_IGNORED|VIP_0|port 0: protocol "sctp" is not tcp or udp; no VIP for it'],
    ['a number (hand-written apps file)', { VIP_0: 5 }, undefined, 'E_LABEL_INVALID|VIP_0|port 0: 5 is a number, not a string (label values are strings: quote it); VIP ignored'],
  ];
  it.each(cases)('%s', (_name, labels, protocol, warning) => {
    const parts: AppPart[] = [withPortDefinitions(1, 2), portLabels(0, labels), portLabels(1, { VIP_0: 'good:80' }), withTasks(task('10.0.0.1', [5, 6]))];
    if (protocol) parts.push(portProtocol(0, protocol));
    const { model, warnings } = buildVipModel([app('/bad', ...parts)]);
    expect(warnings.map((w) => `${w.code}|${w.label}|${w.message}`)).toEqual([warning]);
    expect(warnings[0]?.appId).toBe('/bad');
    expect(model.vips.map((v) => v.name)).toEqual(['good.marathon.l4lb.thisdcos.directory']);
  });
});
