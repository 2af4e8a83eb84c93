import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { parseShowProc, reloadAndVerify, runningMaster, type ShowProc, showProc } from '../../../src/haproxy/master.js';
import { SupervisedHaproxy } from '../../../src/haproxy/process.js';
import { type Backend, startBackend } from '../../helpers/backends.js';
import { type RunningHaproxy, retryWhilePortTaken, startHaproxy } from '../../helpers/haproxy.js';
import { request } from '../../helpers/http.js';
import { freePort, freePorts } from '../../helpers/ports.js';

const HEADER = '#<PID>          <type>          <reloads>       <uptime>        <version>      ';

describe('parseShowProc', () => {
  const cases: [string, string, ShowProc][] = [
    [
      'a fresh master and its worker (HAProxy 2.6)',
      [HEADER, '14389           master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u3', '# workers', '14392           worker          0               0d00h00m01s     2.6.12-1+deb12u3', '# programs', ''].join('\n'),
      { master: { pid: 14389, reloads: 0, uptime: '0d00h00m01s', failedReloads: 0 }, workers: [{ pid: 14392, reloads: 0, uptime: '0d00h00m01s' }], oldWorkers: [] },
    ],
    [
      'after a failed reload',
      [HEADER, '14389           master          2 [failed: 1]   0d00h00m04s     2.6.12', '# workers', '14420           worker          1               0d00h00m02s     2.6.12', '# programs', ''].join('\n'),
      { master: { pid: 14389, reloads: 2, uptime: '0d00h00m04s', failedReloads: 1 }, workers: [{ pid: 14420, reloads: 1, uptime: '0d00h00m02s' }], oldWorkers: [] },
    ],
    [
      'old workers finishing their connections, "[was: N]" included',
      [
        HEADER,
        '14389           master          3 [failed: 0]   0d00h00m09s     2.6.12',
        '# workers',
        '14489           worker          0               0d00h00m01s     2.6.12',
        '# old workers',
        '14420           worker          2               0d00h00m07s     2.6.12',
        '14401           worker          [was: 1]        0d00h00m08s     2.6.12',
        '# programs',
        '',
      ].join('\n'),
      {
        master: { pid: 14389, reloads: 3, uptime: '0d00h00m09s', failedReloads: 0 },
        workers: [{ pid: 14489, reloads: 0, uptime: '0d00h00m01s' }],
        oldWorkers: [
          { pid: 14420, reloads: 2, uptime: '0d00h00m07s' },
          { pid: 14401, reloads: 1, uptime: '0d00h00m08s' },
        ],
      },
    ],
    [
      'several workers; programs and blank lines ignored',
      [
        '',
        HEADER,
        '100 master 7 [failed: 3] 1d02h03m04s 2.6.12',
        '# workers',
        '101 worker 0 0d00h00m01s 2.6.12',
        '102 worker 0 0d00h00m01s 2.6.12',
        '',
        '# programs',
        '200 sidecar 0 0d00h00m05s -',
        '',
      ].join('\n'),
      {
        master: { pid: 100, reloads: 7, uptime: '1d02h03m04s', failedReloads: 3 },
        workers: [
          { pid: 101, reloads: 0, uptime: '0d00h00m01s' },
          { pid: 102, reloads: 0, uptime: '0d00h00m01s' },
        ],
        oldWorkers: [],
      },
    ],
    [
      'a master with no worker (all of them died)',
      [HEADER, '100 master 1 [failed: 0] 0d00h00m09s 2.6.12', '# workers', '# programs', ''].join('\n'),
      { master: { pid: 100, reloads: 1, uptime: '0d00h00m09s', failedReloads: 0 }, workers: [], oldWorkers: [] },
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => expect(parseShowProc(text)).toEqual(want));

  it.each([
    ['an empty answer', ''],
    ['an unknown command', 'Unknown command: \'show proc\'\n'],
    ['workers but no master line', '# workers\n101 worker 0 0d00h00m01s 2.6\n'],
  ])('E_RUNTIME for %s', (_name, text) => {
    let err: unknown;
    try {
      parseShowProc(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MlbError);
    expect((err as MlbError).code).toBe('E_RUNTIME');
    expect((err as MlbError).message).toMatch(/unexpected 'show proc' answer/);
  });
});

describe('against a real master-worker HAProxy (-W -S)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-master-'));
  const cfgPath = join(dir, 'haproxy.cfg');
  const masterSocket = join(dir, 'master.sock');
  let hp: RunningHaproxy | undefined;
  let backend: Backend;
  let port: number;
  let goodConfig: string;

  const config = (p: number, b: Backend) =>
    [
      'global',
      '  maxconn 200',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend fe',
      `  bind 127.0.0.1:${p}`,
      '  default_backend be',
      'backend be',
      `  server s1 ${b.host}:${b.port}`,
      '',
    ].join('\n');

  const served = async () => (await request({ port, timeoutMs: 3000 })).status;

  beforeAll(async () => {
    backend = await startBackend({ name: 'b1' });
    hp = await retryWhilePortTaken(async () => {
      port = await freePort();
      goodConfig = config(port, backend);
      writeFileSync(cfgPath, goodConfig);
      return startHaproxy(cfgPath, { masterSocket, ports: [port] });
    });
  });

  afterAll(async () => {
    await hp?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('showProc: the master is the process started, with one worker', async () => {
    const p = await showProc(masterSocket);
    expect(p.master.pid).toBe(hp?.pid);
    expect(p.workers).toHaveLength(1);
    expect(p.workers[0]?.pid).not.toBe(p.master.pid);
    expect(p.master.failedReloads).toBe(0);
    expect(await served()).toBe(200);
  });

  it('reloadAndVerify: the reload counter rises and a new worker serves', async () => {
    const before = await showProc(masterSocket);
    const after = await reloadAndVerify(masterSocket);
    expect(after.master.pid).toBe(before.master.pid);
    expect(after.master.reloads).toBeGreaterThan(before.master.reloads);
    expect(after.workers).toHaveLength(1);
    expect(after.workers[0]?.pid).not.toBe(before.workers[0]?.pid);
    expect(after.master.failedReloads).toBe(0);
    expect(await served()).toBe(200);
  });

  it('a reload HAProxy refuses: E_RELOAD naming the failed reloads, the old worker still serving', async () => {
    const before = await showProc(masterSocket);
    const worker = before.workers[0]?.pid;
    writeFileSync(cfgPath, `${goodConfig}  this-is-not-a-keyword\n`);
    try {
      let err: unknown;
      const started = Date.now();
      try {
        await reloadAndVerify(masterSocket, 10_000);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MlbError);
      expect((err as MlbError).code).toBe('E_RELOAD');
      expect((err as MlbError).message).toMatch(/refused the reload \(failed reloads \d+ → \d+\)/);
      // it is told by the failed-reload counter, not by waiting out the timeout
      expect(Date.now() - started).toBeLessThan(9000);
      const after = await showProc(masterSocket);
      expect(after.master.failedReloads).toBeGreaterThan(before.master.failedReloads);
      expect(after.workers.map((w) => w.pid)).toEqual([worker]);
      expect(await served()).toBe(200);
    } finally {
      writeFileSync(cfgPath, goodConfig);
    }
    // the next good config reloads again
    const ok = await reloadAndVerify(masterSocket);
    expect(ok.workers).toHaveLength(1);
    expect(ok.workers[0]?.pid).not.toBe(worker);
    expect(await served()).toBe(200);
  });

  it('SupervisedHaproxy.start adopts a master already running on its socket: nothing spawned', async () => {
    const running = await showProc(masterSocket);
    const supervisor = new SupervisedHaproxy({ bin: 'haproxy', configPath: cfgPath, masterSocket });
    expect(supervisor.adopted).toBe(false);
    const proc = await supervisor.start();
    expect(supervisor.adopted).toBe(true);
    expect(supervisor.pid).toBe(running.master.pid);
    expect(proc.master.pid).toBe(running.master.pid);
    expect((await showProc(masterSocket)).workers.map((w) => w.pid)).toEqual(running.workers.map((w) => w.pid));
  });

  it('runningMaster: the master answering; undefined without a socket file, or with a stale one (removed)', async () => {
    expect(await runningMaster(join(dir, 'no-such.sock'))).toBeUndefined();
    expect((await runningMaster(masterSocket))?.master.pid).toBe(hp?.pid);
    // a file nothing listens on, as a master killed with SIGKILL leaves its socket behind
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    expect(await runningMaster(stale)).toBeUndefined();
    expect(existsSync(stale)).toBe(false);
  });
});

describe('SupervisedHaproxy: what a failed reload or start said', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-supervised-'));
  const cfgPath = join(dir, 'haproxy.cfg');
  const masterSocket = join(dir, 'master.sock');
  let blocker: Server | undefined;
  let supervisor: SupervisedHaproxy | undefined;

  const config = (ports: number[]) =>
    ['global', '  maxconn 200', 'defaults', '  mode http', '  timeout connect 2s', '  timeout client 5s', '  timeout server 5s', '']
      .concat(ports.flatMap((p) => [`frontend fe_${p}`, `  bind 127.0.0.1:${p}`, '  http-request return status 200', '']))
      .join('\n');

  afterAll(async () => {
    await supervisor?.stop(2000);
    await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it("a reload refused because a port is taken: E_RELOAD whose details are HAProxy's alerts naming the frontend; the old worker serves on", async () => {
    const [own, taken] = (await freePorts(2)) as [number, number];
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen({ host: '127.0.0.1', port: taken, exclusive: true }, r));
    writeFileSync(cfgPath, config([own]));
    const exits: unknown[] = [];
    supervisor = new SupervisedHaproxy({ bin: 'haproxy', configPath: cfgPath, masterSocket, onExit: (c, s) => exits.push([c, s]) });
    const started = await supervisor.start();
    writeFileSync(cfgPath, config([own, taken]));
    const err = await supervisor.reload().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MlbError);
    expect((err as MlbError).code).toBe('E_RELOAD');
    const alerts = (err as MlbError).details.join('\n');
    expect(alerts).toMatch(new RegExp(`for frontend fe_${taken}: cannot bind socket .*127\\.0\\.0\\.1:${taken}`));
    expect((await showProc(masterSocket)).workers.map((w) => w.pid)).toEqual(started.workers.map((w) => w.pid));
    expect((await request({ port: own, timeoutMs: 3000 })).status).toBe(200);

    // A start refused for the same reason: its alerts too, and no "unexpected exit" reported.
    await supervisor.stop(2000);
    writeFileSync(cfgPath, config([own, taken]));
    const again = new SupervisedHaproxy({ bin: 'haproxy', configPath: cfgPath, masterSocket, onExit: (c, s) => exits.push([c, s]) });
    const startErr = await again.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((startErr as MlbError).code).toBe('E_RELOAD');
    expect((startErr as MlbError).details.join('\n')).toMatch(new RegExp(`for frontend fe_${taken}: cannot bind socket`));
    await new Promise((r) => setTimeout(r, 200));
    expect(exits).toEqual([]);
  }, 30_000);
});

