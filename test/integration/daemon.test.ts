import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppInput, FakeMarathon } from '../../src/demo/fake-marathon.js';
import { showProc } from '../../src/haproxy/master.js';
import { fnv1a } from '../../src/model/naming.js';
import type { Task } from '../../src/marathon/types.js';
import { configServers, eventually, haproxyWrapper, HEALTH_CHECK, isAlive, isHealthy, isReloadDone, isRunning, type LogLine, type RunningDaemon, servedApp, sleep, startDaemon, taskAddress, waitGone } from '../helpers/daemon.js';
import { type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { request } from '../helpers/http.js';
import { describeLoad, type LoadResult, startLoad } from '../helpers/load.js';
import { freeAdjacentPorts, freePorts } from '../helpers/ports.js';

/**
 * The daemon as operators run it — `mlb-ts --sse -m <marathon> --group external …`, a child
 * process — against the fake Marathon (tasks are real HTTP servers on loopback) and the real
 * HAProxy it supervises. Everything is observed from outside: traffic, logs, endpoints, files.
 */

const DEFAULT_BACKEND_HEAD = readFileSync('templates/HAPROXY_BACKEND_HEAD.hbs', 'utf8');

/** The families /metrics documents (HELP and TYPE lines) from the start. */
const METRIC_FAMILIES = [
  'mlb_events_total', 'mlb_syncs_total', 'mlb_sync_failures_total', 'mlb_reloads_total', 'mlb_reload_failures_total',
  'mlb_runtime_updates_total', 'mlb_runtime_fallbacks_total', 'mlb_validation_failures_total', 'mlb_apps_dropped_total',
  'mlb_render_seconds', 'mlb_apply_seconds', 'mlb_apps', 'mlb_backends', 'mlb_servers', 'mlb_stream_connected',
  'mlb_last_apply_timestamp_seconds',
];



const isApplied = (l: LogLine) => l.msg === 'HAProxy reloaded' || l.msg === 'applied through the runtime API (no reload)';

/** Addresses of a backend's servers (spare slots left out), sorted. */
function serversOf(config: string, backendPrefix: string): string[] {
  return configServers(config)
    .filter((s) => s.backend.startsWith(backendPrefix))
    .map((s) => s.addr)
    .sort();
}

/** Wall-clock time a sample was sent. */
const sentAt = (r: LoadResult, s: { start: number }) => r.startedAt + s.start;

describe('mlb-ts --sse against a fake Marathon and the HAProxy it supervises', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon;
  let tplDir: string;
  let webPort: number;
  let sidePort: number;
  let spare: number[];

  const web = () => fake.tasks('/web');
  const webConfigHas = async (tasks: Task[]) => JSON.stringify(serversOf(await d.config(), 'web_')) === JSON.stringify(tasks.map(taskAddress).sort());

  /** Marathon settled, the config has its final servers, and nothing was applied for a while. */
  async function quiet(): Promise<void> {
    await fake.settled(10_000);
    await eventually(
      async () => {
        const c = await d.config();
        const same = (prefix: string, tasks: Task[]) => JSON.stringify(serversOf(c, prefix)) === JSON.stringify(tasks.map(taskAddress).sort());
        return same('web_', web().filter(isHealthy)) && same('side_', fake.tasks('/side').filter(isRunning));
      },
      8000,
      'the config matches Marathon',
    );
    await eventually(
      () => {
        const last = d.logsMatching(isApplied).pop();
        return !last || Date.now() - Date.parse(String(last.time)) > 700;
      },
      8000,
      'no apply for 700 ms',
    );
  }

  beforeAll(async () => {
    [webPort, sidePort, ...spare] = (await freePorts(14)) as [number, number, ...number[]];
    tplDir = mkdtempSync(join(tmpdir(), 'mlb-ts-tpl-'));
    fake = await FakeMarathon.start({
      killGraceSeconds: 2,
      keepAliveMs: 500,
      healthyAfterMs: 100,
      apps: [
        servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' }, { instances: 2, healthChecks: [HEALTH_CHECK] }),
        servedApp('/side', sidePort, { HAPROXY_0_VHOST: 'side.test' }),
      ],
    });
    await fake.settled();
    d = await startDaemon(fake.url, ['-H', '--reload-interval', '0.5', '--debounce-ms', '20', '--hard-stop-after', '5s', '--stall-timeout', '2', '--max-backoff', '1', '--templates', tplDir]);
    await d.waitForLog((l) => l.msg === 'event stream connected; full resync');
    await eventually(() => webConfigHas(web()), 5000, 'both /web tasks in the config');
  });

  afterAll(async () => {
    const stopped = await d?.stop();
    await fake?.close();
    if (tplDir) rmSync(tplDir, { recursive: true, force: true });
    expect(stopped?.haproxyAlive ?? []).toEqual([]);
  });

  it('serves its endpoints: /healthz, /metrics, the installed config, the HAProxy pids', async () => {
    const health = await d.get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, streamConnected: true, lastError: null });

    const metrics = await d.metrics();
    for (const f of METRIC_FAMILIES) expect(metrics.text, f).toMatch(new RegExp(`^# HELP ${f} \\S`, 'm'));
    expect(metrics.families()).toEqual(expect.arrayContaining(METRIC_FAMILIES));
    expect(metrics.value('mlb_stream_connected')).toBe(1);
    expect(metrics.value('mlb_apps')).toBe(2);
    expect(metrics.value('mlb_servers')).toBe(3);
    expect(metrics.value('mlb_syncs_total', { trigger: 'stream_connected' })).toBeGreaterThanOrEqual(1);
    expect(metrics.value('mlb_syncs_total', { trigger: 'startup' })).toBe(1);
    // Failures are counted from 0, so the first one shows as an increase.
    expect(metrics.samples.filter((x) => x.name === 'mlb_sync_failures_total')).toEqual([{ name: 'mlb_sync_failures_total', labels: {}, value: 0 }]);

    const config = await d.config();
    expect(config).toBe(d.installed());
    expect(config).toContain(`backend web_${webPort}`);

    const pids = await d.pids();
    const proc = await showProc(d.masterSocket);
    expect(pids).toEqual([proc.master.pid, ...proc.workers.map((w) => w.pid), ...proc.oldWorkers.map((w) => w.pid)]);
    expect(proc.workers).toHaveLength(1);
    expect(pids.every(isAlive)).toBe(true);

    expect((await d.get('/_haproxy_getvhostmap')).status).toBe(200);
    expect((await d.get('/_haproxy_getappmap')).status).toBe(200);
    expect((await d.get('/nope')).status).toBe(404);
  });

  it('scale 2 → 4: traffic through the vhost frontend and the service port reaches all 4 tasks', async () => {
    fake.scale('/web', 4);
    await fake.waitFor(() => web().filter(isHealthy).length === 4, 5000);
    await eventually(() => webConfigHas(web()), 5000, 'the 4 /web tasks in the config');
    const ids = web().map((t) => t.id).sort();
    for (const target of [{ port: d.ports.http, hostHeader: 'web.test' }, { port: webPort }]) {
      const r = await startLoad({ ...target, concurrency: 4, maxRequests: 200, maxSeconds: 10 }).done;
      expect(r.failed, describeLoad(r)).toBe(0);
      expect(Object.keys(r.byTask).sort(), describeLoad(r)).toEqual(ids);
      // Round robin: each of the 4 gets a fair share.
      for (const id of ids) expect(r.byTask[id], describeLoad(r)).toBeGreaterThanOrEqual(25);
    }
  });

  /** Runs a load on web.test, does `act` to `victim` mid-way, and returns the load and when the daemon applied it. */
  async function actUnderLoad(act: () => void, onApplied: () => void = () => undefined): Promise<{ r: LoadResult; actedAt: number; appliedAt: number }> {
    const load = startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 4, maxRequests: 5000, maxSeconds: 8 });
    await eventually(() => load.completed() > 100, 5000, 'traffic flowing');
    const mark = d.mark();
    const actedAt = Date.now();
    act();
    const line = await d.waitForLog((l) => isApplied(l) && String(l.change).includes('web_'), 5000, mark);
    const appliedAt = Date.parse(String(line.time));
    onApplied();
    await sleep(1000);
    const r = await load.stop();
    return { r, actedAt, appliedAt };
  }

  it('a killed task (TASK_KILLING) gets no new request once the daemon applied the change; in-flight ones finish', async () => {
    const victim = web()[0] as Task;
    let stateWhenApplied: string | undefined;
    const { r, actedAt, appliedAt } = await actUnderLoad(
      () => fake.kill(victim.id),
      () => (stateWhenApplied = fake.tasks('/web').find((t) => t.id === victim.id)?.state),
    );
    // Drained while still TASK_KILLING (serving), not only once it was gone.
    expect(stateWhenApplied).toBe('TASK_KILLING');
    const after = r.samples.filter((s) => s.task === victim.id && sentAt(r, s) > appliedAt + 2);
    console.info(`kill: ${describeLoad(r)}; applied ${appliedAt - actedAt} ms after the kill; victim answered ${r.byTask[victim.id]} before`);
    expect(r.byTask[victim.id] ?? 0, 'the victim served before the kill').toBeGreaterThan(0);
    expect(after, 'requests sent to the killing task after the daemon drained it').toEqual([]);
    expect(appliedAt - actedAt).toBeLessThan(2000);
    expect(r.failed, describeLoad(r)).toBe(0);
    // Its replacement comes, the killed one leaves the config.
    await fake.waitFor(() => web().filter(isHealthy).length === 4 && !web().some((t) => t.id === victim.id), 8000);
    await eventually(() => webConfigHas(web()), 5000, 'the replacement in the config');
  });

  it('with -H, a task whose health turns false gets no more traffic', async () => {
    const victim = web()[1] as Task;
    const { r, actedAt, appliedAt } = await actUnderLoad(() => fake.setHealth(victim.id, false));
    const after = r.samples.filter((s) => s.task === victim.id && sentAt(r, s) > appliedAt + 2);
    console.info(`health: ${describeLoad(r)}; applied ${appliedAt - actedAt} ms after the flip`);
    expect(r.byTask[victim.id] ?? 0).toBeGreaterThan(0);
    expect(after).toEqual([]);
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(serversOf(await d.config(), 'web_')).not.toContain(taskAddress(victim));
    // Still running, just unhealthy: a probe of the app never reaches it.
    const probe = await startLoad({ port: webPort, concurrency: 2, maxRequests: 60, maxSeconds: 5 }).done;
    expect(probe.byTask[victim.id]).toBeUndefined();
    expect(Object.keys(probe.byTask)).toHaveLength(3);
    fake.setHealth(victim.id, true);
    await eventually(() => webConfigHas(web()), 5000, 'the task back once healthy');
  });

  it('a rolling restart keeps a server up in HAProxy throughout: the new task comes up before the old one drains', async () => {
    await quiet();
    const mark = d.mark();
    const old = fake.tasks('/side').map((t) => t.id);
    const load = startLoad({ port: d.ports.http, hostHeader: 'side.test', concurrency: 2, maxRequests: 4000, maxSeconds: 8 });
    await eventually(() => load.completed() > 50, 5000, 'traffic flowing');
    fake.updateApp('/side', { env: { GENERATION: '2' } });
    await fake.waitFor(() => fake.tasks('/side').length > 0 && fake.tasks('/side').every((t) => !old.includes(t.id) && t.state === 'TASK_RUNNING'), 8000);
    await eventually(async () => JSON.stringify(serversOf(await d.config(), 'side_')) === JSON.stringify(fake.tasks('/side').map(taskAddress).sort()), 5000, 'the new /side task alone in the config');
    const r = await load.stop();
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(d.logsMatching((l) => isApplied(l) && String(l.change).includes('side_'), mark).length).toBeGreaterThan(0);
    // HAProxy says so when a backend is left without a server, even for an instant between two runtime commands.
    expect(d.logsMatching((l) => String(l.msg).includes('no server available'), mark)).toEqual([]);
  });

  it('20 config changes that each need a reload, under load: zero failed requests, then one worker remains', async () => {
    const before = await d.metrics();
    const fresh = startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 6, maxRequests: 60_000, maxSeconds: 25 });
    const kept = startLoad({ port: webPort, concurrency: 2, maxRequests: 60_000, maxSeconds: 25, keepAlive: true });
    const workers = new Set<number>();
    let extra = 0;
    for (let i = 0; i < 20; i++) {
      const mark = d.mark();
      if (i % 4 === 0) fake.addApp(servedApp(`/extra-${i}`, spare[extra++] as number, { HAPROXY_0_VHOST: `extra-${i}.test` }));
      else if (i % 4 === 2) fake.removeApp(`/extra-${i - 2}`);
      else fake.updateApp('/side', { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: 'side.test', HAPROXY_0_BALANCE: i % 4 === 1 ? 'leastconn' : 'roundrobin' } });
      await d.waitForLog(isReloadDone, 8000, mark);
      for (const p of (await d.pids()).slice(1)) workers.add(p);
    }
    const [a, b] = await Promise.all([fresh.stop(), kept.stop()]);
    const after = await d.metrics();
    const reloads = after.value('mlb_reloads_total') - before.value('mlb_reloads_total');
    console.info(`20 changes: ${reloads} reloads, ${workers.size} worker pids; fresh connections: ${describeLoad(a)}; keep-alive: ${describeLoad(b)}`);
    expect(reloads).toBeGreaterThanOrEqual(20);
    expect(after.value('mlb_reload_failures_total')).toBe(0);
    expect(workers.size).toBeGreaterThanOrEqual(20);
    expect(a.failed, describeLoad(a)).toBe(0);
    expect(b.failed, describeLoad(b)).toBe(0);
    // Not even a reused connection closed under a request (a client that does not retry, like
    // wrk, would count it as an error): the old worker answers, then closes (idle-close-on-response).
    expect(b.staleRetries, describeLoad(b)).toBe(0);
    expect(a.requests).toBeGreaterThan(500);
    expect(b.requests).toBeGreaterThan(500);
    // Old workers finish (--hard-stop-after 5s at the latest): the master and one worker remain.
    const proc = await eventually(
      async () => {
        const p = await showProc(d.masterSocket);
        return p.workers.length === 1 && p.oldWorkers.length === 0 ? p : undefined;
      },
      10_000,
      'only one HAProxy worker left',
      200,
    );
    expect(await d.pids()).toEqual([proc.master.pid, (proc.workers[0] as { pid: number }).pid]);
    expect(await waitGone([...workers].filter((p) => p !== proc.workers[0]?.pid), 1000)).toEqual([]);
  }, 60_000);

  it('a task that crashes under load (TASK_FAILED, no grace period): zero failed requests, HAProxy retries them on the other task', async () => {
    const fresh = startLoad({ port: webPort, concurrency: 4, maxRequests: 60_000, maxSeconds: 20 });
    const kept = startLoad({ port: webPort, concurrency: 2, maxRequests: 60_000, maxSeconds: 20, keepAlive: true });
    const healthy = web().filter(isHealthy).length;
    expect(healthy).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 3; i++) {
      await sleep(700);
      const victim = web().find(isHealthy) as Task;
      fake.fail(victim.id);
      // Marathon relaunches it (after its backoff); the daemon follows: the crashed server leaves, the new one comes.
      await eventually(() => web().filter(isHealthy).length === healthy && webConfigHas(web().filter(isHealthy)), 20_000, 'a relaunched /web task in the config');
    }
    const [a, b] = await Promise.all([fresh.stop(), kept.stop()]);
    console.info(`3 crashes: fresh connections: ${describeLoad(a)}; keep-alive: ${describeLoad(b)}`);
    expect(a.failed, describeLoad(a)).toBe(0);
    expect(b.failed, describeLoad(b)).toBe(0);
    expect(b.staleRetries, describeLoad(b)).toBe(0);
    expect(a.requests + b.requests).toBeGreaterThan(500);
  }, 60_000);

  it('reconnects when the stream drops or Marathon stalls; the last config keeps serving meanwhile', async () => {
    let mark = d.mark();
    expect(fake.dropStreams()).toBeGreaterThan(0);
    await d.waitForLog((l) => l.msg === 'event stream lost; reconnecting', 5000, mark);
    await d.waitForLog((l) => l.msg === 'event stream connected; full resync', 5000, mark);
    expect((await d.metrics()).value('mlb_stream_connected')).toBe(1);
    fake.scale('/side', 2);
    await eventually(async () => serversOf(await d.config(), 'side_').length === 2, 5000, '/side scaled to 2 after the reconnect');

    const load = startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 4, maxRequests: 20_000, maxSeconds: 15 });
    mark = d.mark();
    const stalledAt = Date.now();
    fake.stall(5000);
    const lost = await d.waitForLog((l) => l.msg === 'event stream lost; reconnecting', 5000, mark);
    expect(String(lost.reason)).toContain('stalled');
    expect((await d.metrics()).value('mlb_stream_connected')).toBe(0);
    const health = JSON.parse((await d.get('/healthz')).body) as { ok: boolean; streamConnected: boolean };
    expect(health).toMatchObject({ ok: true, streamConnected: false });
    // A change while Marathon answers nothing: applied after the reconnect's full resync.
    fake.scale('/side', 1);
    const during = load.completed();
    await d.waitForLog((l) => l.msg === 'event stream connected; full resync', 12_000, mark);
    const reconnectedAt = Date.now();
    expect(reconnectedAt - stalledAt).toBeGreaterThanOrEqual(4500);
    expect((await d.metrics()).value('mlb_stream_connected')).toBe(1);
    await eventually(async () => serversOf(await d.config(), 'side_').length === 1, 5000, '/side scaled back to 1 after the stall');
    const r = await load.stop();
    const inStall = r.samples.filter((s) => sentAt(r, s) > stalledAt && sentAt(r, s) < stalledAt + 5000);
    console.info(`stall: reconnected after ${reconnectedAt - stalledAt} ms; ${inStall.length} requests during the stall; ${describeLoad(r)}`);
    expect(during).toBeGreaterThan(0);
    expect(inStall.length).toBeGreaterThan(100);
    expect(inStall.every((s) => s.status === 200)).toBe(true);
    expect(r.failed, describeLoad(r)).toBe(0);
  }, 40_000);

  it('500 events in one second: at most 2 reloads, few fetches, and the final config matches the final state', async () => {
    await quiet();
    const before = await d.metrics();
    const fetches = fake.requestCount('/v2/apps');
    const events = fake.events().length;
    const flipped = web().slice(0, 3);
    const t0 = Date.now();
    fake.scale('/side', 12);
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 50; i++) {
        const t = flipped[(batch * 50 + i) % 3] as Task;
        const alive = fake.tasks('/web').find((x) => x.id === t.id)?.healthCheckResults?.[0]?.alive ?? true;
        fake.setHealth(t.id, !alive);
      }
      await sleep(90);
    }
    const burstMs = Date.now() - t0;
    const published = fake.events().length - events;
    await fake.waitFor(() => fake.tasks('/side').filter(isRunning).length === 12, 5000);
    const wantWeb = web().filter(isHealthy);
    const wantSide = fake.tasks('/side').filter(isRunning);
    expect(wantWeb).toHaveLength(2); // tasks 0 and 1 flipped 167 times: unhealthy
    await eventually(
      async () => {
        const c = await d.config();
        return JSON.stringify(serversOf(c, 'web_')) === JSON.stringify(wantWeb.map(taskAddress).sort()) && JSON.stringify(serversOf(c, 'side_')) === JSON.stringify(wantSide.map(taskAddress).sort());
      },
      8000,
      'the config has the final servers',
    );
    await sleep(1500); // nothing else follows
    const after = await d.metrics();
    const reloads = after.value('mlb_reloads_total') - before.value('mlb_reloads_total');
    const syncs = fake.requestCount('/v2/apps') - fetches;
    console.info(`burst: ${published} events in ${burstMs} ms → ${syncs} fetches, ${reloads} reloads, ${after.value('mlb_runtime_updates_total') - before.value('mlb_runtime_updates_total')} runtime updates`);
    expect(published).toBeGreaterThanOrEqual(500);
    expect(burstMs).toBeLessThan(2000);
    expect(reloads).toBeLessThanOrEqual(2);
    expect(syncs).toBeLessThanOrEqual(50);
    // The running HAProxy (not only the file) has them: every /side task answers.
    const r = await startLoad({ port: sidePort, concurrency: 4, maxRequests: 240, maxSeconds: 10 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(Object.keys(r.byTask).sort()).toEqual(wantSide.map((t) => t.id).sort());
    // Back to a calm state for what follows.
    for (const t of flipped.slice(0, 2)) fake.setHealth(t.id, true);
    fake.scale('/side', 1);
    await fake.settled(8000);
    await eventually(() => webConfigHas(web().filter(isHealthy)), 5000, 'all /web tasks healthy again');
  }, 40_000);

  it('a --templates override HAProxy rejects is not installed (reason logged, old config serves); the fix applies on the next sync', async () => {
    await quiet();
    try {
      await templateOverride();
    } finally {
      // Back to the defaults, whatever happened.
      const mark = d.mark();
      rmSync(join(tplDir, 'HAPROXY_BACKEND_HEAD.hbs'), { force: true });
      d.signal('SIGHUP');
      await d.waitForLog(isReloadDone, 10_000, mark);
    }
    expect(d.installed()).not.toContain('X-Tpl');
  }, 40_000);

  async function templateOverride(): Promise<void> {
    const installed = d.installed();
    const failuresBefore = (await d.metrics()).value('mlb_validation_failures_total');
    let mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HEAD.hbs'), `${DEFAULT_BACKEND_HEAD}  bogus-tpl-directive on\n`);
    d.signal('SIGHUP');
    const err = await d.waitForLog((l) => (l.level === 'error' || l.level === 'warn') && JSON.stringify(l).includes('bogus-tpl-directive'), 10_000, mark);
    console.info(`rejected template logged: ${JSON.stringify(err)}`);
    await sleep(1000);
    expect(d.installed()).toBe(installed);
    expect(await d.config()).toBe(installed);
    expect(d.logsMatching((l) => isReloadDone(l) || l.msg === 'applied through the runtime API (no reload)', mark)).toEqual([]);
    expect((await d.metrics()).value('mlb_validation_failures_total')).toBeGreaterThan(failuresBefore);
    const r = await startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 40, maxSeconds: 5 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(r.statuses[200]).toBe(40);

    mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HEAD.hbs'), `${DEFAULT_BACKEND_HEAD}  http-response set-header X-Tpl fixed\n`);
    expect((await d.get('/_mlb_signal/hup')).status).toBe(200);
    const reload = await d.waitForLog(isReloadDone, 10_000, mark);
    expect(reload.reason).toBe('templates_changed');
    expect(d.installed()).not.toBe(installed);
    expect(d.installed()).toContain('http-response set-header X-Tpl fixed');
    const res = await request({ port: d.ports.http, hostHeader: 'web.test' });
    expect(res.status).toBe(200);
    expect(res.headers['x-tpl']).toBe('fixed');
  }

  it('a per-app label template HAProxy rejects drops only that port (logged with its id and label); the others are installed', async () => {
    await quiet();
    const mark = d.mark();
    const badPort = spare[spare.length - 1] as number;
    const goodPort = spare[spare.length - 2] as number;
    // Two new apps in one sync: one with a broken backend template label, one fine.
    fake.addApp(servedApp('/bad', badPort, { HAPROXY_0_VHOST: 'bad.test', HAPROXY_0_BACKEND_HEAD: '\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  bogus-label-directive on\n' }));
    fake.addApp(servedApp('/good', goodPort, { HAPROXY_0_VHOST: 'good.test' }));
    const dropped = await d.waitForLog((l) => l.level === 'error' && l.app === '/bad', 10_000, mark);
    expect(String(dropped.msg)).toContain('bogus-label-directive');
    expect(dropped.code).toBe('E_HAPROXY_INVALID');
    // Its other verbatim label (HAPROXY_0_BIND_ADDR 127.0.0.1) is not in the line HAProxy cites.
    expect(dropped.label).toBe('HAPROXY_0_BACKEND_HEAD');
    expect(d.logsMatching((l) => l.level === 'error' && l.app !== undefined && l.app !== '/bad', mark)).toEqual([]);
    await fake.settled(5000);
    // The reload says the change it made: /good added, not /bad, which was left out before it.
    const reload = await d.waitForLog((l) => isReloadDone(l) && String(l.change).includes('good_'), 10_000, mark);
    expect(String(reload.change)).not.toContain('bad_');
    const goodTask = fake.tasks('/good')[0] as Task;
    await eventually(async () => serversOf(await d.config(), 'good_').includes(taskAddress(goodTask)), 5000, '/good installed with its task');
    const config = await d.config();
    expect(config).toBe(d.installed());
    expect(config).not.toContain(`bad_${badPort}`);
    expect(config).not.toContain('bogus-label-directive');
    for (const b of [`web_${webPort}`, `side_${sidePort}`, `good_${goodPort}`]) expect(config).toContain(`backend ${b}`);
    expect((await d.metrics()).value('mlb_apps_dropped_total')).toBeGreaterThanOrEqual(1);
    const good = await request({ port: d.ports.http, hostHeader: 'good.test' });
    expect(good.status).toBe(200);
    expect(good.headers['x-task-id']).toBe(goodTask.id);
    const r = await startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 40, maxSeconds: 5 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    const bad = await request({ port: d.ports.http, hostHeader: 'bad.test' });
    expect(bad.status).toBe(503); // no backend for it: HAProxy's default answer
    // Left out from then on: another app's server change goes through the runtime API, and /bad
    // is neither refused nor said again.
    const droppedBefore = (await d.metrics()).value('mlb_apps_dropped_total');
    const afterDrop = d.mark();
    const sideTasks = fake.tasks('/side').length;
    fake.scale('/side', sideTasks + 1);
    const applied = await d.waitForLog((l) => isApplied(l) && String(l.change).includes('side_'), 10_000, afterDrop);
    expect(applied.msg).toBe('applied through the runtime API (no reload)');
    expect(d.logsMatching((l) => l.app === '/bad', afterDrop)).toEqual([]);
    expect((await d.metrics()).value('mlb_apps_dropped_total')).toBe(droppedBefore);
    fake.scale('/side', sideTasks);
    fake.removeApp('/bad');
    fake.removeApp('/good');
  }, 30_000);

  /** Quiet, then a SIGUSR1 reload done: a change needing a reload right after waits for --reload-interval. */
  async function justReloaded(): Promise<void> {
    await quiet();
    const mark = d.mark();
    d.signal('SIGUSR1');
    await d.waitForLog(isReloadDone, 10_000, mark);
  }

  it('a server change in one sync with a new app HAProxy refuses goes through the runtime API, as without that app', async () => {
    await justReloaded();
    // The new app's reload waits for --reload-interval; a task turns unhealthy meanwhile.
    const mark = d.mark();
    const [badPort] = (await freePorts(1)) as [number];
    fake.addApp(servedApp('/late-bad', badPort, { HAPROXY_0_VHOST: 'late-bad.test', HAPROXY_0_BACKEND_HEAD: '\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  bogus-late-directive on\n' }));
    await d.waitForLog((l) => l.msg === 'reload waits for --reload-interval' && String(l.change).includes('late-bad_'), 10_000, mark);
    const victim = web().filter(isHealthy)[0] as Task;
    fake.setHealth(victim.id, false);
    await d.waitForLog((l) => l.level === 'error' && l.app === '/late-bad', 10_000, mark);
    await eventually(async () => !serversOf(await d.config(), 'web_').includes(taskAddress(victim)), 10_000, 'the unhealthy task out of the config');
    expect(d.logsMatching((l) => l.msg === 'HAProxy reloaded' || l.msg === 'reloading HAProxy', mark)).toEqual([]);
    expect(d.logsMatching((l) => l.msg === 'applied through the runtime API (no reload)' && String(l.change).includes('web_'), mark).length).toBeGreaterThanOrEqual(1);
    fake.setHealth(victim.id, true);
    fake.removeApp('/late-bad');
  }, 30_000);

  it('a label warning is said once, when the app is deployed, not again on later syncs', async () => {
    await quiet();
    const mark = d.mark();
    fake.addApp(servedApp('/odd', spare[spare.length - 6] as number, { HAPROXY_0_VHOST: 'odd.test', HAPROXY_0_BALANCE: 'no-such-algorithm' }));
    // Its only port is dropped: no file changes, and the warning is still said.
    const warned = await d.waitForLog((l) => l.level === 'warn' && l.app === '/odd', 10_000, mark);
    expect(warned.code).toBe('E_LABEL_INVALID');
    expect(warned.label).toBe('HAPROXY_0_BALANCE');
    const later = d.mark();
    const sideTasks = fake.tasks('/side').length;
    for (const n of [sideTasks + 1, sideTasks]) {
      const step = d.mark();
      fake.scale('/side', n);
      await d.waitForLog((l) => isApplied(l) && String(l.change).includes('side_'), 10_000, step);
    }
    expect(d.logsMatching((l) => l.app === '/odd', later)).toEqual([]);
    fake.removeApp('/odd');
  }, 30_000);

  it("a running app's label changes HAProxy refuses: the app keeps the labels it runs with (still served), beside a new app that is dropped, through a second refused change, until its labels are fixed", async () => {
    await quiet();
    const [port, brokenPort, port2] = [spare[spare.length - 3] as number, spare[spare.length - 4] as number, spare[spare.length - 5] as number];
    const labels = { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: 'keep.test' };
    const refused = (word: string) => ({ ...labels, HAPROXY_0_BACKEND_HEAD: `\nbackend {{backend}}\n  balance {{balance}}\n  mode {{mode}}\n  ${word} on\n` });
    fake.addApp(servedApp('/keep', port, { HAPROXY_0_VHOST: 'keep.test' }));
    fake.addApp(servedApp('/keep2', port2, { HAPROXY_0_VHOST: 'keep2.test' }));
    await fake.settled(8000);
    await eventually(async () => (await request({ port: d.ports.http, hostHeader: 'keep.test' })).status === 200, 10_000, '/keep served');
    // A new app HAProxy refuses: dropped, and it must not take /keep's kept labels with it.
    let mark = d.mark();
    fake.addApp(servedApp('/broken', brokenPort, refused('bogus-broken-directive')));
    await d.waitForLog((l) => l.level === 'error' && l.app === '/broken', 10_000, mark);
    for (const word of ['bogus-kept-directive', 'bogus-again-directive']) {
      mark = d.mark();
      fake.updateApp('/keep', { labels: refused(word) });
      const kept = await d.waitForLog((l) => l.level === 'error' && l.app === '/keep', 10_000, mark);
      expect(String(kept.msg)).toMatch(new RegExp(`its new labels are refused \\(.*${word}.*\\); the app keeps the labels it runs with until they change`));
      await fake.settled(8000);
      // The new version's task is served under the labels the app ran with, sync after sync.
      const task = fake.tasks('/keep')[0] as Task;
      await eventually(async () => serversOf(await d.config(), 'keep_').includes(taskAddress(task)), 10_000, "/keep's new task installed");
      await sleep(1500);
      expect(d.installed()).not.toMatch(/bogus-(kept|again)-directive/);
      const load = await startLoad({ port: d.ports.http, hostHeader: 'keep.test', concurrency: 2, maxRequests: 40, maxSeconds: 5 }).done;
      expect(load.failed, describeLoad(load)).toBe(0);
      expect(d.logsMatching((l) => String(l.msg).includes('/keep port 0 dropped'), mark)).toEqual([]);
    }
    // A second running app refused while /keep is kept: both keep their labels.
    mark = d.mark();
    fake.updateApp('/keep2', { labels: { ...refused('bogus-second-directive'), HAPROXY_0_VHOST: 'keep2.test' } });
    const second = await d.waitForLog((l) => l.level === 'error' && l.app === '/keep2', 10_000, mark);
    expect(String(second.msg)).toMatch(/its new labels are refused .*; the app keeps the labels it runs with until they change/);
    await fake.settled(8000);
    await sleep(1000);
    for (const host of ['keep.test', 'keep2.test']) expect((await request({ port: d.ports.http, hostHeader: host })).status, host).toBe(200);
    fake.removeApp('/keep2');
    // Removed (with a SIGHUP in the same sync), then created again with refused labels: a new app, dropped.
    fake.removeApp('/keep');
    d.signal('SIGHUP');
    await eventually(async () => !(await d.config()).includes(`backend keep_${port}`), 10_000, '/keep removed');
    mark = d.mark();
    fake.addApp(servedApp('/keep', port, refused('bogus-readded-directive')));
    const dropped = await d.waitForLog((l) => l.level === 'error' && l.app === '/keep', 10_000, mark);
    expect(String(dropped.msg)).toMatch(/^app \/keep port 0 dropped: .*bogus-readded-directive/);
    await fake.settled(8000);
    await sleep(1000);
    expect(await d.config()).not.toContain(`backend keep_${port}`);
    // Fixed: the new labels apply (a second host).
    fake.updateApp('/keep', { labels: { ...labels, HAPROXY_0_VHOST: 'keep.test,kept.test' } });
    await fake.settled(8000);
    await eventually(async () => (await request({ port: d.ports.http, hostHeader: 'kept.test' })).status === 200, 10_000, '/keep served on its new host');
    fake.removeApp('/keep');
    fake.removeApp('/broken');
  }, 90_000);

  it('a SIGUSR1 reload that also brings a change says the change, not only the signal', async () => {
    await justReloaded();
    // A new app's reload waits for --reload-interval; a SIGUSR1 comes meanwhile.
    const mark = d.mark();
    fake.addApp(servedApp('/signalled', spare[spare.length - 7] as number, { HAPROXY_0_VHOST: 'signalled.test' }));
    await d.waitForLog((l) => l.msg === 'reload waits for --reload-interval' && String(l.change).includes('signalled_'), 10_000, mark);
    d.signal('SIGUSR1');
    const reload = await d.waitForLog(isReloadDone, 10_000, mark);
    expect(reload.reason).toBe('sigusr1');
    expect(String(reload.change)).toMatch(/^sigusr1 requested a reload; .*signalled_/);
    fake.removeApp('/signalled');
  }, 30_000);

  it('SIGHUP resyncs, SIGUSR1 and /_mlb_signal/usr1 reload (new worker), SIGTERM exits 0 and stops its HAProxy', async () => {
    await quiet();
    let m = await d.metrics();
    const fetches = fake.requestCount('/v2/apps');
    let mark = d.mark();
    d.signal('SIGHUP');
    await d.waitForLog((l) => l.msg === 'full resync requested', 5000, mark);
    await d.waitForLog((l) => l.msg === 'full resync: nothing to change' && l.level === 'info', 5000, mark);
    await eventually(async () => (await d.metrics()).value('mlb_syncs_total', { trigger: 'sighup' }) > m.value('mlb_syncs_total', { trigger: 'sighup' }), 5000, 'a sighup sync');
    await eventually(() => fake.requestCount('/v2/apps') > fetches, 5000, 'a fetch of the apps');
    await sleep(300);
    expect(d.logsMatching(isReloadDone, mark)).toEqual([]); // nothing changed: no reload

    for (const via of ['SIGUSR1', '/_mlb_signal/usr1'] as const) {
      m = await d.metrics();
      const [master, worker] = await d.pids();
      mark = d.mark();
      if (via === 'SIGUSR1') d.signal('SIGUSR1');
      else expect((await d.get(via)).status).toBe(200);
      const line = await d.waitForLog(isReloadDone, 8000, mark);
      expect(line.reason).toBe('sigusr1');
      const after = await d.metrics();
      expect(after.value('mlb_reloads_total')).toBe(m.value('mlb_reloads_total') + 1);
      expect(after.value('mlb_reloads_total', { reason: 'sigusr1' })).toBe(m.value('mlb_reloads_total', { reason: 'sigusr1' }) + 1);
      const [master2, worker2] = await d.pids();
      expect(master2).toBe(master);
      expect(worker2).not.toBe(worker);
    }

    const pids = await d.pids();
    mark = d.mark();
    d.signal('SIGTERM');
    const exit = await d.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(d.logsMatching((l) => l.msg === 'stopped', mark)).toHaveLength(1);
    expect(await waitGone(pids, 5000)).toEqual([]);
  }, 30_000);
});

