import { describe, expect, it } from 'vitest';
import { restartRetryMs, syncRetryMs } from '../../../src/daemon/daemon.js';
import { findBroken } from '../../../src/daemon/narrow.js';

const apps = (n: number) => Array.from({ length: n }, (_, i) => `/app-${String(i).padStart(3, '0')}`);

/** A config check where each app in `bad` breaks the config on its own; it counts its calls. */
function checker(bad: Iterable<string>) {
  const broken = new Set(bad);
  const calls: string[][] = [];
  const ok = (set: string[]) => {
    calls.push(set);
    return Promise.resolve(!set.some((a) => broken.has(a)));
  };
  return { ok, calls };
}

/** Most ok() calls a bisection may make: one per visited node of the tree. */
function bound(n: number, k: number): number {
  if (n === 0) return 0;
  if (k === 0) return 1;
  return Math.min(2 * n - 1, 1 + 2 * k * Math.ceil(Math.log2(n)));
}

describe('findBroken', () => {
  const cases: [string, string[], string[]][] = [
    ['no candidates', [], []],
    ['no bad one', apps(10), []],
    ['one candidate, bad', ['/only'], ['/only']],
    ['one bad, first', apps(16), ['/app-000']],
    ['one bad, last', apps(16), ['/app-015']],
    ['one bad of many', apps(100), ['/app-057']],
    ['several bad', apps(40), ['/app-003', '/app-004', '/app-021', '/app-039']],
    ['every other one bad', apps(8), ['/app-001', '/app-003', '/app-005', '/app-007']],
    ['all bad', apps(7), apps(7)],
  ];

  it.each(cases)('%s', async (_name, candidates, bad) => {
    const { ok, calls } = checker(bad);
    const found = await findBroken(candidates, [], ok);
    expect([...found].sort()).toEqual([...bad].sort());
    expect(calls.length).toBeLessThanOrEqual(bound(candidates.length, bad.length));
    // every check is of apps it was given, never of one twice
    for (const c of calls) {
      expect(new Set(c).size).toBe(c.length);
      for (const a of c) expect(candidates).toContain(a);
    }
  });

  it('a refusal that does not come back (haproxy -c failing once, for its own reasons) blames no app', async () => {
    // The first check fails though every app is good; every later one passes.
    const calls: string[][] = [];
    const ok = async (a: string[]) => (calls.push(a), calls.length > 1);
    expect(await findBroken(['/web', '/other'], [], ok)).toEqual([]);
    // The half only inferred to fail (its sibling passed) was checked before being blamed.
    expect(calls).toEqual([['/web', '/other'], ['/web'], ['/web', '/other']]);
  });

  it('one bad among 1000: about 2·log2(n) checks, not n', async () => {
    const { ok, calls } = checker(['/app-777']);
    expect(await findBroken(apps(1000), [], ok)).toEqual(['/app-777']);
    expect(calls.length).toBeLessThanOrEqual(21);
  });

  it('no bad one: a single check of everything', async () => {
    const { ok, calls } = checker([]);
    expect(await findBroken(apps(50), [], ok)).toEqual([]);
    expect(calls).toEqual([apps(50)]);
  });

  it('every check starts with the known-good base; an app found bad is left out of the checks after it', async () => {
    const base = ['/base-1', '/base-2'];
    const bad = ['/app-002', '/app-009'];
    const { ok, calls } = checker(bad);
    expect((await findBroken(apps(12), base, ok)).sort()).toEqual(bad);
    for (const c of calls) expect(c.slice(0, 2)).toEqual(base);
    // calls[0] checks everything; the right half (/app-006…) is then checked with the good apps of the left half only
    expect(calls[0]).toEqual([...base, ...apps(12)]);
    const rightStart = calls.findIndex((c, i) => i > 0 && c.includes('/app-006'));
    expect(rightStart).toBeGreaterThan(0);
    expect(calls[rightStart]).toEqual([...base, ...apps(12).filter((a) => a !== '/app-002')]);
    for (const c of calls.slice(rightStart)) expect(c).not.toContain('/app-002');
  });

  it('apps that conflict only with each other: the later one is dropped, the earlier kept', async () => {
    // /app-001 and /app-006 claim the same port: each alone is fine, both together are not
    const calls: string[][] = [];
    const ok = (set: string[]) => {
      calls.push(set);
      return Promise.resolve(!(set.includes('/app-001') && set.includes('/app-006')));
    };
    expect(await findBroken(apps(8), [], ok)).toEqual(['/app-006']);
  });
});

describe('retry waits of the daemon', () => {
  it.each([
    // failures, --max-backoff ms, random → ms: the reconnect backoff's steps, capped at 10 s (and at --max-backoff)
    [1, 300_000, 1, 1000],
    [3, 300_000, 1, 4000],
    [5, 300_000, 1, 10_000],
    [6, 300_000, 1, 10_000],
    [50, 300_000, 0, 5000],
    [6, 2000, 1, 2000],
  ])('syncRetryMs: %d failures in a row, --max-backoff %d ms, random %d → %d ms', (failures, max, random, want) => {
    expect(syncRetryMs(failures, max, () => random)).toBe(want);
  });

  it.each([
    [0, 1000],
    [1, 2000],
    [4, 16_000],
    [5, 30_000],
    [40, 30_000],
  ])('restartRetryMs: attempt %d → %d ms', (attempt, want) => {
    expect(restartRetryMs(attempt)).toBe(want);
  });
});
