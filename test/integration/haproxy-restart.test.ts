import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeMarathon } from '../../src/demo/fake-marathon.js';
import { showProc } from '../../src/haproxy/master.js';
import { eventually, haproxyWrapper, isAlive, type RunningDaemon, servedApp, startDaemon } from '../helpers/daemon.js';
import { describeLoad, startLoad } from '../helpers/load.js';
import { freePorts } from '../helpers/ports.js';

/** A fake Marathon with /web (two tasks, web.test) and a daemon serving it, set up and torn down around the describe that calls this. */
function webAndDaemon(): { fake: FakeMarathon; d: RunningDaemon } {
  const ctx = {} as { fake: FakeMarathon; d: RunningDaemon };
  beforeAll(async () => {
    const [webPort] = (await freePorts(1)) as [number];
    ctx.fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' }, { instances: 2 })] });
    await ctx.fake.settled();
    ctx.d = await startDaemon(ctx.fake.url, ['--reload-interval', '0.3', '--debounce-ms', '20']);
    // Set-up: the first start (render, haproxy -c, HAProxy's start) on a busy machine.
    await eventually(async () => (await ctx.d.get('/healthz')).status === 200, 15_000, 'healthy');
  });
  afterAll(async () => {
    const stopped = await ctx.d?.stop();
    await ctx.fake?.close();
    expect(stopped?.haproxyAlive ?? []).toEqual([]);
  });
  return ctx;
}

/** Waits until 5 requests for `host` through the daemon's HAProxy all get an answer from one task. */
function servedBy(d: RunningDaemon, host: string, timeoutMs: number): Promise<true> {
  return eventually(
    async () => {
      const r = await startLoad({ port: d.ports.http, hostHeader: host, concurrency: 1, maxRequests: 5, maxSeconds: 5 }).done;
      return r.failed === 0 && Object.keys(r.byTask).length === 1;
    },
    timeoutMs,
    `${host} served`,
  );
}

/**
 * The supervised HAProxy exits and cannot start again at once: the daemon keeps trying, with
 * backoff, says so in /healthz and its metrics, and serves again as soon as a start succeeds.
 * (It used to try once, then leave every frontend down for good.)
 */
describe('mlb-ts --sse: an HAProxy that exits and does not start again at once', () => {
  const ctx = webAndDaemon();

  it('is started again with backoff until it runs; /healthz is 503 (haproxyRunning false) meanwhile, then traffic flows', async () => {
    const { d, fake } = ctx;
    const installed = readFileSync(d.configPath, 'utf8');
    // What makes the next starts fail: the installed file is one HAProxy cannot load.
    writeFileSync(d.configPath, `${installed}\nfrontend broken\n  no-such-keyword here\n`);
    const old = await showProc(d.masterSocket);
    const mark = d.mark();
    process.kill(old.master.pid, 'SIGKILL');
    const failed = await d.waitForLog((l) => l.msg === 'cannot restart HAProxy; trying again', 15_000, mark);
    expect(failed.retryInMs).toBe(1000);
    await d.waitForLog((l) => l.msg === 'cannot restart HAProxy; trying again' && l.retryInMs === 2000, 15_000, mark);
    const health = await d.get('/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ ok: false, haproxyRunning: false });
    expect((await d.metrics()).value('mlb_haproxy_restart_failures_total')).toBeGreaterThanOrEqual(2);

    writeFileSync(d.configPath, installed);
    const restarted = await d.waitForLog((l) => l.msg === 'HAProxy restarted', 15_000, mark);
    expect(Number(restarted.attempts)).toBeGreaterThanOrEqual(3);
    expect((await showProc(d.masterSocket)).master.pid).not.toBe(old.master.pid);
    await eventually(async () => (await d.get('/healthz')).status === 200, 5000, 'healthy again');
    expect(JSON.parse((await d.get('/healthz')).body)).toMatchObject({ ok: true, haproxyRunning: true });
    const r = await startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 40, maxSeconds: 5 }).done;
    expect(r.failed, describeLoad(r)).toBe(0);
    expect(Object.keys(r.byTask).sort()).toEqual(fake.tasks('/web').map((t) => t.id).sort());
  });

  it('its master CLI socket file deleted: the next reload goes by SIGUSR2 to the master, which makes the socket again; the new app is served', async () => {
    const { d, fake } = ctx;
    const before = await showProc(d.masterSocket);
    rmSync(d.masterSocket);
    const mark = d.mark();
    const [port] = (await freePorts(1)) as [number];
    fake.addApp(servedApp('/late', port, { HAPROXY_0_VHOST: 'late.test' }));
    await d.waitForLog((l) => String(l.msg).includes('unreachable; reloading the master') && String(l.msg).includes('SIGUSR2'), 10_000, mark);
    await d.waitForLog((l) => l.msg === 'HAProxy reloaded', 15_000, mark);
    await servedBy(d, 'late.test', 15_000);
    const after = await showProc(d.masterSocket);
    expect(after.master.pid).toBe(before.master.pid);
    expect(after.master.reloads).toBeGreaterThan(before.master.reloads);
    expect(d.logsMatching((l) => l.msg === 'sync failed; the last good config keeps serving', mark)).toEqual([]);
  });

  it("SIGUSR2 (HAProxy's reload signal, sent to mlb-ts by habit) reloads, and the daemon keeps running", async () => {
    const { d } = ctx;
    const before = await showProc(d.masterSocket);
    const mark = d.mark();
    d.signal('SIGUSR2');
    await d.waitForLog((l) => l.msg === 'reload requested (SIGUSR2 is taken as SIGUSR1)', 5000, mark);
    await d.waitForLog((l) => l.msg === 'reloading HAProxy' && l.reason === 'sigusr1', 10_000, mark);
    expect((await showProc(d.masterSocket)).master.pid).toBe(before.master.pid);
    expect((await d.get('/healthz')).status).toBe(200);
  });
});

