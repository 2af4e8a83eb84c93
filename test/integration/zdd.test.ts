import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppInput, FakeMarathon } from '../../src/demo/fake-marathon.js';
import { socketCommand } from '../../src/haproxy/socket.js';
import type { MarathonApp } from '../../src/marathon/types.js';
import { parseStatsCsv } from '../../src/zdd/lb.js';
import { runCli } from '../helpers/cli.js';
import { CLI, eventually, type RunningDaemon, startDaemon } from '../helpers/daemon.js';
import { request } from '../helpers/http.js';
import { describeLoad, type LoadResult, startLoad } from '../helpers/load.js';
import { freePorts } from '../helpers/ports.js';

/**
 * `mlb-ts zdd` against the fake Marathon: a blue/green deploy under load through the daemon
 * and its real HAProxy, a dry run, and deploys left half-way (interrupted, timed out).
 */

const HEALTH = [{ protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 1, maxConsecutiveFailures: 2, gracePeriodSeconds: 5 }];
const MAIN_PORT = 10000;
const ALT_PORT = 10001;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlb-ts-zdd-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The live blue app, as deployed before zdd (no start time, no HAPROXY_APP_ID). */
function blueApp(bindPort: number, labels: Record<string, string> = {}, instances = 3): AppInput {
  return {
    id: '/shop-blue',
    instances,
    cmd: 'shop --version 1',
    env: { VERSION: '1', RESPONSE_DELAY_MS: '20' },
    portDefinitions: [{ port: MAIN_PORT, protocol: 'tcp' }],
    healthChecks: HEALTH,
    taskKillGracePeriodSeconds: 2,
    labels: {
      HAPROXY_GROUP: 'external',
      HAPROXY_DEPLOYMENT_GROUP: 'shop',
      HAPROXY_DEPLOYMENT_COLOUR: 'blue',
      HAPROXY_0_PORT: String(bindPort),
      HAPROXY_0_VHOST: 'shop.example.com',
      HAPROXY_0_BIND_ADDR: '127.0.0.1',
      ...labels,
    },
  };
}

/** What a zdd of a half-done deploy left: green, newer, at 1 of 3. */
function greenApp(bindPort: number, instances = 1): AppInput {
  return {
    id: '/shop-green',
    instances,
    cmd: 'shop --version 2',
    env: { VERSION: '2' },
    portDefinitions: [{ port: ALT_PORT, protocol: 'tcp' }],
    healthChecks: HEALTH,
    taskKillGracePeriodSeconds: 1,
    labels: {
      HAPROXY_GROUP: 'external',
      HAPROXY_DEPLOYMENT_GROUP: 'shop',
      HAPROXY_DEPLOYMENT_ALT_PORT: String(ALT_PORT),
      HAPROXY_DEPLOYMENT_COLOUR: 'green',
      HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-02T00:00:00.000Z',
      HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3',
      HAPROXY_DEPLOYMENT_NEW_INSTANCES: '0',
      HAPROXY_APP_ID: '/shop',
      HAPROXY_0_PORT: String(bindPort),
      HAPROXY_0_VHOST: 'shop.example.com',
      HAPROXY_0_BIND_ADDR: '127.0.0.1',
    },
  };
}

/** The new version as an operator writes it: base id, alt port, no colour, no bind port. */
function writeDefinition(name: string, grace = 2): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      id: '/shop',
      instances: 3,
      cmd: 'shop --version 2',
      env: { VERSION: '2', RESPONSE_DELAY_MS: '20' },
      portDefinitions: [{ port: MAIN_PORT, protocol: 'tcp' }],
      healthChecks: HEALTH,
      taskKillGracePeriodSeconds: grace,
      labels: {
        HAPROXY_GROUP: 'external',
        HAPROXY_DEPLOYMENT_GROUP: 'shop',
        HAPROXY_DEPLOYMENT_ALT_PORT: String(ALT_PORT),
        HAPROXY_0_VHOST: 'shop.example.com',
        HAPROXY_0_BIND_ADDR: '127.0.0.1',
      },
    }),
  );
  return path;
}

