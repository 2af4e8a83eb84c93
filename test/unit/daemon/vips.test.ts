import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IPVS_APPLIED_FILE, IpvsSync } from '../../../src/daemon/vips.js';
import { vipOutputs } from '../../../src/cli/vips.js';
import { createLogger } from '../../../src/daemon/log.js';
import { daemonMetrics } from '../../../src/daemon/metrics.js';
import { app, task, withBridge, withTasks } from '../../helpers/builders.js';
import { Writable } from 'node:stream';

const quiet = () => createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A directory of the test's own, removed after it. */
function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ipvs-'));
  dirs.push(dir);
  return dir;
}

const backendIps = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { vips: { backends: { ip: string }[] }[] }).vips.flatMap((v) => v.backends.map((b) => b.ip));

function httpi(...hosts: [string, number][]) {
  return app('/httpi', withBridge({ containerPort: 0, hostPort: 0, servicePort: 10101, protocol: 'tcp', labels: { VIP_0: '/httpi:3141' } }), withTasks(...hosts.map(([h, p]) => task(h, [p]))));
}

describe('IpvsSync (daemon --ipvs)', () => {
  it('writes the files and pipes only the change to the apply command, never a flush', async () => {
    const dir = newDir();
    const applied = join(dir, 'applied.log');
    const metrics = daemonMetrics();
    const sync = new IpvsSync(dir, `cat >> ${applied}; echo --- >> ${applied}`, quiet(), metrics);
    const ip = (h: string) => h;
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.2', 31001])] }, ip);
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.2', 31001])] }, ip);
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.3', 31002])] }, ip);
    const rounds = readFileSync(applied, 'utf8').split('---\n').filter(Boolean);
    expect(rounds).toHaveLength(2);
    expect(rounds[0]).toMatch(/^-A -t 11\.\d+\.\d+\.\d+:3141 -s wlc$/m);
    expect(rounds[0]?.match(/^-a /gm)).toHaveLength(2);
    expect(rounds[1]).toMatch(/^-d -t 11\.\d+\.\d+\.\d+:3141 -r 10\.0\.0\.2:31001$/m);
    expect(rounds[1]).toMatch(/^-a -t 11\.\d+\.\d+\.\d+:3141 -r 10\.0\.0\.3:31002 -m -w 1$/m);
    expect(rounds.join('')).not.toMatch(/^-C/m);
    expect(readFileSync(join(dir, 'ipvs.rules'), 'utf8')).toContain('-r 10.0.0.3:31002');
    expect(readFileSync(join(dir, 'vips.hosts'), 'utf8')).toMatch(/^11\.\d+\.\d+\.\d+ httpi\.marathon\.l4lb\.thisdcos\.directory$/m);
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'ok' })).toBe(2);
  });

  it('keeps the applied state when the command fails, so the next sync retries the same change', async () => {
    const dir = newDir();
    const metrics = daemonMetrics();
    const failing = new IpvsSync(dir, 'exit 3', quiet(), metrics);
    await failing.sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    await failing.sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'failed' })).toBe(2);
    expect(readFileSync(join(dir, 'ipvs.delta'), 'utf8')).toMatch(/^-A -t /m);
  });

  /*
   * A daemon's life in steps: each syncs the VIP /httpi with backends 10.0.0.<n>:3100<n-1>, its
   * apply command succeeding or failing, optionally in a new IpvsSync (a restart) and after
   * ipvs.applied.json was removed or garbled. Then a restarted daemon syncs `last` with a working
   * command: `applies` is what that command received (VIP address as VIP), `[]` for no call.
   */
  type Step = { backends: number[]; apply: 'ok' | 'fails' };
  const ok = (...backends: number[]): Step => ({ backends, apply: 'ok' });
  const fails = (...backends: number[]): Step => ({ backends, apply: 'fails' });
  const rs = (n: number) => `-r 10.0.0.${n}:${31000 + n - 1}`;

  it.each<[string, Step[], 'kept' | 'removed' | 'garbled', number[], string[]]>([
    ['a removal whose apply failed is applied after a restart', [ok(1, 2), fails(1)], 'kept', [1], [`-d -t VIP:3141 ${rs(2)}`]],
    ['an addition whose apply failed is applied after a restart', [ok(1), fails(1, 2)], 'kept', [1, 2], [`-a -t VIP:3141 ${rs(2)} -m -w 1`]],
    ['several failed applies: the change from the last applied set', [ok(1, 2), fails(1), fails(1, 3)], 'kept', [1, 3], [`-d -t VIP:3141 ${rs(2)}`, `-a -t VIP:3141 ${rs(3)} -m -w 1`]],
    ['an applied set and a restart: nothing to apply', [ok(1, 2)], 'kept', [1, 2], []],
    ['a failed change undone before the restart: nothing to apply', [ok(1), fails(1, 2)], 'kept', [1], []],
    ['a fresh node (no files at all): every rule', [], 'kept', [1, 2], ['-A -t VIP:3141 -s wlc', `-a -t VIP:3141 ${rs(1)} -m -w 1`, `-a -t VIP:3141 ${rs(2)} -m -w 1`]],
    ['no applied file but a vips.json (an upgrade from a version without it): vips.json counts as applied', [ok(1, 2)], 'removed', [1, 3], [`-d -t VIP:3141 ${rs(2)}`, `-a -t VIP:3141 ${rs(3)} -m -w 1`]],
    ['an unreadable applied state: the full rules', [ok(1, 2)], 'garbled', [1], ['-A -t VIP:3141 -s wlc', `-a -t VIP:3141 ${rs(1)} -m -w 1`]],
  ])('restart: %s', async (_, steps, appliedFile, last, applies) => {
    const dir = newDir();
    const log = join(dir, 'applied.log');
    const working = `cat >> ${log}; echo --- >> ${log}`;
    const docOf = (backends: number[]) => ({ apps: [httpi(...backends.map((n): [string, number] => [`10.0.0.${n}`, 31000 + n - 1]))] });
    const rounds = () => (existsSync(log) ? readFileSync(log, 'utf8').split('---\n').filter(Boolean) : []).map((r) => r.replace(/11\.\d+\.\d+\.\d+/g, 'VIP').trimEnd().split('\n'));
    for (const step of steps) await new IpvsSync(dir, step.apply === 'ok' ? working : 'false', quiet(), daemonMetrics()).sync(docOf(step.backends), (h) => h);
    const before = rounds().length;
    if (appliedFile === 'removed') rmSync(join(dir, IPVS_APPLIED_FILE));
    if (appliedFile === 'garbled') writeFileSync(join(dir, IPVS_APPLIED_FILE), '{"vips": 3}');
    const metrics = daemonMetrics();
    await new IpvsSync(dir, working, quiet(), metrics).sync(docOf(last), (h) => h);
    const after = rounds();
    expect(after.slice(before)).toEqual(applies.length ? [applies] : []);
    // Whatever happened, vips.json and the applied state end up holding the backends of the last sync.
    expect(backendIps(join(dir, 'vips.json'))).toEqual(last.map((n) => `10.0.0.${n}`));
    expect(backendIps(join(dir, IPVS_APPLIED_FILE))).toEqual(last.map((n) => `10.0.0.${n}`));
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'ok' }) ?? 0).toBe(applies.length ? 1 : 0);
  });

  it("a vips.json that `render --out` wrote into the config's directory is not taken as applied: a fresh node gets every rule", async () => {
    const dir = newDir();
    const log = join(dir, 'applied.log');
    const doc = { apps: [httpi(['10.0.0.1', 31000], ['10.0.0.2', 31001])] };
    for (const f of vipOutputs(doc, (h) => h).files) writeFileSync(join(dir, f.name), f.content);
    expect(existsSync(join(dir, 'vips.json'))).toBe(true);
    expect(await new IpvsSync(dir, `cat >> ${log}`, quiet(), daemonMetrics()).sync(doc, (h) => h)).toBe(true);
    expect(readFileSync(log, 'utf8').replace(/11\.\d+\.\d+\.\d+/g, 'VIP').trimEnd().split('\n')).toEqual(['-A -t VIP:3141 -s wlc', '-a -t VIP:3141 -r 10.0.0.1:31000 -m -w 1', '-a -t VIP:3141 -r 10.0.0.2:31001 -m -w 1']);
  });

  it('the applied state moves only when the command succeeds', async () => {
    const dir = newDir();
    const applied = join(dir, IPVS_APPLIED_FILE);
    await new IpvsSync(dir, 'false', quiet(), daemonMetrics()).sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    // A fresh node: nothing applied, and the failed first apply did not change that.
    expect(backendIps(applied)).toEqual([]);
    expect(backendIps(join(dir, 'vips.json'))).toEqual(['10.0.0.1']);
    await new IpvsSync(dir, 'true', quiet(), daemonMetrics()).sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    expect(backendIps(applied)).toEqual(['10.0.0.1']);
    await new IpvsSync(dir, 'exit 3', quiet(), daemonMetrics()).sync({ apps: [httpi(['10.0.0.2', 31001])] }, (h) => h);
    expect(backendIps(applied)).toEqual(['10.0.0.1']);
    expect(backendIps(join(dir, 'vips.json'))).toEqual(['10.0.0.2']);
    // Without a command, writing ipvs.delta is the apply (for a tool that picks it up).
    await new IpvsSync(dir, undefined, quiet(), daemonMetrics()).sync({ apps: [httpi(['10.0.0.2', 31001])] }, (h) => h);
    expect(backendIps(applied)).toEqual(['10.0.0.2']);
  });

  it('enqueue: the caller does not wait for the apply command, and a failed apply is retried by itself (no new sync needed) until it succeeds', async () => {
    const dir = newDir();
    const flag = join(dir, 'table-ready');
    const log = join(dir, 'applied.log');
    const metrics = daemonMetrics();
    // Fails until the flag exists, then records what it was given; each run takes 300 ms.
    const sync = new IpvsSync(dir, `sleep 0.3; test -f ${flag} && cat >> ${log}`, quiet(), metrics);
    const t0 = Date.now();
    sync.enqueue({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h, 200);
    expect(Date.now() - t0).toBeLessThan(250);
    await until(() => metrics.get('mlb_ipvs_applies_total', { result: 'failed' }) >= 2, 5000);
    expect(sync.lastError).toMatch(/^--ipvs-apply-command exited 1/);
    writeFileSync(flag, '');
    // the command has exited 0 once the apply is counted
    await until(() => metrics.get('mlb_ipvs_applies_total', { result: 'ok' }) === 1, 5000);
    expect(readFileSync(log, 'utf8')).toMatch(/^-A -t 11\.\d+\.\d+\.\d+:3141 -s wlc\n-a .* -r 10\.0\.0\.1:31000 -m -w 1\n$/);
    expect(sync.lastError).toBeUndefined();
    await sync.stop();
  });

  it('enqueue: a document that comes while an older one fails to apply wins; the older one is never retried after it', async () => {
    const dir = newDir();
    const first = join(dir, 'first');
    const log = join(dir, 'applied.log');
    const metrics = daemonMetrics();
    // The first apply fails (after 300 ms); the next ones record what they were given.
    const sync = new IpvsSync(dir, `sleep 0.3; if [ -f ${first} ]; then cat >> ${log}; else touch ${first}; exit 1; fi`, quiet(), metrics);
    sync.enqueue({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h, 200);
    await new Promise((r) => setTimeout(r, 100));
    sync.enqueue({ apps: [httpi(['10.0.0.2', 31000])] }, (h) => h, 200);
    await until(() => metrics.get('mlb_ipvs_applies_total', { result: 'ok' }) === 1, 5000);
    // time for a stray retry of the first document (its backoff is 500 ms)
    await new Promise((r) => setTimeout(r, 1200));
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'ok' })).toBe(1);
    expect(readFileSync(log, 'utf8')).not.toContain('10.0.0.1');
    expect(backendIps(join(dir, IPVS_APPLIED_FILE))).toEqual(['10.0.0.2']);
    await sync.stop();
  });

  it('enqueue after stop: nothing runs', async () => {
    const dir = newDir();
    const log = join(dir, 'applied.log');
    const sync = new IpvsSync(dir, `cat >> ${log}`, quiet(), daemonMetrics());
    await sync.stop();
    sync.enqueue({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h, 200);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(log)).toBe(false);
  });
});

/** Resolves once `check` holds; fails after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
