import { describe, expect, it } from 'vitest';
import { fnv1a } from '../../../src/model/naming.js';
import { assignServicePorts, cmp, type PortRequest, portKey } from '../../../src/model/service-ports.js';

const requests = (n: number, prefix = '/app'): PortRequest[] => Array.from({ length: n }, (_, i) => ({ appId: `${prefix}-${String(i).padStart(3, '0')}`, portIndex: i % 2 }));

/** How many of `before`'s requests got a different port (or none) in `after`, of those `after` was asked for. */
function moved(before: Map<string, number>, after: Map<string, number>, asked: PortRequest[]): number {
  const keys = new Set(asked.map((r) => portKey(r.appId, r.portIndex)));
  let n = 0;
  for (const [k, v] of before) if (keys.has(k) && after.get(k) !== v) n++;
  return n;
}

describe('assignServicePorts', () => {
  it('gives every request a distinct port inside [min, max]', () => {
    const out = assignServicePorts(requests(30), new Set(), 10050, 10100);
    expect(out.size).toBe(30);
    expect(new Set(out.values()).size).toBe(30);
    for (const p of out.values()) {
      expect(p).toBeGreaterThanOrEqual(10050);
      expect(p).toBeLessThanOrEqual(10100);
    }
  });

  it('keys results by app id and port index', () => {
    const out = assignServicePorts([{ appId: '/a', portIndex: 0 }, { appId: '/a', portIndex: 1 }], new Set(), 10050, 10100);
    expect([...out.keys()].sort()).toEqual([portKey('/a', 0), portKey('/a', 1)]);
    expect(portKey('/a', 1)).toBe('/a#1');
  });

  it('is deterministic and independent of request order', () => {
    const reqs = requests(25);
    const a = assignServicePorts(reqs, new Set([10060]), 10050, 10100);
    const b = assignServicePorts([...reqs].reverse(), new Set([10060]), 10050, 10100);
    const c = assignServicePorts([...reqs.slice(10), ...reqs.slice(0, 10)], new Set([10060]), 10050, 10100);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    expect([...c.entries()].sort()).toEqual([...a.entries()].sort());
  });

  it('avoids taken ports', () => {
    const taken = new Set([10050, 10051, 10052, 10053, 10054, 10055, 10056, 10057]);
    const out = assignServicePorts(requests(2), taken, 10050, 10059);
    expect([...out.values()].sort()).toEqual([10058, 10059]);
  });

  it('fills the range exactly, then leaves the rest without a port; those whose home port is free get it', () => {
    const reqs = requests(8);
    const out = assignServicePorts(reqs, new Set([10002]), 10000, 10004);
    expect(out.size).toBe(4);
    expect([...out.values()].sort()).toEqual([10000, 10001, 10003, 10004]);
    // the first (in app id order) of the requests with each free home port has it
    const homeOwners = new Map<number, string>();
    for (const r of reqs) {
      const home = 10000 + homeOf(r, 5);
      if (home !== 10002 && !homeOwners.has(home)) homeOwners.set(home, portKey(r.appId, r.portIndex));
    }
    expect(homeOwners.size).toBeGreaterThan(1);
    for (const [port, key] of homeOwners) expect(out.get(key)).toBe(port);
  });

  it.each([
    ['an empty range', 10001, 10000],
    ['a range entirely taken', 10000, 10001],
    ['0..0 (assignment turned off)', 0, 0],
  ])('%s gives nothing', (_name, min, max) => {
    expect(assignServicePorts(requests(3), new Set([10000, 10001]), min, max).size).toBe(0);
  });

  it('a one-port range', () => {
    expect([...assignServicePorts(requests(2), new Set(), 10000, 10000).values()]).toEqual([10000]);
  });

  it('an app on its home port keeps it when others come or go, unless a newcomer sorted before it has the same home port', () => {
    let onHome = 0;
    for (let t = 0; t < 200; t++) {
      const reqs = requests(30, `/h${t}`);
      const before = assignServicePorts(reqs, new Set(), 10050, 10100);
      const newcomer = { appId: t % 2 ? `/a${t}` : `/z${t}`, portIndex: 0 };
      const withNew = assignServicePorts([...reqs, newcomer], new Set(), 10050, 10100);
      const without = assignServicePorts(reqs.filter((_, i) => i !== t % 30), new Set(), 10050, 10100);
      for (const r of reqs) {
        const key = portKey(r.appId, r.portIndex);
        const port = before.get(key) as number;
        if (port !== 10050 + homeOf(r, 51)) continue;
        onHome++;
        const takenByNewcomer = homeOf(newcomer, 51) === homeOf(r, 51) && cmp(newcomer.appId, r.appId) < 0;
        if (!takenByNewcomer) expect(withNew.get(key), `${key} after ${newcomer.appId} came`).toBe(port);
        if (without.has(key)) expect(without.get(key), `${key} after one left`).toBe(port);
      }
    }
    expect(onHome).toBeGreaterThan(200 * 20);
  });

  it('the reported case: /svc/zeta alone has 10093; /svc/a12 (same home port, sorted first) takes it without previous assignments, not with them', () => {
    const zeta = { appId: '/svc/zeta', portIndex: 0 };
    const a12 = { appId: '/svc/a12', portIndex: 0 };
    const alone = assignServicePorts([zeta], new Set(), 10050, 10100);
    expect(alone).toEqual(new Map([['/svc/zeta#0', 10093]]));
    expect(assignServicePorts([zeta, a12], new Set(), 10050, 10100)).toEqual(new Map([['/svc/a12#0', 10093], ['/svc/zeta#0', 10094]]));
    expect(assignServicePorts([zeta, a12], new Set(), 10050, 10100, alone)).toEqual(new Map([['/svc/zeta#0', 10093], ['/svc/a12#0', 10094]]));
  });

  it('an unrelated app coming or going anywhere moves few others (default range, 20 apps)', () => {
    let movedOnAdd = 0;
    let movedOnRemove = 0;
    const trials = 100;
    for (let t = 0; t < trials; t++) {
      const reqs = requests(20, `/t${t}`);
      const before = assignServicePorts(reqs, new Set(), 10050, 10100);
      // '/a…' sorts before every '/t…', so it probes first: the worst place for stability
      const withNew = [{ appId: `/a${t}`, portIndex: 0 }, ...reqs];
      const without = reqs.filter((_, i) => i !== t % 20);
      movedOnAdd += moved(before, assignServicePorts(withNew, new Set(), 10050, 10100), withNew);
      movedOnRemove += moved(before, assignServicePorts(without, new Set(), 10050, 10100), without);
    }
    // measured: ~0.6 moves per change; handing out ports by rank would move every app sorted after it
    expect(movedOnAdd / trials).toBeLessThan(1);
    expect(movedOnRemove / trials).toBeLessThan(1);
  });

  it('in a lightly used range a change moves at most one other app', () => {
    for (let t = 0; t < 50; t++) {
      const reqs = requests(20, `/u${t}`);
      const before = assignServicePorts(reqs, new Set(), 10000, 10999);
      const withNew = [{ appId: `/a${t}`, portIndex: 0 }, ...reqs];
      expect(moved(before, assignServicePorts(withNew, new Set(), 10000, 10999), withNew)).toBeLessThanOrEqual(1);
    }
  });
});

