import { lookup } from 'node:dns/promises';
import { beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { HostResolver } from '../../../src/io/dns.js';

// The real resolver, watched: each call is counted, each answer is the system's own.
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  return { ...real, lookup: vi.fn(real.lookup) };
});

const lookups = () => vi.mocked(lookup).mock.calls.map((c) => c[0]);

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

beforeEach(() => {
  vi.mocked(lookup).mockClear();
});

describe('HostResolver', () => {
  it('IP literals pass through without a lookup', async () => {
    const r = new HostResolver();
    const resolve = await r.resolveAll(['10.0.0.1', '127.0.0.1', '192.168.1.254']);
    expect(resolve('10.0.0.1')).toBe('10.0.0.1');
    expect(resolve('192.168.1.254')).toBe('192.168.1.254');
    // even one never passed to resolveAll
    expect(resolve('172.16.0.9')).toBe('172.16.0.9');
    expect(lookups()).toEqual([]);
  });

  it('localhost resolves to 127.0.0.1; an .invalid name to undefined', async () => {
    const r = new HostResolver();
    const resolve = await r.resolveAll(['localhost', 'no-such-agent.invalid']);
    expect(resolve('localhost')).toBe('127.0.0.1');
    expect(resolve('no-such-agent.invalid')).toBeUndefined();
    expect(lookups().sort()).toEqual(['localhost', 'no-such-agent.invalid']);
  });

  it('a name never resolved is undefined (no lookup from the synchronous function)', async () => {
    const r = new HostResolver();
    const resolve = await r.resolveAll([]);
    expect(resolve('localhost')).toBeUndefined();
    expect(lookups()).toEqual([]);
  });

  it('each name is looked up once per call, however often it appears', async () => {
    const r = new HostResolver();
    await r.resolveAll(['localhost', 'localhost', 'localhost', '10.0.0.1']);
    expect(lookups()).toEqual(['localhost']);
  });

  it('answers are cached within the TTL and looked up again after it', async () => {
    const c = clock();
    const r = new HostResolver(60_000, 10_000, c.now);
    expect((await r.resolveAll(['localhost']))('localhost')).toBe('127.0.0.1');
    expect(lookups()).toEqual(['localhost']);

    c.advance(59_999);
    expect((await r.resolveAll(['localhost']))('localhost')).toBe('127.0.0.1');
    expect(lookups()).toEqual(['localhost']);

    c.advance(1);
    expect((await r.resolveAll(['localhost']))('localhost')).toBe('127.0.0.1');
    expect(lookups()).toEqual(['localhost', 'localhost']);

    // the new answer has a TTL of its own, from now
    c.advance(30_000);
    await r.resolveAll(['localhost']);
    expect(lookups()).toHaveLength(2);
  });

  it('failures are cached for the (shorter) negative TTL', async () => {
    const c = clock();
    const r = new HostResolver(60_000, 5_000, c.now);
    await r.resolveAll(['gone.invalid']);
    c.advance(4_999);
    expect((await r.resolveAll(['gone.invalid']))('gone.invalid')).toBeUndefined();
    expect(lookups()).toEqual(['gone.invalid']);
    c.advance(1);
    await r.resolveAll(['gone.invalid']);
    expect(lookups()).toEqual(['gone.invalid', 'gone.invalid']);
  });

  it('the returned lookup sees names resolved by later calls too (one shared cache)', async () => {
    const r = new HostResolver();
    const first = await r.resolveAll(['gone.invalid']);
    expect(first('localhost')).toBeUndefined();
    await r.resolveAll(['localhost']);
    expect(first('localhost')).toBe('127.0.0.1');
  });

  it('many names: every one resolved, at most 32 lookups in flight, none twice', async () => {
    // synthetic agents answered by the watched resolver itself (no DNS traffic for 70 names)
    const real = await vi.importActual<typeof import('node:dns/promises')>('node:dns/promises');
    let inFlight = 0;
    let most = 0;
    type Lookup4 = (host: string, opts: { family: 4 }) => Promise<{ address: string; family: number }>;
    (vi.mocked(lookup) as unknown as Mock<Lookup4>).mockImplementation(async (host) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const n = /^agent-(\d+)\.cluster$/.exec(host)?.[1];
      if (n === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return { address: `10.9.0.${n}`, family: 4 };
    });
    try {
      const names = Array.from({ length: 70 }, (_, i) => `agent-${i}.cluster`);
      const r = new HostResolver();
      const resolve = await r.resolveAll([...names, ...names, 'other.cluster']);
      expect(lookups().sort()).toEqual([...names, 'other.cluster'].sort());
      expect(names.map(resolve)).toEqual(names.map((_, i) => `10.9.0.${i}`));
      expect(resolve('other.cluster')).toBeUndefined();
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(32);
    } finally {
      vi.mocked(lookup).mockImplementation(real.lookup);
    }
  });
});