function healthyTasks(app: MarathonApp | undefined): number {
  return (app?.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING' && (t.healthCheckResults ?? []).length > 0 && t.healthCheckResults?.every((r) => r.alive)).length;
}

function allHealthy(fm: FakeMarathon, id: string, n: number): boolean {
  const a = fm.app(id);
  return a?.instances === n && (a.tasks ?? []).length === n && healthyTasks(a) === n;
}

/** Write requests the fake got (POST/PUT/DELETE), by `METHOD /path`. */
function writes(fm: FakeMarathon): Record<string, number> {
  return Object.fromEntries(Object.entries(fm.requestCounts()).filter(([k]) => !k.startsWith('GET ')));
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  endedAt: number;
}

interface ZddChild {
  readonly done: Promise<ChildRun>;
  stderr(): string;
  signal(sig: NodeJS.Signals): void;
}

/** `mlb-ts zdd …` as an operator runs it, killed after `timeoutMs` at the latest. */
function startZddChild(args: string[], timeoutMs: number): ZddChild {
  const child = spawn(process.execPath, [CLI, 'zdd', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ChildRun>((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, endedAt: Date.now() });
    });
  });
  return { done, stderr: () => stderr, signal: (sig) => child.kill(sig) };
}

function taskCounts(r: LoadResult, prefix: string): number {
  return Object.entries(r.byTask)
    .filter(([t]) => t.startsWith(prefix))
    .reduce((n, [, c]) => n + c, 0);
}