describe('assignServicePorts with previous assignments', () => {
  const req = (appId: string, portIndex = 0): PortRequest => ({ appId, portIndex });
  const prev = (entries: [string, number][]) => new Map(entries);

  it.each<[string, PortRequest[], number[], [number, number], [string, number][], [string, number][]]>([
    ['a previous port is kept over a newcomer with that home port sorted first', [req('/svc/zeta'), req('/svc/a12')], [], [10050, 10100], [['/svc/zeta#0', 10093]], [['/svc/zeta#0', 10093], ['/svc/a12#0', 10094]]],
    ['a previous port off its home is kept after the app that displaced it left', [req('/svc/zeta')], [], [10050, 10100], [['/svc/zeta#0', 10094], ['/svc/a12#0', 10093]], [['/svc/zeta#0', 10094]]],
    ['a previous port now taken by a Marathon or label port is given up: the app gets another', [req('/svc/zeta')], [10093], [10050, 10100], [['/svc/zeta#0', 10093]], [['/svc/zeta#0', 10094]]],
    ['a previous port now reserved (range overlaps the fixed frontends) is given up', [req('/w')], [9090, 9091], [9090, 9092], [['/w#0', 9091]], [['/w#0', 9092]]],
    ['a previous port outside a changed range is given up', [req('/svc/zeta')], [], [10050, 10100], [['/svc/zeta#0', 10200]], [['/svc/zeta#0', 10093]]],
    ['a previous port that is not a port is given up', [req('/svc/zeta')], [], [10050, 10100], [['/svc/zeta#0', 10093.5]], [['/svc/zeta#0', 10093]]],
    ["a departed app's previous port is free for others", [req('/svc/a12')], [], [10050, 10100], [['/svc/zeta#0', 10093]], [['/svc/a12#0', 10093]]],
    ['two requests with one previous port (not from one run): the first in app id order keeps it', [req('/b'), req('/a')], [], [10000, 10001], [['/a#0', 10000], ['/b#0', 10000]], [['/a#0', 10000], ['/b#0', 10001]]],
    ['previous ports fill the range first: the newcomer goes without', [req('/svc/zeta'), req('/svc/a12')], [], [10093, 10093], [['/svc/zeta#0', 10093]], [['/svc/zeta#0', 10093]]],
    ['an assignment turned off (0..0) gives none, previous or not', [req('/svc/zeta')], [], [0, 0], [['/svc/zeta#0', 10093]], []],
  ])('%s', (_name, reqs, taken, [min, max], previous, expected) => {
    const out = assignServicePorts(reqs, new Set(taken), min, max, prev(previous));
    expect([...out.entries()].sort()).toEqual([...expected].sort());
  });

  it('is deterministic and independent of request order and of the order of the previous map', () => {
    const reqs = requests(30);
    const previous = assignServicePorts(requests(20), new Set(), 10050, 10100);
    const reversed = new Map([...previous].reverse());
    const a = assignServicePorts(reqs, new Set([10060]), 10050, 10100, previous);
    const b = assignServicePorts([...reqs].reverse(), new Set([10060]), 10050, 10100, reversed);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    expect(new Set(a.values()).size).toBe(a.size);
  });

  it('fed its own output, no app that stays ever moves while apps come and go (200 changes)', () => {
    let apps = requests(25, '/s');
    let current = assignServicePorts(apps, new Set(), 10050, 10100);
    let x = 7;
    for (let step = 0; step < 200; step++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // grow to ~45 of 51 ports: probing is common; newcomers sort anywhere
      if (apps.length < 45 && x % 3 !== 0) apps = [...apps, { appId: `/${String.fromCharCode(97 + (x % 26))}-${step}`, portIndex: x % 2 }];
      else apps = apps.filter((_, i) => i !== x % apps.length);
      const next = assignServicePorts(apps, new Set(), 10050, 10100, current);
      expect(moved(current, next, apps), `step ${step}`).toBe(0);
      expect(next.size).toBe(apps.length);
      current = next;
    }
  });
});

/** The port a request tries first: its offset in a range of `size`. */
function homeOf(r: PortRequest, size: number): number {
  return fnv1a(`${r.appId}:${r.portIndex}`) % size;
}

describe('cmp', () => {
  it.each([
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['B', 'a', -1],
    ['/a/b', '/a-b', 1],
  ])('cmp(%j, %j) = %d (code-unit order, not locale)', (a, b, r) => {
    expect(cmp(a, b)).toBe(r);
  });
});
