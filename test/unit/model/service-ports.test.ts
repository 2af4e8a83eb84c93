import { describe, expect, it } from 'vitest';
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

  it('fills the range exactly, then leaves the rest without a port', () => {
    const out = assignServicePorts(requests(8), new Set([10002]), 10000, 10004);
    expect(out.size).toBe(4);
    expect([...out.values()].sort()).toEqual([10000, 10001, 10003, 10004]);
    // the ones sorted first get the ports
    expect([...out.keys()].sort()).toEqual(requests(4).map((r) => portKey(r.appId, r.portIndex)).sort());
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

  it('an app keeps its port when an app sorted after it comes or goes', () => {
    const reqs = requests(40);
    const before = assignServicePorts(reqs, new Set(), 10050, 10100);
    const withNew = [...reqs, { appId: '/zzz', portIndex: 0 }];
    const without = reqs.slice(0, -1);
    expect(moved(before, assignServicePorts(withNew, new Set(), 10050, 10100), withNew)).toBe(0);
    expect(moved(before, assignServicePorts(without, new Set(), 10050, 10100), without)).toBe(0);
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