describe('mlb-ts --sse --command CMD', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon | undefined;
  let dir: string;
  let ownHaproxy: RunningHaproxy | undefined;
  let ownPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-ts-command-'));
    const [port, own] = (await freePorts(2)) as [number, number];
    ownPort = own;
    fake = await FakeMarathon.start({ killGraceSeconds: 1, apps: [servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })] });
    await fake.settled();
    // The operator's HAProxy: mlb-ts reloads it only through the command, and never stops it.
    const cfg = join(dir, 'own.cfg');
    writeFileSync(cfg, `global\n  log stdout format raw local0 notice\ndefaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\nfrontend own\n  bind 127.0.0.1:${ownPort}\n  http-request return status 200 content-type text/plain string own\n`);
    ownHaproxy = await startHaproxy(cfg, { masterSocket: join(dir, 'master.sock'), ports: [ownPort] });
    const log = join(dir, 'reloads.log');
    d = await startDaemon(fake.url, ['--command', `echo reloaded >> '${log}'`, '--master-socket', join(dir, 'master.sock'), '--reload-interval', '0.5', '--debounce-ms', '20']);
  });

  afterAll(async () => {
    await d?.stop();
    await fake?.close();
    await ownHaproxy?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the command for every reload, and on SIGTERM leaves HAProxy running', async () => {
    const daemon = d as RunningDaemon;
    const log = join(dir, 'reloads.log');
    const reloadsLogged = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    // The first config goes to the already running HAProxy: a reload at start.
    await daemon.waitForLog(isReloadDone, 5000);
    expect(reloadsLogged()).toBe(1);
    expect(daemon.installed()).toContain('backend web_');

    const before = reloadsLogged();
    const mark = daemon.mark();
    const [extra] = (await freePorts(1)) as [number];
    fake.addApp(servedApp('/second', extra, { HAPROXY_0_VHOST: 'second.test' }));
    await daemon.waitForLog(isReloadDone, 8000, mark);
    expect(daemon.installed()).toContain(`backend second_${extra}`);
    await eventually(() => reloadsLogged() === before + daemon.logsMatching(isReloadDone, mark).length, 2000, 'one command run per reload');
    expect(reloadsLogged()).toBeGreaterThan(before);
    const m = await daemon.metrics();
    expect(m.value('mlb_reloads_total')).toBe(reloadsLogged());

    // /_haproxy_getpids shows the operator's HAProxy through the master socket.
    const own = await showProc(join(dir, 'master.sock'));
    expect(await daemon.pids()).toEqual([own.master.pid, ...own.workers.map((w) => w.pid), ...own.oldWorkers.map((w) => w.pid)]);

    const stopped = await daemon.stop({ waitHaproxyMs: 0 });
    d = undefined;
    expect(stopped.code).toBe(0);
    await sleep(300);
    const still = await showProc(join(dir, 'master.sock'));
    expect(still.master.pid).toBe(own.master.pid);
    expect(still.workers.map((w) => w.pid)).toEqual(own.workers.map((w) => w.pid));
    expect(isAlive(own.master.pid)).toBe(true);
    expect((await request({ port: ownPort })).body).toBe('own');
  }, 30_000);
});