describe('mlb-ts --sse: a config that cannot be installed (here: a directory where the file goes)', () => {
  const ctx = webAndDaemon();

  it('the running services still get their server changes (a rolling restart) through the runtime API; the new app follows once the install works', async () => {
    const { d, fake } = ctx;
    const installed = readFileSync(d.configPath, 'utf8');
    rmSync(d.configPath);
    mkdirSync(d.configPath);
    const mark = d.mark();
    // A new app: a change only a reload brings, so an install first, and it fails.
    const [otherPort] = (await freePorts(1)) as [number];
    fake.addApp(servedApp('/other', otherPort, { HAPROXY_0_VHOST: 'other.test' }));
    await d.waitForLog((l) => l.msg === 'sync failed; the last good config keeps serving', 10_000, mark);
    // A rolling restart of /web: each task killed is replaced by a new one.
    const old = new Set(fake.tasks('/web').map((t) => t.id));
    for (const id of old) fake.kill(id);
    await fake.waitFor((fm) => fm.tasks('/web').filter((t) => t.state === 'TASK_RUNNING' && !old.has(t.id)).length === 2, 10_000);
    const fresh = fake.tasks('/web').filter((t) => !old.has(t.id)).map((t) => t.id).sort();
    await eventually(
      async () => {
        const r = await startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 2, maxRequests: 20, maxSeconds: 5 }).done;
        return r.failed === 0 && JSON.stringify(Object.keys(r.byTask).sort()) === JSON.stringify(fresh);
      },
      15_000,
      'web.test served by the new /web tasks only',
    );
    expect(d.logsMatching((l) => l.msg === 'applied through the runtime API (no reload)', mark).length).toBeGreaterThan(0);

    rmSync(d.configPath, { recursive: true });
    writeFileSync(d.configPath, installed);
    await servedBy(d, 'other.test', 20_000);
  });
});