describe('mlb-ts zdd: a deploy under load', () => {
  let fake: FakeMarathon | undefined;
  let daemon: RunningDaemon | undefined;

  afterAll(async () => {
    await daemon?.stop();
    await fake?.close();
  });

  it('moves the traffic from blue to green with zero failed requests', async () => {
    const [bindPort] = (await freePorts(1)) as [number];
    fake = await FakeMarathon.start({ apps: [blueApp(bindPort)] });
    await fake.waitFor((fm) => allHealthy(fm, '/shop-blue', 3), 10_000);
    daemon = await startDaemon(fake.url, ['--reload-interval', '0.5', '--spare-slots', '8', '--hard-stop-after', '10s']);
    const d = daemon;
    await eventually(async () => (await request({ port: d.ports.http, hostHeader: 'shop.example.com' })).headers['x-task-id']?.toString().startsWith('shop-blue.'), 15_000, 'HAProxy routes shop.example.com to blue');
    await eventually(async () => (await request({ port: bindPort })).status === 200, 15_000, `HAProxy serves the shop on ${bindPort}`);

    const bounds = { maxRequests: 200_000, maxSeconds: 45, pauseMs: 2 };
    const viaVhost = startLoad({ port: d.ports.http, hostHeader: 'shop.example.com', concurrency: 3, ...bounds });
    const viaPort = startLoad({ port: bindPort, concurrency: 3, keepAlive: true, ...bounds });
    const json = writeDefinition('shop-v2.json');
    const zdd = await startZddChild(['-m', fake.url, '--json', json, '--haproxy-socket', d.adminSocket, '--step', '1', '--step-delay', '1', '--poll-interval', '0.2', '--max-wait', '40'], 60_000).done;
    // A little traffic after the last step, so the end state is under load too.
    await new Promise((r) => setTimeout(r, 1000));
    const [vhost, port] = await Promise.all([viaVhost.stop(), viaPort.stop()]);

    const reloads = d.logsMatching((l) => l.msg === 'HAProxy reloaded').map((l) => `${l.reason}: ${l.change}`);
    const runtimeUpdates = d.logsMatching((l) => l.msg === 'applied through the runtime API (no reload)').length;
    const report = `zdd exit ${zdd.code}\n--- zdd stderr\n${zdd.stderr}--- zdd stdout\n${zdd.stdout}--- vhost load: ${describeLoad(vhost)}\n--- port load: ${describeLoad(port)}`;
    console.log(
      `zdd under load: vhost ${vhost.requests} requests (${vhost.failed} failed; blue ${taskCounts(vhost, 'shop-blue.')}, green ${taskCounts(vhost, 'shop-green.')}), ` +
        `service port ${port.requests} requests (${port.failed} failed, ${port.staleRetries} stale keep-alive retries; blue ${taskCounts(port, 'shop-blue.')}, green ${taskCounts(port, 'shop-green.')}); ` +
        `daemon: ${runtimeUpdates} runtime-API updates, ${reloads.length} reloads ${JSON.stringify(reloads)}\n${zdd.stderr}${zdd.stdout}`,
    );
    expect(zdd.code, report).toBe(0);
    // The load covered the whole deploy: it was still running when zdd ended.
    expect(vhost.startedAt + vhost.durationMs, report).toBeGreaterThan(zdd.endedAt);
    expect(vhost.failed + port.failed, report).toBe(0);
    expect(taskCounts(vhost, 'shop-blue.') + taskCounts(port, 'shop-blue.'), report).toBeGreaterThan(0);
    expect(taskCounts(vhost, 'shop-green.') + taskCounts(port, 'shop-green.'), report).toBeGreaterThan(0);

    // Each blue task was killed once HAProxy showed no sessions on its server (found in the stats
    // by address); zdd drained the first two itself — the last one the daemon drained, as green was complete.
    const kills = zdd.stderr.split('\n').filter((l) => / killed shop-blue\./.test(l));
    expect(kills, report).toHaveLength(3);
    for (const k of kills) expect(k, report).toMatch(/: (drained shop-blue_\d+\/\S+; )?0 sessions on shop-blue_\d+\/\S+ after \d+ ms/);
    expect(kills.slice(0, 2).filter((k) => k.includes(': drained shop-blue_')), report).toHaveLength(2);
    expect(zdd.stderr, report).toMatch(/deleted \/shop-blue/);
    expect(zdd.stdout, report).toMatch(/^mlb-ts zdd: done: \/shop-green serves deployment group shop with 3 healthy tasks; deleted \/shop-blue; 3 tasks drained and killed; 2 scale steps;/);

    expect(fake.apps().map((a) => a.id)).toEqual(['/shop-green']);
    expect(allHealthy(fake, '/shop-green', 3)).toBe(true);
    const green = fake.app('/shop-green');
    expect(green?.labels).toMatchObject({ HAPROXY_0_PORT: String(bindPort), HAPROXY_APP_ID: '/shop', HAPROXY_DEPLOYMENT_COLOUR: 'green', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '3' });
    expect(green?.portDefinitions?.[0]?.port).toBe(ALT_PORT);

    // Now only green answers, on both ways in.
    const greenIds = new Set((green?.tasks ?? []).map((t) => t.id));
    const after = await Promise.all(
      Array.from({ length: 24 }, (_, i) => request(i % 2 ? { port: d.ports.http, hostHeader: 'shop.example.com' } : { port: bindPort })),
    );
    expect(after.map((r) => r.status)).toEqual(after.map(() => 200));
    expect(after.filter((r) => !greenIds.has(String(r.headers['x-task-id'])))).toEqual([]);
    expect(new Set(after.map((r) => r.headers['x-task-id'])).size).toBe(3);
  }, 150_000);
});