describe('mlb-ts --sse -m http://user:password@<a Marathon that redirects to its leader>', () => {
  it('keeps the credentials across the redirect, and no log line or error shows them', async () => {
    const [port, later] = (await freePorts(2)) as [number, number];
    const fake = await FakeMarathon.start({ credentials: 'alice:s3cret', redirect: true, keepAliveMs: 500, apps: [servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })] });
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      const follower = fake.followerUrl as string;
      d = await startDaemon(follower.replace('http://', 'http://alice:s3cret@'), ['--reload-interval', '0.5', '--debounce-ms', '20']);
      const connected = await d.waitForLog((l) => l.msg === 'event stream connected; full resync');
      expect(connected.url).toBe(follower);
      expect(d.installed()).toContain(`backend web_${port}`);
      // an event, then a refetch: both through the follower's redirect
      fake.addApp(servedApp('/later', later, { HAPROXY_0_VHOST: 'later.test' }));
      await eventually(async () => (await d?.config())?.includes(`backend later_${later}`), 8000, '/later in the config');

      // Marathon gone: the failed resync names the URL, without the credentials
      await fake.close();
      const mark = d.mark();
      d.signal('SIGHUP');
      const failed = await d.waitForLog((l) => l.msg === 'sync failed; the last good config keeps serving', 8000, mark);
      expect(failed.err).toMatch(new RegExp(`^E_MARATHON_UNREACHABLE: no Marathon answered \\(${follower}: connect ECONNREFUSED`));
      const health = JSON.parse((await d.get('/healthz')).body) as { lastError: string };
      expect(health.lastError).toContain(follower);
    } finally {
      await fake.close();
      const daemon = d;
      if (daemon) {
        await daemon.stop();
        const everything = `${daemon.logs.map((l) => JSON.stringify(l)).join('\n')}\n${daemon.stderr()}`;
        expect(everything).not.toMatch(/alice|s3cret/);
      }
    }
  }, 40_000);
});