describe('SupervisedHaproxy: starts, stops and reloads that overlap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-overlap-'));
  const cfgPath = join(dir, 'haproxy.cfg');
  const masterSocket = join(dir, 'master.sock');
  const live: SupervisedHaproxy[] = [];
  const supervised = (onExit?: () => void) => {
    const s = new SupervisedHaproxy({ bin: 'haproxy', configPath: cfgPath, masterSocket, ...(onExit ? { onExit } : {}) });
    live.push(s);
    return s;
  };

  beforeAll(async () => {
    const port = await freePort();
    writeFileSync(cfgPath, ['global', '  maxconn 100', 'defaults', '  mode http', '  timeout connect 2s', '  timeout client 5s', '  timeout server 5s', '', `frontend fe`, `  bind 127.0.0.1:${port}`, '  http-request return status 200', ''].join('\n'));
  });

  afterAll(async () => {
    for (const s of live) await s.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a reload asked while the master is still starting fails at once: no SIGUSR2 to a master that would die of it', async () => {
    const s = supervised();
    const starting = s.start();
    await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await expect(s.reload()).rejects.toBeInstanceOf(MlbError);
    expect(Date.now() - t0).toBeLessThan(2000);
    const proc = await starting;
    expect(proc.workers.length).toBeGreaterThan(0);
    await s.stop(2000);
  }, 20_000);

  it('stop() while start() is still looking at the socket: nothing is spawned', async () => {
    // A stale socket file: start() asks it before it spawns (and removes it).
    rmSync(masterSocket, { force: true });
    writeFileSync(masterSocket, '');
    const s = supervised();
    const starting = s.start().then(
      () => 'started',
      (e: unknown) => String(e),
    );
    await s.stop(2000);
    expect(await starting).toMatch(/mlb-ts is stopping/);
    expect(s.pid).toBeUndefined();
    expect(await runningMaster(masterSocket)).toBeUndefined();
  }, 20_000);

  it('an adopted master that dies is reported like a child that exits (onExit), so it is started again', async () => {
    const owner = supervised();
    const proc = await owner.start();
    let exits = 0;
    const adopter = supervised(() => exits++);
    await adopter.start();
    expect(adopter.adopted).toBe(true);
    process.kill(proc.master.pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (exits === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(exits).toBe(1);
    expect(adopter.pid).toBeUndefined();
  }, 20_000);
});