describe('mlb-ts zdd: stopped while draining', () => {
  let fake: FakeMarathon | undefined;
  let daemon: RunningDaemon | undefined;

  afterAll(async () => {
    await daemon?.stop();
    await fake?.close();
  });

  it('SIGINT puts the drained server back into rotation and says how to go on', async () => {
    const [bindPort] = (await freePorts(1)) as [number];
    // A deploy left at green 1 of 3, so the daemon serves both before zdd starts: nothing
    // structural changes during the run (a reload would move the sessions to an old worker).
    fake = await FakeMarathon.start({ apps: [blueApp(bindPort, { HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-01T00:00:00.000Z' }), greenApp(bindPort)] });
    await fake.waitFor((fm) => allHealthy(fm, '/shop-blue', 3) && allHealthy(fm, '/shop-green', 1), 10_000);
    daemon = await startDaemon(fake.url, ['--reload-interval', '0.5', '--spare-slots', '8']);
    const d = daemon;
    await eventually(async () => (await request({ port: bindPort })).status === 200, 15_000, `HAProxy serves the shop on ${bindPort}`);
    const rows = async () => parseStatsCsv(await socketCommand(d.adminSocket, 'show stat'), d.adminSocket).filter((r) => r.proxy.endsWith(`_${bindPort}`) && r.status !== 'MAINT');
    await eventually(async () => (await rows()).length === 4 && (await rows()).every((r) => r.status === 'UP'), 15_000, 'three blue and one green server UP');

    // Requests to blue that take 8 s: sessions a drain must wait for.
    fake.setResponseDelay('/shop-blue', 8000);
    const slow = Promise.all(Array.from({ length: 8 }, () => request({ port: bindPort, timeoutMs: 20_000 })));
    const blueAddrs = new Set((fake.app('/shop-blue')?.tasks ?? []).map((t) => `${t.host}:${t.ports?.[0]}`));
    await eventually(async () => (await rows()).filter((r) => blueAddrs.has(r.addr ?? '')).every((r) => r.scur > 0), 5000, 'every blue server has a session');

    const zdd = startZddChild(['-m', fake.url, '--json', writeDefinition('stopped.json'), '--resume', '--haproxy-socket', d.adminSocket, '--step-delay', '0', '--poll-interval', '0.1', '--max-wait', '60'], 60_000);
    const waiting = await eventually(() => /waiting for \d+ sessions? on (shop-blue_\d+\/\S+) to end/.exec(zdd.stderr()) ?? undefined, 15_000, 'zdd waits for the sessions of a drained server');
    const server = waiting[1] as string;
    const statusOf = async () => (await rows()).find((r) => `${r.proxy}/${r.server}` === server)?.status;
    expect(await statusOf(), zdd.stderr()).toBe('DRAIN');
    zdd.signal('SIGINT');
    const run = await zdd.done;

    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`put ${server} back into rotation on ${d.adminSocket} (its task was not killed)`);
    expect(run.stderr).toMatch(/mlb-ts: E_ZDD: interrupted; the deploy is left half-way with \/shop-blue and \/shop-green both in Marathon: run again with --resume/);
    expect(await statusOf()).toBe('UP');
    expect([fake.app('/shop-blue')?.instances, fake.app('/shop-green')?.instances]).toEqual([3, 1]);
    // The drain cut nothing: the slow requests all finished.
    expect((await slow).map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 200));
  }, 90_000);

  it("--pre-kill-hook runs once the step's task is drained (zdd.py's order); a failing hook puts it back into rotation", async () => {
    const d = daemon as RunningDaemon;
    const f = fake as FakeMarathon;
    f.setResponseDelay('/shop-blue', 0);
    const bindPort = Number(f.app('/shop-blue')?.labels?.HAPROXY_0_PORT);
    // The hook records the load balancer's view of its tasks, then refuses.
    const seen = join(dir, 'hook-stat.csv');
    const hook = join(dir, 'stat-hook.mjs');
    writeFileSync(
      hook,
      `#!${process.execPath}\nimport { createConnection } from 'node:net';\nimport { writeFileSync } from 'node:fs';\n` +
        `let out = '';\nconst c = createConnection(${JSON.stringify(d.adminSocket)}, () => c.end('show stat\\n'));\n` +
        `c.on('data', (b) => (out += b));\nc.on('close', () => { writeFileSync(${JSON.stringify(seen)}, out); process.exit(3); });\n`,
      { mode: 0o755 },
    );
    const run = await startZddChild(['-m', f.url, '--json', writeDefinition('hooked.json'), '--resume', '--haproxy-socket', d.adminSocket, '--pre-kill-hook', hook, '--step-delay', '0', '--poll-interval', '0.1', '--max-wait', '30'], 60_000).done;
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/mlb-ts: E_ZDD: --pre-kill-hook \S+ exited with status 3; nothing was killed/);
    const drained = /put (shop-blue_\d+\/\S+) back into rotation/.exec(run.stderr)?.[1];
    expect(drained, run.stderr).toBeDefined();
    const atHook = parseStatsCsv(readFileSync(seen, 'utf8'), 'hook').find((r) => `${r.proxy}/${r.server}` === drained);
    expect(atHook?.status, run.stderr).toBe('DRAIN');
    expect(atHook?.scur).toBe(0);
    const now = parseStatsCsv(await socketCommand(d.adminSocket, 'show stat'), d.adminSocket).find((r) => `${r.proxy}/${r.server}` === drained);
    expect(now?.status).toBe('UP');
    expect(now?.proxy.endsWith(`_${bindPort}`)).toBe(true);
    expect([f.app('/shop-blue')?.instances, f.app('/shop-green')?.instances]).toEqual([3, 1]);
  }, 90_000);
});

describe('mlb-ts zdd: plans and half-done deploys', () => {
  let fake: FakeMarathon | undefined;
  let bindPort: number;

  beforeAll(async () => {
    [bindPort] = (await freePorts(1)) as [number];
  });

  afterAll(async () => {
    await fake?.close();
  });

  async function fakeWith(apps: AppInput[]): Promise<FakeMarathon> {
    await fake?.close();
    fake = await FakeMarathon.start({ apps });
    return fake;
  }

  const fast = ['--poll-interval', '0.1', '--step-delay', '0', '--max-wait', '30'];

  it('--dry-run prints the plan and changes nothing', async () => {
    const fm = await fakeWith([blueApp(bindPort)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 3), 10_000);
    fm.resetRequestCounts();
    const before = JSON.stringify(fm.apps().map((a) => [a.id, a.instances, a.version, (a.tasks ?? []).map((t) => t.id)]));
    const run = await runCli(['zdd', '-m', fm.url, '--json', writeDefinition('dry.json'), '--dry-run', '--step-delay', '3', '--lb-stats-url', 'http://127.0.0.1:9/haproxy?stats;csv']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'deployment group shop: /shop-blue (blue) is live with 3 instances; deploying /shop-green (green)',
      `create /shop-green (green) with 1 instance (target 3); service port ${ALT_PORT} (HAPROXY_DEPLOYMENT_ALT_PORT); HAPROXY_0_PORT ${bindPort} as /shop-blue binds; HAPROXY_APP_ID /shop`,
      "shift traffic in steps growing by half (zdd.py's way; --step sets a fixed size), 3 s apart once each step is healthy: /shop-green 1 → 3; /shop-blue 3 → 2 → 0",
      'kill each /shop-blue task (DELETE …/tasks/{id}?scale=true) once the load balancer shows no sessions on it (at most --max-wait, 300 s)',
      'delete /shop-blue once it has no tasks left',
    ]);
    const posted = JSON.parse(lines.slice(lines.indexOf('app definition to post:') + 1).join('\n')) as MarathonApp;
    expect(posted).toMatchObject({ id: '/shop-green', instances: 1, portDefinitions: [{ port: ALT_PORT }], labels: { HAPROXY_0_PORT: String(bindPort), HAPROXY_DEPLOYMENT_COLOUR: 'green' } });
    expect(writes(fm)).toEqual({});
    expect(JSON.stringify(fm.apps().map((a) => [a.id, a.instances, a.version, (a.tasks ?? []).map((t) => t.id)]))).toBe(before);
  });

  it('two apps in the group: a clear error and no change without a choice; --complete-cur keeps the newer', async () => {
    const fm = await fakeWith([blueApp(bindPort, { HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-01T00:00:00.000Z' }, 2), greenApp(bindPort)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 2) && allHealthy(f, '/shop-green', 1), 10_000);
    fm.resetRequestCounts();
    const json = writeDefinition('v3.json', 1);

    const refused = await runCli(['zdd', '-m', fm.url, '--json', json, ...fast]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'mlb-ts: E_ZDD: deployment group shop has two apps, /shop-blue (started 2026-02-01T00:00:00.000Z) and /shop-green (started 2026-02-02T00:00:00.000Z): ' +
        'a previous deploy was interrupted. Run again with --resume to continue it, --complete-cur to finish it now keeping /shop-green, or --complete-prev to roll back to /shop-blue\n',
    );
    expect(writes(fm)).toEqual({});

    const both = await runCli(['zdd', '-m', fm.url, '--json', json, '--resume', '--complete-cur']);
    expect([both.code, both.stderr.split('\n')[0]]).toEqual([2, 'mlb-ts: E_USAGE: --resume and --complete-cur exclude each other']);

    const done = await runCli(['zdd', '-m', fm.url, '--json', json, '--complete-cur', ...fast]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/--complete-cur: moving traffic from \/shop-blue to \/shop-green \(target 3\)/);
    expect(done.stderr).toMatch(/scaled \/shop-green to 3/);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-green']);
    expect(allHealthy(fm, '/shop-green', 3)).toBe(true);
    expect(writes(fm)).toMatchObject({ 'PUT /v2/apps/shop-green': 1, 'DELETE /v2/apps/shop-blue': 1 });
    expect(writes(fm)['POST /v2/apps']).toBeUndefined();
  }, 60_000);

  it('--complete-prev rolls back to the older app', async () => {
    const fm = await fakeWith([blueApp(bindPort, { HAPROXY_DEPLOYMENT_STARTED_AT: '2026-02-01T00:00:00.000Z' }, 2), greenApp(bindPort, 2)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 2) && allHealthy(f, '/shop-green', 2), 10_000);
    const run = await runCli(['zdd', '-m', fm.url, '--json', writeDefinition('v3.json', 1), '--complete-prev', ...fast]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/killed shop-green\./g)).toHaveLength(2);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-blue']);
    expect(allHealthy(fm, '/shop-blue', 3)).toBe(true);
  }, 60_000);

  it.each<[string, (method: string, path: string) => boolean, boolean]>([
    ['every kill of an old task', (method, path) => method === 'DELETE' && path.startsWith('/v2/apps/shop-blue/tasks/'), true],
    ['every scale of the new app', (method, path) => method === 'PUT' && path.startsWith('/v2/apps/shop-green'), false],
  ])('Marathon answering 409 (a deployment holds the app) to %s: retried each poll, then --max-wait ends it with exit 1', async (_, refuse, noKill) => {
    const fm = await fakeWith([blueApp(bindPort, {}, 2)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 2), 10_000);
    const proxy = await refusingProxy(fm.url, refuse);
    try {
      const t0 = Date.now();
      const run = await runCli(['zdd', '-m', proxy.url, '--json', writeDefinition('v409.json', 1), '--poll-interval', '0.1', '--step-delay', '0', '--max-wait', '2']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/is locked by a Marathon deployment; trying again/);
      expect(run.stderr).toMatch(/mlb-ts: E_ZDD: timed out: waited more than --max-wait 2 s \(last: \/shop-(blue|green) is locked by a Marathon deployment; trying again\)/);
      if (noKill) expect(run.stderr).not.toMatch(/killed shop-blue/);
      expect(Date.now() - t0).toBeLessThan(20_000);
      // About one try per poll (0.1 s) for 2 s, not a loop as fast as Marathon answers.
      expect(proxy.refused()).toBeGreaterThan(3);
      expect(proxy.refused()).toBeLessThan(60);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('a wait past --max-wait exits 1 saying how to go on; --resume then finishes it', async () => {
    const fm = await fakeWith([blueApp(bindPort, {}, 2)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 2), 10_000);
    const json = writeDefinition('v2.json', 1);

    const cut = await runCli(['zdd', '-m', fm.url, '--json', json, '--poll-interval', '0.1', '--step-delay', '5', '--max-wait', '0.3']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/mlb-ts: E_ZDD: timed out: waited more than --max-wait 0\.3 s.*; the deploy is left half-way with \/shop-blue and \/shop-green both in Marathon: run again with --resume to continue it, --complete-cur to finish it now keeping \/shop-green, or --complete-prev to roll back to \/shop-blue\n$/);
    expect(fm.apps().map((a) => a.id).sort()).toEqual(['/shop-blue', '/shop-green']);

    const resumed = await runCli(['zdd', '-m', fm.url, '--json', json, '--resume', ...fast]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/--resume: moving traffic from \/shop-blue to \/shop-green \(target 2\)/);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-green']);
    expect(allHealthy(fm, '/shop-green', 2)).toBe(true);
  }, 60_000);

  // --max-wait bounds each wait, as zdd.py's does, and the new app grows by half each step: a
  // large app finishes though the whole deploy takes longer than --max-wait.
  it('30 instances: default steps grow by half; the deploy outlasts --max-wait, no wait does', async () => {
    const fm = await fakeWith([blueApp(bindPort, {}, 30)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 30), 20_000);
    const json = writeDefinition('big.json', 1);
    const t0 = Date.now();
    const run = await runCli(['zdd', '-m', fm.url, '--json', json, '--poll-interval', '0.1', '--step-delay', '0', '--max-wait', '4']);
    const took = Date.now() - t0;
    expect(run.code, run.stderr).toBe(0);
    const scaled = [...run.stderr.matchAll(/scaled \/shop-green to (\d+)/g)].map((m) => Number(m[1]));
    expect(scaled, run.stderr).toEqual([2, 3, 5, 8, 12, 30]);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-green']);
    expect(allHealthy(fm, '/shop-green', 30)).toBe(true);
    console.log(`zdd of 30 instances: ${took} ms with --max-wait 4`);
  }, 60_000);

  it('--pre-kill-hook runs before each kill with the old app, the task ids and the new app; a failing hook stops the deploy', async () => {
    const fm = await fakeWith([blueApp(bindPort, {}, 2)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 2), 10_000);
    const json = writeDefinition('hook.json', 1);
    const calls = join(dir, 'hook-calls');
    const hook = join(dir, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\nprintf '%s\\n%s\\n%s\\n' "$1" "$2" "$3" >> ${calls}\nexit "\${HOOK_EXIT:-0}"\n`, { mode: 0o755 });

    process.env.HOOK_EXIT = '3';
    const refused = await runCli(['zdd', '-m', fm.url, '--json', json, '--pre-kill-hook', hook, ...fast]).finally(() => delete process.env.HOOK_EXIT);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`mlb-ts: E_ZDD: --pre-kill-hook ${hook} exited with status 3; nothing was killed; the deploy is left half-way with /shop-blue and /shop-green both in Marathon: run again with --resume`));
    expect(fm.app('/shop-blue')?.instances).toBe(2);
    const [oldApp, ids, newApp] = readFileSync(calls, 'utf8').split('\n') as [string, string, string];
    const blueIds = (fm.app('/shop-blue')?.tasks ?? []).map((t) => t.id);
    expect((JSON.parse(oldApp) as MarathonApp).id).toBe('/shop-blue');
    const killIds = JSON.parse(ids) as string[];
    expect(killIds).toHaveLength(1);
    expect(blueIds).toContain(killIds[0]);
    expect((JSON.parse(newApp) as MarathonApp).id).toBe('/shop-green');

    rmSync(calls);
    const resumed = await runCli(['zdd', '-m', fm.url, '--json', json, '--resume', '--pre-kill-hook', hook, ...fast]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8').split('\n').filter((l, i) => i % 3 === 1 && l).flatMap((l) => JSON.parse(l) as string[]).sort()).toEqual([...blueIds].sort());
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-green']);
  }, 60_000);

  it("-n 2 of 4: zdd.py's hybrid deploy keeps both apps; a run without a choice refuses; -c then completes it", async () => {
    const fm = await fakeWith([blueApp(bindPort, {}, 4)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 4), 10_000);
    fm.resetRequestCounts();
    const json = writeDefinition('hybrid.json', 1);

    const hybrid = await runCli(['zdd', '-m', fm.url, '--json', json, '-n', '2', ...fast]);
    expect(hybrid.code, hybrid.stderr).toBe(0);
    expect(hybrid.stdout).toMatch(/^mlb-ts zdd: done: hybrid deploy of group shop: \/shop-green serves with 2 healthy tasks, \/shop-blue with the rest of 4 \(kept; finish with --complete-cur or --complete-prev\); 2 tasks drained and killed;/);
    expect(fm.apps().map((a) => a.id).sort()).toEqual(['/shop-blue', '/shop-green']);
    expect(allHealthy(fm, '/shop-green', 2) && allHealthy(fm, '/shop-blue', 2)).toBe(true);
    expect(fm.app('/shop-green')?.labels).toMatchObject({ HAPROXY_DEPLOYMENT_NEW_INSTANCES: '2', HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '4' });
    // Tasks killed, no app deleted.
    expect(Object.keys(writes(fm)).filter((k) => /^DELETE \/v2\/apps\/[^/]+$/.test(k)), JSON.stringify(writes(fm))).toEqual([]);

    const refused = await runCli(['zdd', '-m', fm.url, '--json', json, ...fast]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/E_ZDD: deployment group shop has a hybrid deploy in place: \/shop-green .* with 2 of 4 instances .* --complete-cur .* --complete-prev/);

    const done = await runCli(['zdd', '-m', fm.url, '--json', json, '-c', ...fast]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/--complete-cur: moving traffic from \/shop-blue to \/shop-green \(target 4\)/);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-green']);
    expect(allHealthy(fm, '/shop-green', 4)).toBe(true);
  }, 60_000);

  it('-n 2 of 4, then -p rolls the hybrid back to the old app', async () => {
    const fm = await fakeWith([blueApp(bindPort, {}, 4)]);
    await fm.waitFor((f) => allHealthy(f, '/shop-blue', 4), 10_000);
    const json = writeDefinition('hybrid-back.json', 1);
    const hybrid = await runCli(['zdd', '-m', fm.url, '--json', json, '--new-instances', '2', ...fast]);
    expect(hybrid.code, hybrid.stderr).toBe(0);
    expect([fm.app('/shop-blue')?.instances, fm.app('/shop-green')?.instances]).toEqual([2, 2]);
    const back = await runCli(['zdd', '-m', fm.url, '--json', json, '-p', ...fast]);
    expect(back.code, back.stderr).toBe(0);
    expect(fm.apps().map((a) => a.id)).toEqual(['/shop-blue']);
    expect(allHealthy(fm, '/shop-blue', 4)).toBe(true);
  }, 60_000);

  it('a first deploy creates the blue app and waits until it is healthy', async () => {
    const fm = await fakeWith([]);
    const run = await runCli(['zdd', '-m', fm.url, '--json', writeDefinition('first.json', 1), ...fast]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/created \/shop-blue \(blue\) with 3 instances, target 3 \(first deploy of the group\)/);
    expect(allHealthy(fm, '/shop-blue', 3)).toBe(true);
    expect(fm.app('/shop-blue')?.portDefinitions?.[0]?.port).toBe(MAIN_PORT);
  }, 60_000);
});

/** A proxy to `target` that answers 409 to the requests `refuse` picks (Marathon's "app locked by a deployment"). */
async function refusingProxy(target: string, refuse: (method: string, path: string) => boolean): Promise<{ url: string; refused(): number; close(): Promise<void> }> {
  let refused = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (refuse(req.method ?? 'GET', req.url ?? '/')) {
        refused++;
        res.writeHead(409, { 'content-type': 'application/json' }).end('{"message":"App is locked by one or more deployments."}');
        return;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') }, ...(body ? { body } : {}) })
        .then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer())))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: () => refused,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