describe('mlb-ts --sse with IP-per-task apps (service ports from --min/max-serv-port-ip-per-task)', () => {
  /** An IP-per-task app (legacy ipAddress discovery: no service port); its tasks listen on their own 127.1.x.y:8080. */
  const ipPerTaskApp = (id: string): AppInput =>
    ({ id, instances: 1, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1' }, ipAddress: { networkName: 'dcos', discovery: { ports: [{ number: 8080, name: 'http', protocol: 'tcp' }] } } }) as AppInput;
  /** The app whose task answered on `port`. */
  const appOn = async (port: number) => JSON.parse((await request({ port })).body).appId as string;

  it('an app keeps its port and backend when an app sorted before it with the same home port is added, and across a restart', async () => {
    // A range of two: /ipt/a1 and /ipt/zeta both hash to its first port; alone, /ipt/zeta has it,
    // and assigned afresh /ipt/a1 (first in app id order) would take it and move /ipt/zeta.
    const [min, max] = (await freeAdjacentPorts(2)) as [number, number];
    expect(fnv1a('/ipt/a1:0') % 2).toBe(0);
    expect(fnv1a('/ipt/zeta:0') % 2).toBe(0);
    const fake = await FakeMarathon.start({ keepAliveMs: 500, apps: [ipPerTaskApp('/ipt/zeta')] });
    let d: RunningDaemon | undefined;
    let dir: string | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, ['--reload-interval', '0.5', '--debounce-ms', '20', '--min-serv-port-ip-per-task', String(min), '--max-serv-port-ip-per-task', String(max)]);
      const daemon = d;
      await eventually(async () => (await daemon.config()).includes(`frontend ipt_zeta_${min}`), 8000, '/ipt/zeta on the first port of the range');
      expect(await appOn(min)).toBe('/ipt/zeta');

      fake.addApp(ipPerTaskApp('/ipt/a1'));
      await fake.settled();
      await eventually(async () => (await daemon.config()).includes('backend ipt_a1_'), 8000, '/ipt/a1 in the config');
      const config = await daemon.config();
      expect(config).toContain(`frontend ipt_zeta_${min}`);
      expect(config).toContain(`backend ipt_zeta_${min}`);
      expect(config).toContain(`frontend ipt_a1_${max}`);
      await eventually(async () => (await appOn(max)) === '/ipt/a1', 5000, '/ipt/a1 served on the second port');
      expect(await appOn(min)).toBe('/ipt/zeta');
      // no model warning (E_NO_SERVICE_PORT, E_PORT_CONFLICT…) on the way
      expect(daemon.logsMatching((l) => l.code !== undefined)).toEqual([]);

      // The assignments are saved beside the config…
      const portsFile = join(daemon.dir, 'service-ports.json');
      await eventually(() => existsSync(portsFile) && readFileSync(portsFile, 'utf8').includes('/ipt/a1#0'), 5000, 'service-ports.json with /ipt/a1');
      expect(JSON.parse(readFileSync(portsFile, 'utf8'))).toEqual({ '/ipt/a1#0': max, '/ipt/zeta#0': min });
      // …so a restarted daemon (same config dir) keeps them: assigned afresh, /ipt/a1 would take the first port.
      dir = daemon.dir;
      const stopped = await daemon.stop({ keepDir: true });
      d = undefined;
      expect(stopped.code).toBe(0);
      d = await startDaemon(fake.url, ['--haproxy-config', join(dir, 'haproxy.cfg'), '--reload-interval', '0.5', '--debounce-ms', '20', '--min-serv-port-ip-per-task', String(min), '--max-serv-port-ip-per-task', String(max)]);
      const restarted = d;
      await eventually(async () => (await restarted.config()).includes('backend ipt_a1_'), 8000, '/ipt/a1 in the restarted config');
      const again = await restarted.config();
      expect(again).toContain(`frontend ipt_zeta_${min}`);
      expect(again).toContain(`frontend ipt_a1_${max}`);
      await eventually(async () => (await appOn(min)) === '/ipt/zeta', 5000, '/ipt/zeta served on the first port after the restart');
      expect(await appOn(max)).toBe('/ipt/a1');
      expect(restarted.logsMatching((l) => l.code !== undefined)).toEqual([]);
    } finally {
      await d?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await fake.close();
    }
  }, 60_000);
});

