import { describe, expect, it } from 'vitest';
import type { Vip, VipBackend, VipModel } from '../../../src/model/vips.js';
import { parseVipJson, renderIpvsDelta, renderIpvsRules, renderVipHosts, renderVipJson } from '../../../src/render/ipvs.js';
import { GrammarError, parseLine, parseRules, TableError, tableOf } from '../../helpers/ipvsadm.js';

const be = (ip: string, port: number, weight: 0 | 1 = 1): VipBackend => ({ ip, port, weight, appId: '/app', taskId: `t-${ip}-${port}` });
const vip = (ip: string, port: number, backends: VipBackend[], protocol: 'tcp' | 'udp' = 'tcp', name?: string): Vip => ({ ...(name ? { name } : {}), ip, port, protocol, apps: ['/app'], backends });
const model = (...vips: Vip[]): VipModel => ({ vips });

const HTTPI = 'httpi.marathon.l4lb.thisdcos.directory';

describe('ipvsadm grammar checker (test helper)', () => {
  const good = [
    '-A -t 11.1.2.3:80 -s wlc',
    'ipvsadm -A -u 11.1.2.3:53 -s rr -p 60',
    '-A -t 10.0.0.1:0 -s wlc -p',
    '-E -t 11.1.2.3:80 -s wrr',
    '-D -t 11.1.2.3:80',
    '-C',
    '-a -t 11.1.2.3:80 -r 10.0.0.1:31000 -m -w 1',
    '-a -t 11.1.2.3:80 -r 10.0.0.1:80 -g',
    '-a -f 7 -r 10.0.0.1 -i -w 3',
    '-e -u 11.1.2.3:53 -r 10.0.0.1:5353 -m -w 0 -x 100 -y 10',
    '-d -t 11.1.2.3:80 -r 10.0.0.1:31000',
    '--add-service --tcp-service [fd00::1]:80 --scheduler sh',
  ];
  it.each(good)('accepts %j', (line) => expect(() => parseLine(line)).not.toThrow());

  const bad: [string, RegExp][] = [
    ['', /not a command/],
    ['-X -t 11.1.2.3:80', /not a command/],
    ['-A -s wlc', /needs a virtual service/],
    ['-A -t 11.1.2.3:80 -s fastest', /not a scheduler/],
    ['-A -t 11.1.2.3:80 -r 10.0.0.1:1', /no real-server options/],
    ['-A -t 11.1.2.3 -s wlc', /persistent/],
    ['-A -t 11.1.2.3:70000', /outside/],
    ['-A -t 11.1.2.300:80', /ADDR\[:PORT\]/],
    ['-A -t host.example:80', /ADDR\[:PORT\]/],
    ['-A -t 11.1.2.3:80 -t 11.1.2.4:80', /twice/],
    ['-D -t 11.1.2.3:80 -s wlc', /only the virtual service/],
    ['-C -t 11.1.2.3:80', /no options/],
    ['-a -t 11.1.2.3:80 -m -w 1', /needs -r/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:1 -m -g', /twice/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:1 -m -w -1', /not an integer/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:1 -m -w 2147483648', /outside/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:1 -s wlc', /no scheduling/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:31000 -g', /equal the service port/],
    ['-d -t 11.1.2.3:80 -r 10.0.0.1:1 -w 1', /only the service and -r/],
    ['-a -t 11.1.2.3:80 -r 10.0.0.1:1 --bogus', /unknown option/],
    ['-A -f 0 -s wlc', /outside/],
  ];
  it.each(bad)('refuses %j', (line, why) => {
    expect(() => parseLine(line)).toThrow(GrammarError);
    expect(() => parseLine(line)).toThrow(why);
  });

  it('refuses a file whose last line has no newline', () => expect(() => parseRules('-C')).toThrow(/newline/));

  const tableErrors: [string, string, RegExp][] = [
    ['duplicate service', '-A -t 11.0.0.1:80 -s wlc\n-A -t 11.0.0.1:80 -s wlc\n', /already exists/],
    ['real server without service', '-a -t 11.0.0.1:80 -r 10.0.0.1:1 -m -w 1\n', /no service/],
    ['duplicate real server', '-A -t 11.0.0.1:80 -s wlc\n-a -t 11.0.0.1:80 -r 10.0.0.1:1 -m\n-a -t 11.0.0.1:80 -r 10.0.0.1:1 -m\n', /already exists/],
    ['edit of a missing real server', '-A -t 11.0.0.1:80 -s wlc\n-e -t 11.0.0.1:80 -r 10.0.0.1:1 -m -w 0\n', /no real server/],
    ['delete of a missing service', '-D -u 11.0.0.1:80\n', /no service/],
  ];
  it.each(tableErrors)('table refuses: %s', (_name, text, why) => {
    expect(() => tableOf(text)).toThrow(TableError);
    expect(() => tableOf(text)).toThrow(why);
  });

  it('table: -e without -m falls back to direct routing, as ipvsadm does', () => {
    const t = tableOf('-A -t 11.0.0.1:80 -s wlc\n-a -t 11.0.0.1:80 -r 10.0.0.1:80 -m -w 1\n-e -t 11.0.0.1:80 -r 10.0.0.1:80 -w 0\n');
    expect(t.dump()).toEqual(['R tcp 11.0.0.1:80 10.0.0.1:80 g 0', 'S tcp 11.0.0.1:80 wlc']);
  });
});

describe('renderIpvsRules', () => {
  it('prints ipvsadm-save -n form: -A then one -a per backend, udp with -u', () => {
    const m = model(vip('11.0.0.9', 3141, [be('172.16.15.168', 9896), be('172.16.40.67', 7143, 0)], 'tcp', HTTPI), vip('11.0.0.9', 3141, [], 'udp', HTTPI));
    expect(renderIpvsRules(m)).toBe(
      [
        '-A -t 11.0.0.9:3141 -s wlc',
        '-a -t 11.0.0.9:3141 -r 172.16.15.168:9896 -m -w 1',
        '-a -t 11.0.0.9:3141 -r 172.16.40.67:7143 -m -w 0',
        '-A -u 11.0.0.9:3141 -s wlc',
        '',
      ].join('\n'),
    );
    expect(tableOf(renderIpvsRules(m)).size).toBe(2);
  });

  it('an empty model is an empty file', () => expect(renderIpvsRules(model())).toBe(''));
});

/** Applies `delta` to the table of `prev`'s full rules; must equal the table of `next`'s. */
function expectDeltaReaches(prev: VipModel, next: VipModel): string {
  const delta = renderIpvsDelta(prev, next);
  const cmds = parseRules(delta);
  expect(cmds.map((c) => c.op).filter((op) => !['-A', '-D', '-a', '-e', '-d'].includes(op))).toEqual([]);
  const table = tableOf(renderIpvsRules(prev)).applyAll(cmds);
  expect(table.dump()).toEqual(tableOf(renderIpvsRules(next)).dump());
  return delta;
}

describe('renderIpvsDelta', () => {
  const A = vip('11.0.0.1', 80, [be('10.0.0.1', 31000), be('10.0.0.2', 31000)]);
  const cases: [string, VipModel, VipModel, string[]][] = [
    ['nothing changed', model(A), model(A), []],
    ['empty to empty', model(), model(), []],
    ['a new service', model(), model(A), ['-A -t 11.0.0.1:80 -s wlc', '-a -t 11.0.0.1:80 -r 10.0.0.1:31000 -m -w 1', '-a -t 11.0.0.1:80 -r 10.0.0.2:31000 -m -w 1']],
    ['a service goes (with its backends)', model(A), model(), ['-D -t 11.0.0.1:80']],
    ['a backend joins', model(vip('11.0.0.1', 80, [be('10.0.0.1', 31000)])), model(A), ['-a -t 11.0.0.1:80 -r 10.0.0.2:31000 -m -w 1']],
    ['a backend leaves', model(A), model(vip('11.0.0.1', 80, [be('10.0.0.2', 31000)])), ['-d -t 11.0.0.1:80 -r 10.0.0.1:31000']],
    ['a backend drains (weight 0)', model(A), model(vip('11.0.0.1', 80, [be('10.0.0.1', 31000, 0), be('10.0.0.2', 31000)])), ['-e -t 11.0.0.1:80 -r 10.0.0.1:31000 -m -w 0']],
    ['a backend becomes healthy', model(vip('11.0.0.1', 80, [be('10.0.0.1', 31000, 0)])), model(vip('11.0.0.1', 80, [be('10.0.0.1', 31000, 1)])), ['-e -t 11.0.0.1:80 -r 10.0.0.1:31000 -m -w 1']],
    ['same address, other port: a new service', model(A), model(vip('11.0.0.1', 81, [])), ['-D -t 11.0.0.1:80', '-A -t 11.0.0.1:81 -s wlc']],
    ['tcp → udp: delete and add', model(vip('11.0.0.1', 53, [])), model(vip('11.0.0.1', 53, [], 'udp')), ['-D -t 11.0.0.1:53', '-A -u 11.0.0.1:53 -s wlc']],
    ['only the name changed: no command', model(vip('11.0.0.1', 80, [], 'tcp', 'a')), model(vip('11.0.0.1', 80, [], 'tcp', 'b')), []],
    [
      'several at once',
      model(A, vip('11.0.0.2', 90, [be('10.0.0.3', 1)])),
      model(vip('11.0.0.1', 80, [be('10.0.0.2', 31000, 0), be('10.0.0.4', 31000)]), vip('11.0.0.3', 90, [be('10.0.0.3', 1)])),
      [
        '-D -t 11.0.0.2:90',
        '-d -t 11.0.0.1:80 -r 10.0.0.1:31000',
        '-e -t 11.0.0.1:80 -r 10.0.0.2:31000 -m -w 0',
        '-a -t 11.0.0.1:80 -r 10.0.0.4:31000 -m -w 1',
        '-A -t 11.0.0.3:90 -s wlc',
        '-a -t 11.0.0.3:90 -r 10.0.0.3:1 -m -w 1',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, prev, next, want) => {
    const delta = expectDeltaReaches(prev, next);
    expect(delta).toBe(want.map((l) => `${l}\n`).join(''));
  });

  it('random transitions: prev table + delta = next table, minimal, never a flush (bounded: 2,000)', () => {
    const rand = mulberry32(0x5eed);
    let prev = randomModel(rand);
    let commands = 0;
    for (let i = 0; i < 2000; i++) {
      const next = rand() < 0.3 ? randomModel(rand) : mutate(prev, rand);
      const delta = expectDeltaReaches(prev, next);
      const lines = delta === '' ? [] : delta.trimEnd().split('\n');
      commands += lines.length;
      expect(lines.length).toBeLessThanOrEqual(minimalCommands(prev, next));
      expect(renderIpvsDelta(next, next)).toBe('');
      prev = next;
    }
    expect(commands).toBeGreaterThan(2000);
  });

  it('a chain of deltas applied one after another tracks every model (bounded: 500 steps)', () => {
    const rand = mulberry32(42);
    let prev = randomModel(rand);
    const live = tableOf(renderIpvsRules(prev));
    for (let i = 0; i < 500; i++) {
      const next = mutate(prev, rand);
      live.applyAll(parseRules(renderIpvsDelta(prev, next)));
      expect(live.dump()).toEqual(tableOf(renderIpvsRules(next)).dump());
      prev = next;
    }
  });
});

describe('renderVipHosts / renderVipJson / parseVipJson', () => {
  const m = model(
    vip('11.0.0.9', 6666, [be('10.0.0.1', 31001)], 'tcp', 'myservice.marathon.l4lb.thisdcos.directory'),
    vip('11.0.0.9', 7777, [], 'tcp', 'myservice.marathon.l4lb.thisdcos.directory'),
    vip('11.5.0.1', 3141, [], 'udp', HTTPI),
    vip('10.21.1.15', 6666, [be('10.0.0.2', 5, 0)]),
  );

  it('hosts: one `IP name` line per named VIP, sorted by name; IP VIPs have none', () => {
    expect(renderVipHosts(m)).toBe(`11.5.0.1 ${HTTPI}\n11.0.0.9 myservice.marathon.l4lb.thisdcos.directory\n`);
    expect(renderVipHosts(model())).toBe('');
  });

  it('json: the model, stable bytes, and it reads back', () => {
    const text = renderVipJson(m);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ vips: m.vips });
    expect(parseVipJson(text)).toEqual(m);
    expect(renderVipJson(parseVipJson(text))).toBe(text);
  });

  it.each([
    ['not JSON', '{', 'E_INPUT_NOT_JSON'],
    ['no vips', '{}', 'E_INPUT_UNREADABLE'],
    ['bad protocol', '{"vips":[{"ip":"11.0.0.1","port":80,"protocol":"sctp","backends":[]}]}', 'E_INPUT_UNREADABLE'],
    ['bad backend weight', '{"vips":[{"ip":"11.0.0.1","port":80,"protocol":"tcp","backends":[{"ip":"10.0.0.1","port":1,"weight":2}]}]}', 'E_INPUT_UNREADABLE'],
    ['injected address', '{"vips":[{"ip":"11.0.0.1 -C","port":80,"protocol":"tcp","backends":[]}]}', 'E_INPUT_UNREADABLE'],
  ])('parseVipJson refuses %s', (_name, text, code) => {
    expect(() => parseVipJson(text)).toThrow(expect.objectContaining({ code }));
  });
});