describe('mlb-ts --sse: a `haproxy -c` that hangs', () => {
  it('does not hold up SIGTERM: the validation is stopped, exit 0, HAProxy stopped', async () => {
    const [webPort, port] = (await freePorts(2)) as [number, number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    // HAProxy itself, except that once the file `hang` exists `-c` hangs in a child of the script
    // (as a wrapper's HAProxy would), holding the output open; the file `hanging` gets its pid.
    const { dir, bin } = haproxyWrapper('mlb-hang-', (d) => `case " $* " in *" -c "*) if [ -e ${JSON.stringify(join(d, 'hang'))} ]; then sleep 120 & echo $! > ${JSON.stringify(join(d, 'hanging'))}; wait; exit 1; fi ;; esac\nexec haproxy "$@"\n`);
    const hang = join(dir, 'hang');
    const hanging = join(dir, 'hanging');
    try {
      await fake.settled();
      const d = await startDaemon(fake.url, ['--reload-interval', '0.3', '--debounce-ms', '20', '--haproxy-bin', bin]);
      await eventually(async () => (await d.get('/healthz')).status === 200, 15_000, 'healthy');
      writeFileSync(hang, '');
      fake.addApp(servedApp('/late', port, { HAPROXY_0_VHOST: 'late.test' }));
      await eventually(() => existsSync(hanging), 10_000, 'the validation of the new config under way, hanging');
      const t0 = Date.now();
      const stopped = await d.stop({ timeoutMs: 20_000 });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(stopped.code).toBe(0);
      expect(stopped.haproxyAlive).toEqual([]);
      // The sync the stop cut short is no failure to report.
      expect(d.logsMatching((l) => String(l.msg).startsWith('sync failed'))).toEqual([]);
      // The script's child went with it.
      const child = Number(readFileSync(hanging, 'utf8'));
      await eventually(() => !isAlive(child), 2000, `the wrapper's child ${child} ended`);
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mlb-ts --sse: /healthz while HAProxy starts', () => {
  it('is 503 with haproxyRunning false until HAProxy runs, then 200', async () => {
    const [webPort] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    // HAProxy itself, except that its start (not `-c`) waits for the file `go` (and says so in `starting`).
    const { dir, bin } = haproxyWrapper('mlb-slowstart-', (d) => `case " $* " in *" -c "*) ;; *) touch ${JSON.stringify(join(d, 'starting'))}; while [ ! -e ${JSON.stringify(join(d, 'go'))} ]; do sleep 0.05; done ;; esac\nexec haproxy "$@"\n`);
    const starting = join(dir, 'starting');
    const go = join(dir, 'go');
    let d: RunningDaemon | undefined;
    try {
      await fake.settled();
      d = await startDaemon(fake.url, ['--haproxy-bin', bin], { noWait: true });
      const daemon = d;
      await eventually(() => existsSync(starting), 15_000, 'HAProxy starting (held by the wrapper)');
      // The apps are applied by now (the config is installed before HAProxy starts).
      await eventually(() => existsSync(daemon.configPath), 5000, 'the config installed');
      const early = await eventually(async () => {
        try {
          return await daemon.get('/healthz');
        } catch {
          return undefined; // its HTTP endpoint not listening yet
        }
      }, 10_000, '/healthz answering');
      expect(early.status).toBe(503);
      expect(JSON.parse(early.body)).toMatchObject({ ok: false, haproxyRunning: false });
      writeFileSync(go, '');
      const later = await eventually(async () => {
        const r = await daemon.get('/healthz');
        return r.status === 200 ? r : undefined;
      }, 15_000, '/healthz 200 once HAProxy runs');
      expect(JSON.parse(later.body)).toMatchObject({ ok: true, haproxyRunning: true });
      await servedBy(daemon, 'web.test', 10_000);
    } finally {
      writeFileSync(go, '');
      await d?.stop();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mlb-ts --sse: HAProxy refused by the open-files limit', () => {
  it('exits 1 with a line saying what HAProxy needs, the limit, and the two ways out', async () => {
    const [webPort] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    // HAProxy under a hard open-files limit of 100 (`-c` checks no limit, so it passes).
    const { dir, bin } = haproxyWrapper('mlb-fdlimit-', () => 'ulimit -n 100\nexec haproxy "$@"\n');
    try {
      await fake.settled();
      const d = await startDaemon(fake.url, ['--haproxy-bin', bin], { noWait: true });
      const exit = await Promise.race([d.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
      const output = `${d.logs.map((l) => JSON.stringify(l)).join('\n')}\n${d.stderr()}`;
      await d.stop();
      expect(exit?.code, output).toBe(1);
      expect(output).toMatch(/HAProxy needs \d+ open files and the hard limit is 100: raise it \(systemd LimitNOFILE=, docker run --ulimit nofile=\) or lower --spare-slots/);
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mlb-ts --sse: no HAProxy to run', () => {
  it('exits 1 with one error line that says so, not a Marathon failure or a config it would serve', async () => {
    const [webPort] = (await freePorts(1)) as [number];
    const fake = await FakeMarathon.start({ killGraceSeconds: 0, apps: [servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' })] });
    try {
      await fake.settled();
      const d = await startDaemon(fake.url, ['--haproxy-bin', '/nonexistent/haproxy'], { noWait: true });
      const exit = await Promise.race([d.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
      const errors = d.logs.filter((l) => l.level === 'error' || l.level === 'warn');
      await d.stop();
      expect(exit?.code).toBe(1);
      expect(errors.map((l) => l.msg)).toEqual(['cannot start']);
      expect(String(errors[0]?.err)).toMatch(/^E_HAPROXY_MISSING: cannot run \/nonexistent\/haproxy/);
    } finally {
      await fake.close();
    }
  });
});
