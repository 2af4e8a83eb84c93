import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeMarathon } from '../../src/demo/fake-marathon.js';
import { reloadPendingPath } from '../../src/haproxy/install.js';
import { showProc } from '../../src/haproxy/master.js';
import type { MarathonApp, Task } from '../../src/marathon/types.js';
import { configServers, eventually, isAlive, type LogLine, type RunningDaemon, servedApp, sleep, startDaemon, taskAddress, waitGone } from '../helpers/daemon.js';
import { request } from '../helpers/http.js';
import { describeLoad, startLoad } from '../helpers/load.js';
import { freePorts } from '../helpers/ports.js';

/**
 * A config `haproxy -c` accepts but HAProxy can't load (a port another process holds, an
 * address not on this host, a reload command that fails): the daemon puts the config HAProxy
 * runs back in place, leaves out the apps HAProxy blames (named in the log, with why), keeps
 * serving the others, and their later changes still reach HAProxy.
 */

const webServers = (config: string) =>
  configServers(config)
    .filter((s) => s.backend.startsWith('web_'))
    .map((s) => s.addr)
    .sort();

const listenOn = (port: number): Promise<Server> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => res(s));
  });

const dropped = (app: string) => (l: LogLine) => l.app === app && String(l.msg).startsWith(`app ${app} port 0 dropped:`);
const isRuntimeUpdate = (l: LogLine) => l.msg === 'applied through the runtime API (no reload)';