describe('mlb-ts --sse: the start renders the apps once', () => {
  it('the sync when the event stream connects finds the same document and renders nothing again', async () => {
    const [webPort] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, ['--log-level', 'debug', '--debounce-ms', '20']);
      const daemon = d;
      await daemon.waitForLog((l) => l.msg === 'no change (same apps document)' && String(l.triggers).includes('stream_connected'), 10_000);
      const metrics = await daemon.metrics();
      expect(metrics.value('mlb_syncs_total', { trigger: 'stream_connected' })).toBe(1);
      expect(metrics.value('mlb_render_seconds_count')).toBe(1);
      // A change after that is still applied.
      const mark = daemon.mark();
      fake.addApp(servedApp('/late', (await freePorts(1))[0] as number, { HAPROXY_0_VHOST: 'late.test' }));
      await eventually(async () => (await daemon.config()).includes('late.test'), 10_000, 'the new app in the config');
      expect(daemon.logsMatching((l) => l.level === 'error', mark)).toEqual([]);
    } finally {
      await d?.stop();
      await fake.close();
    }
  });
});

describe('mlb-ts --sse: a runtime update', () => {
  it('rewrites the config without running haproxy -c again (HAProxy has just taken its servers)', async () => {
    const [webPort] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    // HAProxy itself, counting its `-c` runs in the file `checks`.
    const { dir, bin } = haproxyWrapper('mlb-runtime-check-', (d) => `case " $* " in *" -c "*) echo c >> ${JSON.stringify(join(d, 'checks'))} ;; esac\nexec haproxy "$@"\n`);
    const checks = join(dir, 'checks');
    const checkRuns = () => (existsSync(checks) ? readFileSync(checks, 'utf8').split('\n').filter(Boolean).length : 0);
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, ['--haproxy-bin', bin, '--debounce-ms', '20']);
      const daemon = d;
      const before = checkRuns();
      expect(before).toBeGreaterThan(0);
      const mark = daemon.mark();
      fake.scale('/web', 2);
      await daemon.waitForLog((l) => l.msg === 'applied through the runtime API (no reload)', 15_000, mark);
      const tasks = fake.tasks('/web').filter((t) => t.state === 'TASK_RUNNING');
      await eventually(() => tasks.every((t) => daemon.installed().includes(`:${t.ports?.[0]}`)) && tasks.length === 2, 10_000, 'both tasks in the config on disk');
      expect(checkRuns()).toBe(before);
      expect(daemon.logsMatching((l) => l.msg === 'HAProxy reloaded', mark)).toEqual([]);
    } finally {
      await d?.stop();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mlb-ts --sse: a rolling restart right after a reload', () => {
  it('drains and fills through the runtime API while the next reload waits for --reload-interval: zero failed requests', async () => {
    const [webPort, sidePort] = (await freePorts(2)) as [number, number];
    const fake = await FakeMarathon.start({
      apps: [
        // Five tasks, four spare slots: the restart's five new tasks need a reload, which waits its turn.
        servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' }, { instances: 5, taskKillGracePeriodSeconds: 1 }),
        servedApp('/side', sidePort, { HAPROXY_0_VHOST: 'side.test' }),
      ],
    });
    let d: RunningDaemon | undefined;
    try {
      await fake.waitFor((f) => f.tasks('/web').filter((t) => t.state === 'TASK_RUNNING').length === 5, 10_000);
      d = await startDaemon(fake.url, ['--reload-interval', '3', '--debounce-ms', '20']);
      const daemon = d;
      await eventually(async () => (await request({ port: daemon.ports.http, headers: { host: 'web.test' } })).status === 200, 10_000, '/web served');
      const load = startLoad({ port: daemon.ports.http, hostHeader: 'web.test', concurrency: 4, maxRequests: 20_000, maxSeconds: 9 });
      await eventually(() => load.completed() > 50, 5000, 'traffic flowing');
      const mark = daemon.mark();
      // A reload (a new setting on /side), then at once a rolling restart of /web: its old tasks die 1 s after TASK_KILLING.
      fake.updateApp('/side', { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: 'side.test', HAPROXY_0_BALANCE: 'leastconn' } });
      await daemon.waitForLog((l) => l.msg === 'HAProxy reloaded', 10_000, mark);
      const old = fake.tasks('/web').map((t) => t.id);
      fake.updateApp('/web', { env: { GENERATION: '2' } });
      await daemon.waitForLog((l) => l.msg === 'reload waits for --reload-interval', 10_000, mark);
      await fake.waitFor((f) => f.tasks('/web').length === 5 && f.tasks('/web').every((t) => !old.includes(t.id) && t.state === 'TASK_RUNNING'), 15_000);
      const r = await load.stop();
      expect(r.failed, describeLoad(r)).toBe(0);
      expect(daemon.logsMatching((l) => l.msg === 'server changes applied through the runtime API while the reload waits', mark).length).toBeGreaterThan(0);
    } finally {
      await d?.stop();
      await fake.close();
    }
  }, 60_000);
});
