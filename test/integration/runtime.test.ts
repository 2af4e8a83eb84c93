import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeMarathon } from '../../src/demo/fake-marathon.js';
import { showProc } from '../../src/haproxy/master.js';
import { socketCommand } from '../../src/haproxy/socket.js';
import type { Task } from '../../src/marathon/types.js';
import { configServers, eventually, HEALTH_CHECK, isHealthy, isReloadDone, isRunning, type LogLine, type MetricsSnapshot, type RunningDaemon, servedApp, sleep, startDaemon, taskAddress } from '../helpers/daemon.js';
import { type Backend, startBackend, stopAll } from '../helpers/backends.js';
import { app, inState, task, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { servedBy } from '../helpers/http.js';
import { describeLoad, startLoad } from '../helpers/load.js';
import { freePorts } from '../helpers/ports.js';

/**
 * Issue 4: server-only changes (scale, kill, health) go through HAProxy's runtime API into
 * spare server slots — no reload, no new worker, no failed request — while changes of
 * structure, exhausted slots and runtime failures still reload, each with its reason.
 */



const isRuntime = (l: LogLine) => l.msg === 'applied through the runtime API (no reload)';

function serversOf(config: string, backendPrefix: string): string[] {
  return configServers(config)
    .filter((s) => s.backend.startsWith(backendPrefix))
    .map((s) => s.addr)
    .sort();
}

const same = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

describe('runtime API updates (mlb-ts --sse --spare-slots 16 -H)', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon;
  let svcPort: number;
  let slowPort: number;
  let newPort: number;

  const svc = () => fake.tasks('/svc');
  /** The current worker's pid (the master is first); a number, so "the same worker" can't be two undefineds. */
  const worker = async () => {
    const pid = (await d.pids())[1];
    expect(pid).toEqual(expect.any(Number));
    return pid;
  };
  const reloads = (m: MetricsSnapshot) => m.value('mlb_reloads_total');

  /** Marathon settled, the config has exactly `want` servers for `prefix`, nothing applied for a while. */
  async function quiet(prefix: string, want: () => Task[]): Promise<void> {
    await fake.settled(15_000);
    await eventually(async () => same(serversOf(await d.config(), prefix), want().map(taskAddress)), 8000, `${prefix} servers match Marathon`);
    await eventually(
      () => {
        const last = d.logsMatching((l) => isReloadDone(l) || isRuntime(l)).pop();
        return !last || Date.now() - Date.parse(String(last.time)) > 700;
      },
      8000,
      'no apply for 700 ms',
    );
  }

  beforeAll(async () => {
    [svcPort, slowPort, newPort] = (await freePorts(3)) as [number, number, number];
    fake = await FakeMarathon.start({
      killGraceSeconds: 2,
      healthyAfterMs: 100,
      apps: [
        servedApp('/svc', svcPort, { HAPROXY_0_VHOST: 'svc.test' }, { instances: 5, healthChecks: [HEALTH_CHECK] }),
        servedApp('/slow', slowPort, { HAPROXY_0_VHOST: 'slow.test' }, { instances: 6, env: { RESPONSE_DELAY_MS: '1000' }, taskKillGracePeriodSeconds: 3 }),
      ],
    });
    await fake.settled();
    d = await startDaemon(fake.url, ['-H', '--spare-slots', '16', '--reload-interval', '0.5', '--debounce-ms', '20', '--hard-stop-after', '5s']);
    await d.waitForLog((l) => l.msg === 'event stream connected; full resync');
    await quiet('svc_', () => svc().filter(isHealthy));
  });

  afterAll(async () => {
    const stopped = await d?.stop();
    await fake?.close();
    expect(stopped?.haproxyAlive ?? []).toEqual([]);
  });

  it('scale 5 → 20 → 5 and 30 health flips under load: no reload, no failed request, every new task serves', async () => {
    const before = await d.metrics();
    const pid = await worker();
    const original = new Set(svc().map((t) => t.id));
    const load = startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 8, maxRequests: 200_000, maxSeconds: 30 });
    await eventually(() => load.completed() > 200, 5000, 'traffic flowing');

    fake.scale('/svc', 20);
    await fake.waitFor(() => svc().filter(isHealthy).length === 20, 10_000);
    const twenty = svc().map((t) => t.id);
    await eventually(async () => same(serversOf(await d.config(), 'svc_'), svc().map(taskAddress)), 5000, '20 servers in the config');
    await eventually(() => twenty.every((id) => load.answeredBy().has(id)), 5000, 'all 20 tasks answered');

    // 30 flips: 15 tasks go unhealthy, then healthy again.
    const flipped = svc().slice(0, 15);
    for (const t of flipped) {
      fake.setHealth(t.id, false);
      await sleep(60);
      fake.setHealth(t.id, true);
      await sleep(60);
    }
    await eventually(async () => same(serversOf(await d.config(), 'svc_'), svc().filter(isHealthy).map(taskAddress)), 5000, 'all healthy again');

    fake.scale('/svc', 5);
    await quiet('svc_', () => svc().filter(isHealthy));
    await sleep(500);
    const r = await load.stop();
    const after = await d.metrics();
    const newTasks = twenty.filter((id) => !original.has(id));
    console.info(`runtime scale: ${describeLoad(r)}; runtime updates ${after.value('mlb_runtime_updates_total') - before.value('mlb_runtime_updates_total')}, reloads ${reloads(after) - reloads(before)}`);
    expect(newTasks).toHaveLength(15);
    for (const id of newTasks) expect(r.byTask[id] ?? 0, `new task ${id} served`).toBeGreaterThan(0);
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(r.requests).toBeGreaterThan(1000);
    expect(reloads(after)).toBe(reloads(before));
    expect(d.logsMatching((l) => l.msg === 'reloading HAProxy')).toEqual([]);
    expect(await worker()).toBe(pid);
    expect(after.value('mlb_runtime_updates_total')).toBeGreaterThan(before.value('mlb_runtime_updates_total') + 5);
    expect(after.value('mlb_runtime_fallbacks_total')).toBe(0);
  }, 60_000);

  it('scale-down of a slow service under load: killed tasks drain, no request fails', async () => {
    const before = await d.metrics();
    const pid = await worker();
    const load = startLoad({ port: d.ports.http, hostHeader: 'slow.test', concurrency: 12, maxRequests: 1000, maxSeconds: 12 });
    await sleep(2500);
    const busy = load.completed();
    const killed = fake.tasks('/slow').slice(2).map((t) => t.id);
    const mark = d.mark();
    fake.scale('/slow', 2);
    const drained = await d.waitForLog((l) => isRuntime(l) && String(l.change).includes('slow_'), 5000, mark);
    await quiet('slow_', () => fake.tasks('/slow').filter(isRunning));
    const r = await load.stop();
    const after = await d.metrics();
    const servedByKilled = killed.reduce((n, id) => n + (r.byTask[id] ?? 0), 0);
    // Requests a killed task was still answering when the daemon drained it: they completed.
    const drainedAt = Date.parse(String(drained.time));
    const inFlight = r.samples.filter((x) => x.task && killed.includes(x.task) && r.startedAt + x.start < drainedAt && r.startedAt + x.end > drainedAt);
    console.info(`slow scale-down: ${describeLoad(r)}; drained: ${drained.change}; ${servedByKilled} answers from the 4 killed tasks, ${inFlight.length} of them in flight when drained`);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(12);
    expect(servedByKilled).toBeGreaterThan(0);
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(Object.keys(r.statuses)).toEqual(['200']);
    expect(fake.tasks('/slow')).toHaveLength(2);
    expect(reloads(after)).toBe(reloads(before));
    expect(await worker()).toBe(pid);
  }, 40_000);

  it('a structure change (a new app) still reloads, with the reason and the change logged', async () => {
    const before = await d.metrics();
    const pid = await worker();
    const mark = d.mark();
    fake.addApp(servedApp('/fresh', newPort, { HAPROXY_0_VHOST: 'fresh.test' }));
    const start = await d.waitForLog((l) => l.msg === 'reloading HAProxy', 8000, mark);
    const done = await d.waitForLog(isReloadDone, 8000, mark);
    expect(start.reason).toBe('structure_changed');
    expect(String(start.change)).toContain(`backends added: fresh_${newPort}`);
    expect(done).toMatchObject({ reason: 'structure_changed', change: start.change });
    const after = await d.metrics();
    expect(after.value('mlb_reloads_total', { reason: 'structure_changed' })).toBe(before.value('mlb_reloads_total', { reason: 'structure_changed' }) + 1);
    expect(await worker()).not.toBe(pid);
    // Its task then arrives through the runtime API.
    await quiet('fresh_', () => fake.tasks('/fresh').filter(isRunning));
    expect(serversOf(await d.config(), 'fresh_')).toHaveLength(1);
  }, 30_000);

  it('scaling beyond the spare slots reloads exactly once (slots_exhausted); traffic keeps flowing', async () => {
    await quiet('svc_', () => svc().filter(isHealthy));
    const before = await d.metrics();
    const pid = await worker();
    const mark = d.mark();
    const load = startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 8, maxRequests: 100_000, maxSeconds: 20 });
    await eventually(() => load.completed() > 200, 5000, 'traffic flowing');
    fake.scale('/svc', 5 + 17); // 17 new tasks, 16 spare slots
    await fake.waitFor(() => svc().filter(isHealthy).length === 22, 10_000);
    await quiet('svc_', () => svc().filter(isHealthy));
    await sleep(1000);
    const ids = svc().map((t) => t.id);
    await eventually(() => ids.every((id) => load.answeredBy().has(id)), 5000, 'all 22 tasks answered');
    const r = await load.stop();
    const after = await d.metrics();
    const lines = d.logsMatching(isReloadDone, mark);
    console.info(`slots exhausted: ${lines.map((l) => `${l.reason}: ${l.change}`).join('; ')}; ${describeLoad(r)}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.reason).toBe('slots_exhausted');
    expect(String(lines[0]?.change)).toMatch(/no free server slot in svc_\d+/);
    expect(reloads(after) - reloads(before)).toBe(1);
    expect(after.value('mlb_reloads_total', { reason: 'slots_exhausted' }) - before.value('mlb_reloads_total', { reason: 'slots_exhausted' })).toBe(1);
    expect(await worker()).not.toBe(pid);
    expect(r.failed, describeLoad(r)).toBe(0);
    // After the reload, 16 fresh spare slots: scaling back down needs none.
    const mark2 = d.mark();
    fake.scale('/svc', 5);
    await quiet('svc_', () => svc().filter(isHealthy));
    expect(d.logsMatching(isReloadDone, mark2)).toEqual([]);
  }, 60_000);

  it('the admin socket file gone: server changes go through the master CLI, still no reload', async () => {
    await quiet('svc_', () => svc().filter(isHealthy));
    const before = await d.metrics();
    const pid = await worker();
    const aside = `${d.adminSocket}.aside`;
    const mark = d.mark();
    const load = startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 4, maxRequests: 50_000, maxSeconds: 20 });
    renameSync(d.adminSocket, aside);
    try {
      fake.scale('/svc', 6);
      await quiet('svc_', () => svc().filter(isHealthy));
      fake.scale('/svc', 5);
      await quiet('svc_', () => svc().filter(isHealthy));
      const warned = d.logsMatching((l) => l.msg === 'admin socket unreachable; runtime commands go through the master CLI', mark);
      expect(warned).toHaveLength(1);
      expect(String(warned[0]?.err)).toContain('E_RUNTIME_UNREACHABLE');
      expect(d.logsMatching(isRuntime, mark).length).toBeGreaterThanOrEqual(2);
      expect(d.logsMatching(isReloadDone, mark)).toEqual([]);
      expect(await worker()).toBe(pid);
      const after = await d.metrics();
      expect(after.value('mlb_runtime_via_master_total') - before.value('mlb_runtime_via_master_total')).toBeGreaterThanOrEqual(2);
      expect(after.value('mlb_runtime_fallbacks_total')).toBe(before.value('mlb_runtime_fallbacks_total'));
    } finally {
      renameSync(aside, d.adminSocket);
    }
    // Back in place: the next change goes through the admin socket again, and says so.
    const mark2 = d.mark();
    fake.scale('/svc', 6);
    await quiet('svc_', () => svc().filter(isHealthy));
    expect(d.logsMatching((l) => l.msg === 'admin socket reachable again', mark2)).toHaveLength(1);
    fake.scale('/svc', 5);
    await quiet('svc_', () => svc().filter(isHealthy));
    const r = await load.stop();
    console.info(`runtime through the master CLI: ${describeLoad(r)}`);
    expect(r.failed, describeLoad(r)).toBe(0);
  }, 60_000);

  it('a runtime update that fails every way falls back to a reload, counted in mlb_runtime_fallbacks_total', async () => {
    await quiet('svc_', () => svc().filter(isHealthy));
    const before = await d.metrics();
    const sockets = [d.adminSocket, d.masterSocket];
    const mark = d.mark();
    const load = startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 4, maxRequests: 50_000, maxSeconds: 15 });
    // Neither the admin socket nor the master CLI answers: a server-only change can't be sent
    // (and the reload it falls back to is retried until the master CLI is back).
    for (const p of sockets) renameSync(p, `${p}.aside`);
    try {
      fake.scale('/svc', 6);
      const warned = await d.waitForLog((l) => l.msg === 'runtime update failed; falling back to a reload', 8000, mark);
      expect(String(warned.err)).toContain(d.masterSocket);
    } finally {
      for (const p of sockets) renameSync(`${p}.aside`, p);
    }
    const done = await d.waitForLog(isReloadDone, 15_000, mark);
    expect(done.reason).toBe('runtime_failed');
    await quiet('svc_', () => svc().filter(isHealthy));
    const after = await d.metrics();
    expect(after.value('mlb_runtime_fallbacks_total')).toBe(before.value('mlb_runtime_fallbacks_total') + 1);
    expect(after.value('mlb_reloads_total', { reason: 'runtime_failed' })).toBe(before.value('mlb_reloads_total', { reason: 'runtime_failed' }) + 1);
    expect(serversOf(await d.config(), 'svc_')).toHaveLength(6);
    // Both sockets work again: the next server-only change needs no reload.
    const mark2 = d.mark();
    fake.scale('/svc', 5);
    await quiet('svc_', () => svc().filter(isHealthy));
    expect(d.logsMatching(isRuntime, mark2).length).toBeGreaterThan(0);
    expect(d.logsMatching(isReloadDone, mark2)).toEqual([]);
    const r = await load.stop();
    console.info(`runtime fallback: ${describeLoad(r)}`);
    expect(r.failed, describeLoad(r)).toBe(0);
    const proc = await showProc(d.masterSocket);
    expect(proc.master.failedReloads).toBe(0);
  }, 40_000);
});

describe('runtime API updates after HAProxy was restarted (mlb-ts --sse --spare-slots 4)', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon;
  let svcPort: number;

  const svc = () => fake.tasks('/svc');
  const reloads = (m: MetricsSnapshot) => m.value('mlb_reloads_total');
  const svcConfigIs = async (tasks: Task[]) => same(serversOf(await d.config(), 'svc_'), tasks.map(taskAddress));

  beforeAll(async () => {
    [svcPort] = (await freePorts(1)) as [number];
    // A killed task keeps serving (TASK_KILLING) for 20 s: traffic it still gets is visible.
    fake = await FakeMarathon.start({ killGraceSeconds: 20, apps: [servedApp('/svc', svcPort, { HAPROXY_0_VHOST: 'svc.test' }, { instances: 2, taskKillGracePeriodSeconds: 20 })] });
    await fake.settled();
    d = await startDaemon(fake.url, ['--spare-slots', '4', '--reload-interval', '0.5', '--debounce-ms', '20']);
    await d.waitForLog((l) => l.msg === 'event stream connected; full resync');
    // Set-up, not a figure: the first start (render, haproxy -c, HAProxy's start) on a busy machine.
    await eventually(() => svcConfigIs(svc()), 15_000, 'both /svc tasks in the config');
  });

  afterAll(async () => {
    const stopped = await d?.stop();
    await fake?.close();
    expect(stopped?.haproxyAlive ?? []).toEqual([]);
  });

  it('a task added into a spare slot, then the master SIGKILLed and restarted: scaling down drains that task', async () => {
    const before = await d.metrics();
    const original = new Set(svc().map((t) => t.id));
    let mark = d.mark();
    fake.scale('/svc', 3);
    await fake.waitFor(() => svc().filter(isRunning).length === 3, 5000);
    await d.waitForLog((l) => isRuntime(l) && String(l.change).includes('svc_'), 5000, mark);
    await eventually(() => svcConfigIs(svc()), 5000, 'the 3 /svc tasks in the config');
    expect(reloads(await d.metrics())).toBe(reloads(before));
    const added = svc().find((t) => !original.has(t.id)) as Task;
    // The added task serves from spare slot mlb_spare_1; the file on disk names it as a regular server.
    const state = await socketCommand(d.adminSocket, 'show servers state');
    expect(state).toMatch(new RegExp(`\\bmlb_spare_1 127\\.0\\.0\\.1 2 .* ${added.ports?.[0]}\\b`));
    const warm = await startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 3, maxRequests: 60, maxSeconds: 5 }).done;
    expect(warm.byTask[added.id] ?? 0, describeLoad(warm)).toBeGreaterThan(0);

    // The master dies; the daemon starts HAProxy again from the installed file.
    const old = await showProc(d.masterSocket);
    mark = d.mark();
    process.kill(old.master.pid, 'SIGKILL');
    await d.waitForLog((l) => l.msg === 'HAProxy master exited unexpectedly; restarting it', 5000, mark);
    const restarted = await d.waitForLog((l) => l.msg === 'HAProxy restarted', 15_000, mark);
    expect(restarted.reason).toBe('haproxy_restart');
    const proc = await showProc(d.masterSocket);
    expect(proc.master.pid).not.toBe(old.master.pid);
    expect(proc.workers.length).toBeGreaterThan(0);
    expect((await d.metrics()).value('mlb_reloads_total', { reason: 'haproxy_restart' })).toBe(1);

    // Scale back down, removing the added task: it still runs (TASK_KILLING) but gets no new request.
    mark = d.mark();
    fake.kill(added.id, { scale: true });
    await d.waitForLog((l) => (isRuntime(l) || isReloadDone(l)) && String(l.change).includes('svc_'), 8000, mark);
    // TASK_KILLING: in the config as a draining server until it is gone.
    expect(fake.tasks('/svc').find((t) => t.id === added.id)?.state).toBe('TASK_KILLING');
    const r = await startLoad({ port: d.ports.http, hostHeader: 'svc.test', concurrency: 3, maxRequests: 90, maxSeconds: 5 }).done;
    console.info(`after the restart and the scale-down: ${describeLoad(r)}`);
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(r.byTask[added.id], describeLoad(r)).toBeUndefined();
    expect(Object.keys(r.byTask).sort()).toEqual([...original].sort());
    // HAProxy itself: every server at the added task's address is in MAINT or DRAIN (admin state
    // bits 0x01, 0x02, 0x08, 0x10, 0x20, 0x40; 0x04 only says "disabled in the config") or at
    // weight 0 (a draining task, as a reload of the config loads it), or there is none.
    const rows = (await socketCommand(d.adminSocket, 'show servers state'))
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(' '))
      .filter((f) => f[1]?.startsWith('svc_') && f[4] === '127.0.0.1' && f[18] === String(added.ports?.[0]));
    for (const f of rows) expect((Number(f[6]) & 0x7b) !== 0 || Number(f[7]) === 0, f.join(' ')).toBe(true);
  }, 60_000);
});

/**
 * Tasks from a Marathon file (re-read on SIGHUP, no event stream), each a real backend on a
 * port of its own, so a sequence can bring a task back at an address a slot once had.
 */
describe('runtime API updates and reloads keep each server at its weight and address (apps file, SIGHUP, SIGUSR1)', () => {
  let tmp: string;
  let appsFile: string;
  let servicePort: number;
  const backends = new Map<number, Backend>();
  let d: RunningDaemon | undefined;

  /** /web (web.test) with these tasks: `port` or `port:KILLING`. */
  function writeTasks(...tasks: string[]): void {
    const web = app(
      '/web',
      withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: 'web.test' }),
      withPortDefinitions(servicePort),
      withTasks(...tasks.map((t) => task('127.0.0.1', [Number(t.split(':')[0])], inState(t.includes(':') ? `TASK_${t.split(':')[1]}` : 'TASK_RUNNING')))),
    );
    writeFileSync(`${appsFile}.tmp`, JSON.stringify({ apps: [web] }));
    renameSync(`${appsFile}.tmp`, appsFile);
  }

  /** Rewrites the apps file with `tasks` (unless undefined), sends `signal`, and waits for what the daemon did. */
  async function apply(daemon: RunningDaemon, signal: 'SIGHUP' | 'SIGUSR1', want: 'runtime' | 'reload', tasks?: string[]): Promise<void> {
    if (tasks) writeTasks(...tasks);
    const mark = daemon.mark();
    daemon.signal(signal);
    const done = await daemon.waitForLog((l) => isRuntime(l) || isReloadDone(l), 10_000, mark);
    expect(done.msg, JSON.stringify(done)).toBe(want === 'runtime' ? 'applied through the runtime API (no reload)' : 'HAProxy reloaded');
  }

  /** The web backend's servers as `show servers state` shows them. */
  async function webState(daemon: RunningDaemon): Promise<{ name: string; port: number; admin: number; uweight: number }[]> {
    const text = await socketCommand(daemon.adminSocket, 'show servers state');
    const lines = text.split('\n');
    const cols = (lines.find((l) => l.startsWith('# be_id')) as string).replace(/^#\s*/, '').split(/\s+/);
    const col = (f: string[], c: string) => f[cols.indexOf(c)] as string;
    return lines
      .slice(lines.findIndex((l) => l.startsWith('# be_id')) + 1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= cols.length && col(f, 'be_name').startsWith('web_'))
      .map((f) => ({ name: col(f, 'srv_name'), port: Number(col(f, 'srv_port')), admin: Number(col(f, 'srv_admin_state')), uweight: Number(col(f, 'srv_uweight')) }));
  }

  /** Who answers `n` requests for web.test: backend ports, and statuses when no backend did (e.g. 503), sorted. */
  async function answers(daemon: RunningDaemon, n: number): Promise<string[]> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await servedBy({ port: daemon.ports.http, hostHeader: 'web.test' }));
    return [...seen].sort();
  }
  const webServers = (config: string) => configServers(config).filter((s) => s.backend.startsWith('web_'));
  const names = (...ports: number[]) => ports.map(String).sort();
  /**
   * Port and weight of each server neither in maintenance nor in drain (admin state bits 0x01,
   * 0x02, 0x08, 0x10, 0x20, 0x40; a spare slot made ready keeps 0x04, "disabled in the config"), sorted.
   */
  const inService = (state: { port: number; admin: number; uweight: number }[]) =>
    state
      .filter((s) => (s.admin & 0x7b) === 0)
      .map((s) => `${s.port}/${s.uweight}`)
      .sort();

  const port = (i: number) => [...backends.keys()][i] as number;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mlb-ts-slots-'));
    appsFile = join(tmp, 'apps.json');
    const ports = await freePorts(6);
    servicePort = ports.shift() as number;
    for (const p of ports) backends.set(p, await startBackend({ name: String(p), port: p }));
  });

  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });

  afterAll(async () => {
    await stopAll(backends.values());
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const start = async (...tasks: string[]) => {
    writeTasks(...tasks);
    d = await startDaemon(appsFile, ['--spare-slots', '2', '--haproxy-map', '--reload-interval', '0.2', '--debounce-ms', '20']);
    // An answer from its API: past 'mlb-ts running', its signal handlers are in place.
    await d.pids();
    return d;
  };

  it('a slot loaded draining (weight 0) and refilled at runtime, or drained and made ready again, serves at weight 1: no 503', async () => {
    const [p1, p2, p3, p4, p5] = [0, 1, 2, 3, 4].map(port) as [number, number, number, number, number];
    // Loaded while both tasks are TASK_KILLING: `weight 0` on both server lines.
    const daemon = await start(`${p1}:KILLING`, `${p2}:KILLING`);
    expect(webServers(await daemon.config()).map((s) => s.line)).toEqual([expect.stringMatching(/ weight 0$/), expect.stringMatching(/ weight 0$/)]);
    // Both gone, then three new tasks: two spare slots and one of the slots loaded at weight 0.
    await apply(daemon, 'SIGHUP', 'runtime', []);
    await apply(daemon, 'SIGHUP', 'runtime', [String(p3), String(p4), String(p5)]);
    expect(inService(await webState(daemon))).toEqual([`${p3}/1`, `${p4}/1`, `${p5}/1`].sort());
    expect(await answers(daemon, 30)).toEqual(names(p3, p4, p5));

    // ready → drain at runtime: weight 0, as a reload loads a draining task; then loaded that way.
    await apply(daemon, 'SIGHUP', 'runtime', [`${p3}:KILLING`, String(p4), String(p5)]);
    expect(inService(await webState(daemon))).toEqual([`${p3}/0`, `${p4}/1`, `${p5}/1`].sort());
    expect(await answers(daemon, 20)).toEqual(names(p4, p5));
    await apply(daemon, 'SIGUSR1', 'reload');
    expect(webServers(await daemon.config()).find((s) => s.addr === `127.0.0.1:${p3}`)?.line).toMatch(/ weight 0$/);
    expect(inService(await webState(daemon))).toEqual([`${p3}/0`, `${p4}/1`, `${p5}/1`].sort());
    // drain → ready (as blue/green makes the older side ready again): weight 1, it serves.
    await apply(daemon, 'SIGHUP', 'runtime', [String(p3), String(p4), String(p5)]);
    expect(inService(await webState(daemon))).toEqual([`${p3}/1`, `${p4}/1`, `${p5}/1`].sort());
    expect(await answers(daemon, 30)).toEqual(names(p3, p4, p5));
  }, 60_000);

  it('a named slot refilled with another task at runtime: after the reload every server is at its own address, both tasks serve', async () => {
    const [pa, pb, s1, s2] = [port(0), port(1), port(2), port(3)];
    const daemon = await start(String(pa));
    // Both spare slots taken, so that a new task can only have a slot freed by the same update.
    await apply(daemon, 'SIGHUP', 'runtime', [String(pa), String(s1), String(s2)]);
    // pa leaves, pb comes: pb takes pa's slot (the server named after pa), once pa is out.
    await apply(daemon, 'SIGHUP', 'runtime', [String(pb), String(s1), String(s2)]);
    expect((await webState(daemon)).find((s) => s.name.endsWith(`_${pa}`))).toMatchObject({ port: pb, admin: 0, uweight: 1 });
    // pa is back, in s2's slot (s2 leaves); then a reload loads servers named after pa, pb and s1.
    await apply(daemon, 'SIGHUP', 'runtime', [String(pa), String(pb), String(s1)]);
    await apply(daemon, 'SIGUSR1', 'reload');
    const config = webServers(await daemon.config());
    expect(config.map((s) => s.addr).sort()).toEqual([pa, pb, s1].map((p) => `127.0.0.1:${p}`).sort());
    const state = await webState(daemon);
    for (const s of config) expect(state.find((x) => x.name === s.name), s.name).toMatchObject({ port: Number(s.addr.split(':')[1]), admin: 0, uweight: 1 });
    expect(inService(state)).toEqual([`${pa}/1`, `${pb}/1`, `${s1}/1`].sort());
    expect(await answers(daemon, 30)).toEqual(names(pa, pb, s1));
  }, 60_000);
});