describe('mlb-ts --sse: a config HAProxy cannot load is not left installed', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon;
  let restarted: RunningDaemon | undefined;
  let blocker: Server;
  let webPort: number;
  let clashPort: number;
  let clashServicePort: number;
  let farPort: number;
  let extraPort: number;
  let pairPorts: [number, number];

  const web = () => fake.tasks('/web');
  const webIn = async (daemon: RunningDaemon, n: number) => {
    const want = web().filter((t) => t.state === 'TASK_RUNNING').map(taskAddress).sort();
    return want.length === n && JSON.stringify(webServers(await daemon.config())) === JSON.stringify(want);
  };

  /** Traffic to web.test reaches every /web task, and nothing fails. */
  async function webServes(daemon: RunningDaemon): Promise<void> {
    const ids = web().map((t) => t.id).sort();
    const r = await startLoad({ port: daemon.ports.http, hostHeader: 'web.test', concurrency: 3, maxRequests: 30 * ids.length, maxSeconds: 10 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(Object.keys(r.byTask).sort(), describeLoad(r)).toEqual(ids);
  }

  beforeAll(async () => {
    let pair0: number;
    let pair1: number;
    [webPort, clashPort, clashServicePort, farPort, extraPort, pair0, pair1] = (await freePorts(7)) as [number, number, number, number, number, number, number];
    pairPorts = [pair0, pair1];
    // Another process holds the port an app will claim.
    blocker = await listenOn(clashPort);
    fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' }, { instances: 2 })] });
    await fake.settled();
    d = await startDaemon(fake.url, ['--reload-interval', '0.3', '--debounce-ms', '20', '--max-reload-retries', '1', '--max-backoff', '1']);
    await eventually(() => webIn(d, 2), 5000, 'both /web tasks in the config');
  });

  afterAll(async () => {
    const a = await d?.stop();
    const b = await restarted?.stop();
    await fake?.close();
    await new Promise((r) => blocker?.close(r));
    expect(a?.haproxyAlive ?? []).toEqual([]);
    expect(b?.haproxyAlive ?? []).toEqual([]);
  });

  it("an app claiming a port another process listens on (HAPROXY_0_PORT): dropped with a warning naming it; the last good config serves; later changes of the others apply", async () => {
    const good = d.installed();
    const before = await d.metrics();
    const mark = d.mark();
    fake.addApp(servedApp('/clash', clashServicePort, { HAPROXY_0_PORT: String(clashPort) }));
    const line = await d.waitForLog(dropped('/clash'), 10_000, mark);
    console.info(`dropped: ${JSON.stringify(line)}`);
    expect(String(line.msg)).toContain(`127.0.0.1:${clashPort}`);
    expect(String(line.msg)).toMatch(/EADDRINUSE|already in use/);
    expect(line.label).toBe('HAPROXY_0_PORT');
    await fake.settled();
    await sleep(500);
    // Nothing HAProxy can't load was installed (or stayed installed): the running config is the file.
    expect(d.installed()).not.toContain(`clash_`);
    expect(d.installed()).toBe(good);
    expect(await d.config()).toBe(good);
    expect(existsSync(reloadPendingPath(d.configPath))).toBe(false);
    await webServes(d);

    // A scale-up of another app reaches HAProxy (through the runtime API: the dropped app needs no reload each time).
    const scaled = d.mark();
    fake.scale('/web', 3);
    await eventually(() => webIn(d, 3), 8000, 'the third /web task in the config');
    await webServes(d);
    expect(d.logsMatching(isRuntimeUpdate, scaled).length).toBeGreaterThan(0);
    expect(d.logsMatching((l) => l.msg === 'reload failed', mark)).toEqual([]);
    const after = await d.metrics();
    expect(after.value('mlb_apps_dropped_total')).toBeGreaterThan(before.value('mlb_apps_dropped_total'));
    expect(d.installed()).toBe(await d.config());
    expect(d.installed()).not.toContain('clash_');
  }, 30_000);

  it('an app HAProxy fails to bind at reload (an address not on this host): the config HAProxy runs is put back, the app named and dropped, the others served and updated', async () => {
    await fake.settled();
    const good = d.installed();
    const before = await d.metrics();
    const [master] = await d.pids();
    const mark = d.mark();
    fake.addApp(servedApp('/far', farPort, { HAPROXY_0_BIND_ADDR: '192.0.2.1' }));
    const line = await d.waitForLog(dropped('/far'), 15_000, mark);
    console.info(`dropped: ${JSON.stringify(line)}`);
    expect(String(line.msg)).toMatch(/cannot bind socket/);
    expect(line.label).toBe('HAPROXY_0_BIND_ADDR');
    expect(String(line.msg)).toContain(`far_${farPort}`);
    expect(d.logsMatching((l) => l.msg === 'reload failed', mark).length).toBeGreaterThan(0);
    expect(d.logsMatching((l) => l.msg === 'reload failed: the config HAProxy runs is installed again', mark).length).toBeGreaterThan(0);
    await sleep(500);
    expect(d.installed()).not.toContain('far_');
    expect(d.installed()).toBe(good);
    expect(await d.config()).toBe(good);
    expect(existsSync(reloadPendingPath(d.configPath))).toBe(false);
    const after = await d.metrics();
    expect(after.value('mlb_reload_failures_total')).toBeGreaterThan(before.value('mlb_reload_failures_total'));
    // Same master; the worker that ran the good config serves on.
    expect((await d.pids())[0]).toBe(master);
    await webServes(d);

    // Other changes still reach HAProxy: a scale-up (runtime API) and a new app (a reload).
    const next = d.mark();
    fake.scale('/web', 4);
    fake.addApp(servedApp('/extra', extraPort, { HAPROXY_0_VHOST: 'extra.test' }));
    await fake.settled();
    await eventually(() => webIn(d, 4), 8000, 'the fourth /web task in the config');
    await eventually(async () => (await d.config()).includes(`backend extra_${extraPort}`), 8000, '/extra in the config');
    await d.waitForLog((l) => l.msg === 'HAProxy reloaded', 8000, next);
    await webServes(d);
    const extra = await request({ port: d.ports.http, hostHeader: 'extra.test' });
    expect(extra.status).toBe(200);
    expect(extra.headers['x-task-id']).toBe((fake.tasks('/extra')[0] as Task).id);
    expect(d.installed()).toBe(await d.config());
    expect(d.installed()).not.toContain('far_');
    expect(d.installed()).not.toContain('clash_');
    // The dropped apps were not tried again meanwhile (their definitions did not change).
    expect(d.logsMatching((l) => l.msg === 'reload failed', next)).toEqual([]);
  }, 40_000);

  it("a second port HAProxy fails to bind at reload is left out alone: the app's first port is installed and serves", async () => {
    await fake.settled();
    const mark = d.mark();
    const [p0, p1] = pairPorts;
    fake.addApp(servedApp('/pair', p0, { HAPROXY_1_BIND_ADDR: '192.0.2.1' }, { portDefinitions: [0, 1].map((i) => ({ port: pairPorts[i], protocol: 'tcp', name: `p${i}`, labels: {} })) }));
    const line = await d.waitForLog((l) => l.app === '/pair' && String(l.msg).startsWith('app /pair port 1 dropped:'), 15_000, mark);
    expect(line.label).toBe('HAPROXY_1_BIND_ADDR');
    expect(String(line.msg)).toContain(`pair_${p1}`);
    await eventually(async () => (await d.config()).includes(`backend pair_${p0}`), 8000, "/pair's port 0 in the config");
    expect(await d.config()).not.toContain(`pair_${p1}`);
    expect(d.logsMatching((l) => l.app === '/pair' && String(l.msg).includes('dropped'), mark)).toHaveLength(1);
    const served = await request({ port: p0 });
    expect(served.status).toBe(200);
    expect(served.headers['x-task-id']).toBe((fake.tasks('/pair')[0] as Task).id);
    expect(d.installed()).toBe(await d.config());
    fake.removeApp('/pair');
    await eventually(async () => !(await d.config()).includes('pair_'), 8000, '/pair gone from the config');
  }, 40_000);

  it('restarted with those apps still in Marathon: HAProxy starts without them (each named), serving the rest', async () => {
    await fake.settled();
    const dir = d.dir;
    const stopped = await d.stop({ keepDir: true });
    expect(stopped.code).toBe(0);
    expect(stopped.haproxyAlive).toEqual([]);
    // The file left behind is one HAProxy starts with.
    expect(existsSync(reloadPendingPath(d.configPath))).toBe(false);
    restarted = await startDaemon(fake.url, ['--haproxy-config', d.configPath, '--reload-interval', '0.3', '--debounce-ms', '20', '--max-reload-retries', '1']);
    try {
      expect(restarted.logsMatching((l) => l.msg === 'HAProxy does not start with the new config; leaving out the app ports it blames').length).toBeGreaterThan(0);
      for (const app of ['/clash', '/far']) expect(restarted.logsMatching(dropped(app)), app).toHaveLength(1);
      await eventually(() => webIn(restarted as RunningDaemon, 4), 5000, 'the /web tasks in the config');
      const config = await restarted.config();
      expect(config).not.toContain('clash_');
      expect(config).not.toContain('far_');
      expect(config).toContain(`backend extra_${extraPort}`);
      await webServes(restarted);
      expect(restarted.logsMatching((l) => l.msg === 'cannot restart HAProxy')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('mlb-ts --sse --command CMD that never succeeds', () => {
  it('/healthz is 503 with the reload error, and the log does not claim a good config serves', async () => {
    const [port] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ apps: [servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })] });
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, ['--command', "echo 'reload boom' >&2; exit 3", '--max-reload-retries', '0', '--max-backoff', '1', '--debounce-ms', '20']);
      const daemon = d;
      const failed = await daemon.waitForLog((l) => String(l.msg).startsWith('sync failed'), 10_000);
      expect(failed.msg).toBe('sync failed; no config known to work serves yet');
      expect(String(failed.err)).toMatch(/E_RELOAD: .*exited 3/);
      const health = await daemon.get('/healthz');
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toMatchObject({ ok: false, lastError: expect.stringMatching(/^E_RELOAD/) });
      expect(daemon.logsMatching((l) => l.msg === 'sync failed; the last good config keeps serving')).toEqual([]);
      // A SIGUSR1 asks for another reload; it fails too, and nothing has loaded the apps yet.
      const mark = daemon.mark();
      daemon.signal('SIGUSR1');
      await daemon.waitForLog((l) => l.msg === 'reload failed', 10_000, mark);
      await sleep(300);
      expect((await daemon.get('/healthz')).status).toBe(503);
    } finally {
      await d?.stop({ waitHaproxyMs: 0 });
      await fake.close();
    }
  }, 30_000);

  it('started again on the files of a run whose reloads worked: the start reload is retried, and /healthz stays 503 while it fails', async () => {
    const [port, http, https, appId, stats, api] = (await freePorts(6)) as [number, number, number, number, number, number];
    const fake = await FakeMarathon.start({ apps: [servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })] });
    const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-restart-command-'));
    // The same files in both runs: the rendered config is the one installed.
    const same = ['--haproxy-config', join(dir, 'haproxy.cfg'), '--http-port', String(http), '--https-port', String(https), '--appid-port', String(appId), '--stats-port', String(stats), '--listen', `127.0.0.1:${api}`, '--max-reload-retries', '0', '--max-backoff', '1', '--debounce-ms', '20'];
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, [...same, '--command', 'true']);
      await d.waitForLog((l) => l.msg === 'HAProxy reloaded', 10_000);
      await d.stop({ waitHaproxyMs: 0, keepDir: true });
      d = await startDaemon(fake.url, [...same, '--command', 'exit 3']);
      const daemon = d;
      await eventually(() => daemon.logsMatching((l) => l.msg === 'reload failed').length >= 2, 15_000, 'the start reload tried again');
      // --listen is ours here, not the helper's.
      expect((await fetch(`http://127.0.0.1:${api}/healthz`)).status).toBe(503);
    } finally {
      await d?.stop({ waitHaproxyMs: 0 });
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 45_000);
});