/* ---------- random models ---------- */

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

/** Small universes, so transitions often touch the same services and backends. */
const VIP_IPS = ['11.0.0.1', '11.0.0.2', '11.7.3.4', '10.21.1.15'];
const VIP_PORTS = [53, 80, 3141];
const BACKEND_IPS = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '9.0.2.130'];
const BACKEND_PORTS = [80, 31000, 31001];

function randomBackends(rand: () => number): VipBackend[] {
  const out = new Map<string, VipBackend>();
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const b = be(pick(rand, BACKEND_IPS), pick(rand, BACKEND_PORTS), rand() < 0.7 ? 1 : 0);
    out.set(`${b.ip}:${b.port}`, b);
  }
  return [...out.values()];
}

function randomModel(rand: () => number): VipModel {
  const out = new Map<string, Vip>();
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const v = vip(pick(rand, VIP_IPS), pick(rand, VIP_PORTS), randomBackends(rand), rand() < 0.7 ? 'tcp' : 'udp');
    out.set(`${v.protocol} ${v.ip}:${v.port}`, v);
  }
  return model(...out.values());
}

/** A small change: a service comes or goes, a backend joins, leaves or changes weight. */
function mutate(m: VipModel, rand: () => number): VipModel {
  const vips = m.vips.map((v) => ({ ...v, backends: [...v.backends] }));
  const r = rand();
  if (r < 0.15 || vips.length === 0) {
    const v = vip(pick(rand, VIP_IPS), pick(rand, VIP_PORTS), randomBackends(rand), rand() < 0.7 ? 'tcp' : 'udp');
    if (!vips.some((x) => x.ip === v.ip && x.port === v.port && x.protocol === v.protocol)) vips.push(v);
    return model(...vips);
  }
  if (r < 0.25) return model(...vips.filter((_, i) => i !== Math.floor(rand() * vips.length)));
  const v = pick(rand, vips);
  const ip = pick(rand, BACKEND_IPS);
  const port = pick(rand, BACKEND_PORTS);
  const at = v.backends.findIndex((b) => b.ip === ip && b.port === port);
  if (at < 0) v.backends.push(be(ip, port, rand() < 0.5 ? 1 : 0));
  else if (rand() < 0.5) v.backends.splice(at, 1);
  else v.backends[at] = { ...(v.backends[at] as VipBackend), weight: v.backends[at]?.weight === 1 ? 0 : 1 };
  return model(...vips);
}

/** The fewest commands any delta needs: one per service gone or new, one per backend changed in a kept service. */
function minimalCommands(prev: VipModel, next: VipModel): number {
  const key = (v: Vip) => `${v.protocol} ${v.ip}:${v.port}`;
  const before = new Map(prev.vips.map((v) => [key(v), v]));
  const after = new Set(next.vips.map(key));
  let n = prev.vips.filter((v) => !after.has(key(v))).length;
  for (const v of next.vips) {
    const old = before.get(key(v));
    if (!old) {
      n += 1 + v.backends.length;
      continue;
    }
    const ob = new Map(old.backends.map((b) => [`${b.ip}:${b.port}`, b.weight]));
    const nb = new Set(v.backends.map((b) => `${b.ip}:${b.port}`));
    n += old.backends.filter((b) => !nb.has(`${b.ip}:${b.port}`)).length;
    n += v.backends.filter((b) => ob.get(`${b.ip}:${b.port}`) !== b.weight).length;
  }
  return n;
}