describe('mlb-ts --sse --command: a reload that fails with no app to blame', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon | undefined;
  let dir: string;
  let masterSocket: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-ts-unlucky-'));
    masterSocket = join(dir, 'master.sock');
    const [port] = (await freePorts(1)) as [number];
    fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })] });
    await fake.settled();
  });

  afterAll(async () => {
    await d?.stop({ waitHaproxyMs: 0 });
    // The command's HAProxy is not the daemon's to stop.
    const proc = await showProc(masterSocket).catch(() => undefined);
    if (proc) {
      process.kill(proc.master.pid, 'SIGTERM');
      expect(await waitGone([proc.master.pid, ...proc.workers.map((w) => w.pid)], 10_000)).toEqual([]);
    }
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the config HAProxy runs is put back, reloads are retried with backoff, and server changes of running services still apply', async () => {
    const cfg = join(dir, 'haproxy.cfg');
    // The operator's reload: starts or reloads a real HAProxy, but fails (saying nothing useful) on any config with an app "unlucky".
    const script = join(dir, 'reload.mjs');
    writeFileSync(
      script,
      [
        `const { reloadAndVerify, runningMaster, showProc } = await import(${JSON.stringify(resolve('dist/haproxy/master.js'))});`,
        `const { spawnSync } = await import('node:child_process');`,
        `const sock = ${JSON.stringify(masterSocket)};`,
        `if (await runningMaster(sock)) await reloadAndVerify(sock);`,
        `else {`,
        `  const r = spawnSync('haproxy', ['-W', '-D', '-S', sock + ',mode,600', '-f', ${JSON.stringify(cfg)}], { stdio: 'inherit' });`,
        `  if (r.status !== 0) process.exit(1);`,
        `  for (let i = 0; i < 200 && !(await showProc(sock).then((p) => p.workers.length > 0, () => false)); i++) await new Promise((w) => setTimeout(w, 50));`,
        `}`,
      ].join('\n'),
    );
    const command = `if grep -q unlucky_ '${cfg}'; then echo 'no luck today'; exit 1; fi; '${process.execPath}' '${script}'`;
    d = await startDaemon(fake.url, ['--haproxy-config', cfg, '--command', command, '--reload-interval', '0.2', '--debounce-ms', '20', '--max-reload-retries', '0', '--max-backoff', '1']);
    const daemon = d;
    await daemon.waitForLog((l) => l.msg === 'HAProxy reloaded', 10_000);
    const master = (await showProc(masterSocket)).master.pid;
    expect(isAlive(master)).toBe(true);
    expect((await request({ port: daemon.ports.http, hostHeader: 'web.test' })).status).toBe(200);
    const good = daemon.installed();

    const [unluckyPort] = (await freePorts(1)) as [number];
    const mark = daemon.mark();
    fake.addApp(servedApp('/unlucky', unluckyPort, {}));
    await daemon.waitForLog((l) => l.msg === 'reload failed: the config HAProxy runs is installed again', 10_000, mark);
    expect(daemon.installed()).toBe(good);
    expect(existsSync(reloadPendingPath(cfg))).toBe(false);
    // A scale-up of /web meanwhile: through the runtime API, though every reload fails.
    fake.scale('/web', 2);
    await fake.settled();
    const tasks = fake.tasks('/web').map(taskAddress).sort();
    await eventually(async () => JSON.stringify(webServers(await daemon.config())) === JSON.stringify(tasks), 10_000, 'both /web tasks in the installed config');
    const ids = fake.tasks('/web').map((t) => t.id).sort();
    const r = await startLoad({ port: daemon.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 60, maxSeconds: 10 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(Object.keys(r.byTask).sort(), describeLoad(r)).toEqual(ids);
    expect(daemon.logsMatching(isRuntimeUpdate, mark).length).toBeGreaterThan(0);
    expect(daemon.installed()).not.toContain('unlucky_');
    // Retried with backoff, each time putting the running config back.
    await eventually(() => daemon.logsMatching((l) => l.msg === 'reload failed', mark).length >= 3, 10_000, 'three reload attempts');
    const failures = daemon.logsMatching((l) => l.msg === 'sync failed; the last good config keeps serving', mark);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(daemon.logsMatching((l) => l.msg === 'reload failed', mark).every((l) => String(l.err).includes('no luck today'))).toBe(true);
    expect(daemon.installed()).not.toContain('unlucky_');
    expect((await showProc(masterSocket)).master.pid).toBe(master);

    // Once the app is gone, all is well again.
    fake.removeApp('/unlucky');
    await eventually(async () => (JSON.parse((await daemon.get('/healthz')).body) as { lastError: unknown }).lastError === null, 10_000, 'no error any more');
    const healed = daemon.mark();
    await sleep(1500);
    expect(daemon.logsMatching((l) => l.msg === 'reload failed', healed)).toEqual([]);
    expect(daemon.installed()).not.toContain('unlucky_');
    expect((await request({ port: daemon.ports.http, hostHeader: 'web.test' })).status).toBe(200);
  }, 60_000);

  it("a new port of a running app that can't be reloaded in does not hold back server changes of its running port", async () => {
    const daemon = d as RunningDaemon;
    await fake.settled();
    const web = fake.app('/web') as MarathonApp;
    const [extraPort] = (await freePorts(1)) as [number];
    const mark = daemon.mark();
    // Port 1's vhost makes an ACL the operator's reload command refuses (host_unlucky_…).
    fake.updateApp('/web', {
      labels: { ...web.labels, HAPROXY_1_VHOST: 'unlucky.test', HAPROXY_1_BIND_ADDR: '127.0.0.1' },
      portDefinitions: [...(web.portDefinitions ?? []), { port: extraPort, protocol: 'tcp', name: 'extra', labels: {} }],
    });
    await daemon.waitForLog((l) => l.msg === 'reload failed: the config HAProxy runs is installed again', 10_000, mark);
    await fake.settled();
    // The update replaced /web's tasks: port 0's servers follow them through the runtime API.
    const tasks = () => fake.tasks('/web').filter((t) => t.state === 'TASK_RUNNING').map(taskAddress).sort();
    await eventually(async () => JSON.stringify(webServers(await daemon.config())) === JSON.stringify(tasks()), 10_000, "the new /web tasks in HAProxy's running config");
    expect(daemon.logsMatching(isRuntimeUpdate, mark).length).toBeGreaterThan(0);
    expect(await daemon.config()).not.toContain('unlucky.test');
    const r = await startLoad({ port: daemon.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 30, maxSeconds: 10 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
  }, 60_000);
});
