import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppInput, FakeMarathon } from '../../src/demo/fake-marathon.js';
import { showProc } from '../../src/haproxy/master.js';
import { eventually, isReloadDone, type RunningDaemon, servedApp, sleep, startDaemon, waitGone } from '../helpers/daemon.js';
import { request } from '../helpers/http.js';
import { TEST_CERT } from '../helpers/lb.js';
import { freePorts } from '../helpers/ports.js';

/**
 * The daemon's signals at awkward moments: SIGTERM while a reload waits for --reload-interval
 * or between reload retries, SIGUSR1 while a reload runs, SIGHUP after an operator edited the
 * installed config.
 */

describe('mlb-ts --sse: signals while the daemon is busy', () => {
  let fake: FakeMarathon;
  let d: RunningDaemon | undefined;
  let dir: string;
  let ports: number[];
  let nextPort = 0;

  /** A new app (a new backend: a change only a reload applies). */
  const addApp = (name: string) => fake.addApp(servedApp(`/${name}`, ports[nextPort++] as number, { HAPROXY_0_VHOST: `${name}.test` }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-ts-signals-'));
    ports = await freePorts(12);
    fake = await FakeMarathon.start({ killGraceSeconds: 1, apps: [servedApp('/web', ports[nextPort++] as number, { HAPROXY_0_VHOST: 'web.test' })] });
    await fake.settled();
  });

  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });

  afterAll(async () => {
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM while a reload waits for --reload-interval 60: exits 0 at once, installs and reloads nothing more', async () => {
    const daemon = (d = await startDaemon(fake.url, ['--reload-interval', '60', '--debounce-ms', '20']));
    await daemon.waitForLog((l) => l.msg === 'event stream connected; full resync');
    // A first reload (none before it: no wait), then a change that has to wait 60 s for the next.
    let mark = daemon.mark();
    addApp('first');
    await daemon.waitForLog(isReloadDone, 8000, mark);
    mark = daemon.mark();
    addApp('second');
    const waiting = await daemon.waitForLog((l) => l.msg === 'reload waits for --reload-interval', 8000, mark);
    expect(waiting.reason).toBe('structure_changed');
    expect(Number(waiting.waitMs)).toBeGreaterThan(50_000);
    const installed = daemon.installed();
    const mtime = statSync(daemon.configPath).mtimeMs;
    expect(installed).not.toContain('backend second_');
    const pids = await daemon.pids();
    mark = daemon.mark();
    const took = await sigtermExitsCleanly(daemon, 'SIGTERM with a reload waiting');
    expect(took).toBeLessThan(2000);
    expect(daemon.installed()).toBe(installed);
    expect(statSync(daemon.configPath).mtimeMs).toBe(mtime);
    expect(daemon.logsMatching((l) => l.msg === 'reloading HAProxy' || isReloadDone(l), mark)).toEqual([]);
    expect(daemon.logsMatching((l) => l.msg === 'stopped', mark)).toHaveLength(1);
    expect(await waitGone(pids, 5000)).toEqual([]);
  }, 30_000);

  it('SIGTERM while a failing --command is retried: exits 0 within 3 s', async () => {
    const daemon = (d = await startDaemon(fake.url, ['--command', 'false', '--master-socket', join(dir, 'none.sock'), '--reload-interval', '0.5', '--debounce-ms', '20']));
    // The start-up reload fails and is retried with a growing backoff (26 s in all by default).
    await daemon.waitForLog((l) => l.msg === 'reload failed' && Number(l.attempt) >= 3, 10_000);
    const mark = daemon.mark();
    const took = await sigtermExitsCleanly(daemon, 'SIGTERM between reload retries');
    expect(took).toBeLessThan(3000);
    expect(daemon.logsMatching((l) => l.msg === 'stopped', mark)).toHaveLength(1);
  }, 30_000);

  it('SIGUSR1 and /_mlb_signal/usr1 while a reload runs: each is followed by a reload of its own', async () => {
    const runs = join(dir, 'runs.log');
    const runCount = () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0);
    // The reload command takes 1.5 s; each run leaves a line.
    const daemon = (d = await startDaemon(fake.url, ['--command', `sleep 1.5; echo run >> '${runs}'`, '--master-socket', join(dir, 'none.sock'), '--reload-interval', '0.2', '--debounce-ms', '20']));
    // The start-up reload (the config goes to the operator's HAProxy): request another while it runs.
    await daemon.waitForLog((l) => l.msg === 'reloading HAProxy', 8000);
    await sleep(300);
    expect(runCount()).toBe(0);
    daemon.signal('SIGUSR1');
    await daemon.waitForLog(isReloadDone, 8000);
    // The second reload, the one SIGUSR1 asked for: request a third through HTTP while it runs.
    const second = await daemon.waitForLog((l) => l.msg === 'reloading HAProxy' && l.reason === 'sigusr1', 8000);
    await sleep(300);
    expect((await daemon.get('/_mlb_signal/usr1')).status).toBe(200);
    await eventually(() => daemon.logsMatching(isReloadDone).length === 3, 10_000, 'three reloads');
    await sleep(2500); // and no more
    const done = daemon.logsMatching(isReloadDone);
    expect(done.map((l) => l.reason)).toEqual(['startup', 'sigusr1', 'sigusr1']);
    expect(runCount()).toBe(3);
    expect(second.reason).toBe('sigusr1');
    expect((await daemon.metrics()).value('mlb_reloads_total', { reason: 'sigusr1' })).toBe(2);
  }, 30_000);

  it('SIGHUP and /_mlb_signal/hup rewrite a config edited on disk and reload it, saying why', async () => {
    const daemon = (d = await startDaemon(fake.url, ['--reload-interval', '0.2', '--debounce-ms', '20']));
    await daemon.waitForLog((l) => l.msg === 'event stream connected; full resync');
    const rendered = await daemon.config();
    expect(daemon.installed()).toBe(rendered);
    for (const via of ['SIGHUP', '/_mlb_signal/hup'] as const) {
      const worker = (await showProc(daemon.masterSocket)).workers[0]?.pid;
      appendFileSync(daemon.configPath, '# an operator was here\n');
      const mark = daemon.mark();
      if (via === 'SIGHUP') daemon.signal('SIGHUP');
      else expect((await daemon.get(via)).status).toBe(200);
      const done = await daemon.waitForLog(isReloadDone, 8000, mark);
      expect(done.reason).toBe('config_on_disk_differs');
      expect(String(done.change)).toContain('config on disk differs');
      expect(daemon.installed()).toBe(rendered);
      expect(await daemon.config()).toBe(rendered);
      expect((await showProc(daemon.masterSocket)).workers[0]?.pid).not.toBe(worker);
    }
    expect((await daemon.metrics()).value('mlb_reloads_total', { reason: 'config_on_disk_differs' })).toBe(2);
    // The files on disk as rendered: a SIGHUP reloads nothing.
    const mark = daemon.mark();
    daemon.signal('SIGHUP');
    await eventually(async () => (await daemon.metrics()).value('mlb_syncs_total', { trigger: 'sighup' }) === 3, 5000, 'a third sighup sync');
    await sleep(500);
    expect(daemon.logsMatching((l) => l.msg === 'reloading HAProxy', mark)).toEqual([]);
  }, 30_000);

  it('/healthz: 503 while a first start with no config serves the empty placeholder because Marathon does not answer, 200 once its apps are applied', async () => {
    // A gate in front of the fake: 503 while closed, then a redirect to it (as a non-leader does).
    let open = false;
    const gate: Parameters<typeof createServer>[1] = (req, res) => {
      req.resume();
      if (open) res.writeHead(307, { location: `${fake.url}${req.url ?? '/'}` }).end();
      else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"no leader"}');
    };
    await withServer(gate, async (url) => {
      const daemon = (d = await startDaemon(url, ['--debounce-ms', '20', '--max-backoff', '1']));
      const closed = await daemon.get('/healthz');
      expect(closed.status).toBe(503);
      expect(JSON.parse(closed.body)).toMatchObject({ ok: false, lastError: expect.stringContaining('HTTP 503') });
      // Said for what it is, and not counted as an apply.
      expect(daemon.logsMatching((l) => l.msg === 'config installed')).toEqual([]);
      expect(daemon.logsMatching((l) => l.msg === 'empty config installed, to start HAProxy with')).toHaveLength(1);
      expect(daemon.logsMatching((l) => l.msg === 'starting HAProxy with no apps until Marathon answers')).toHaveLength(1);
      expect((await daemon.metrics()).value('mlb_last_apply_timestamp_seconds')).toBe(0);
      open = true;
      await eventually(async () => (await daemon.get('/healthz')).status === 200, 10_000, '/healthz 200 once Marathon answers');
      expect(await daemon.config()).toContain('web.test');
    });
  }, 30_000);

  it('SIGTERM while a fetch waits on a Marathon that stopped answering: exits 0 within 3 s (the fetch is aborted, not waited out for 30 s)', async () => {
    let hang = false;
    const gate: Parameters<typeof createServer>[1] = (req, res) => {
      req.resume();
      if (!hang) res.writeHead(307, { location: `${fake.url}${req.url ?? '/'}` }).end();
      // else: never answers
    };
    await withServer(gate, async (url) => {
      const daemon = (d = await startDaemon(url, ['--debounce-ms', '20']));
      hang = true;
      const mark = daemon.mark();
      daemon.signal('SIGHUP');
      await daemon.waitForLog((l) => l.msg === 'full resync requested', 5000, mark);
      await sleep(300);
      expect(await sigtermExitsCleanly(daemon, 'SIGTERM during a hung fetch')).toBeLessThan(3000);
    });
  }, 30_000);

  it('SIGTERM while starting, as soon as HAProxy is spawned: exits 0 and leaves no HAProxy behind', async () => {
    const daemon = (d = await startDaemon(fake.url, ['--debounce-ms', '20'], { noWait: true }));
    await eventually(() => existsSync(daemon.masterSocket), 15_000, "HAProxy's master socket");
    await sigtermExitsCleanly(daemon, 'SIGTERM while starting');
    await eventually(async () => !(await accepts(daemon.ports.http)), 5000, 'nothing listening on the http port');
  }, 30_000);
});

/** SIGTERM, then the exit: code 0; the ms it took, printed with `what`. */
async function sigtermExitsCleanly(daemon: RunningDaemon, what: string): Promise<number> {
  const t0 = Date.now();
  daemon.signal('SIGTERM');
  const exit = await daemon.exited;
  const took = Date.now() - t0;
  console.info(`${what}: exited after ${took} ms`);
  expect(exit).toEqual({ code: 0, signal: null });
  return took;
}

/** Runs `body` with an HTTP server on loopback answering with `handler`, closed afterwards. */
async function withServer(handler: Parameters<typeof createServer>[1], body: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Flags that put a daemon's config and sockets in `files`: a daemon started again with them finds what the one before left. */
function onFiles(files: string): string[] {
  return ['--haproxy-config', join(files, 'haproxy.cfg'), '--haproxy-socket', join(files, 'admin.sock'), '--master-socket', join(files, 'master.sock'), '--reload-interval', '0.5', '--debounce-ms', '20'];
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

describe('mlb-ts --sse: SIGUSR1 while Marathon does not answer', () => {
  it('reloads the config it runs (the apps last applied), as marathon-lb does; the failed fetch is still said and retried', async () => {
    const [port] = await freePorts(1);
    const fake = await FakeMarathon.start({ apps: [servedApp('/web', port as number, { HAPROXY_0_VHOST: 'web.test' })] });
    let daemon: RunningDaemon | undefined;
    try {
      await fake.settled();
      daemon = await startDaemon(fake.url, ['--reload-interval', '0.5', '--debounce-ms', '20']);
      await daemon.waitForLog((l) => l.msg === 'event stream connected; full resync');
      await eventually(async () => daemon!.installed().includes('backend web_'), 10_000, 'the app installed');
      const installed = daemon.installed();
      await fake.close();
      const before = await daemon.pids();
      const mark = daemon.mark();
      daemon.signal('SIGUSR1');
      const reload = await daemon.waitForLog(isReloadDone, 10_000, mark);
      expect(reload.reason).toBe('sigusr1');
      const failed = await daemon.waitForLog((l) => l.msg === 'sync failed; the last good config keeps serving', 5000, mark);
      expect(failed.triggers).toContain('sigusr1');
      expect(daemon.installed()).toBe(installed);
      await eventually(async () => (await daemon!.pids()).some((p) => !before.includes(p)), 5000, 'a new worker');
    } finally {
      await daemon?.stop();
      await fake.close().catch(() => undefined);
    }
  }, 30_000);
});

/**
 * A fake Marathon serving `apps` while `body` runs; afterwards the daemon it started last (through
 * `start`) is stopped, the fake closed and the directories it made (through `tmp`) removed.
 */
async function withMarathon(apps: AppInput[], body: (t: { fake: FakeMarathon; start: (args: string[]) => Promise<RunningDaemon>; tmp: (prefix: string) => string }) => Promise<void>): Promise<void> {
  const fake = await FakeMarathon.start({ apps });
  const dirs: string[] = [];
  let daemon: RunningDaemon | undefined;
  try {
    await fake.settled();
    await body({
      fake,
      start: async (args) => (daemon = await startDaemon(fake.url, args)),
      tmp: (prefix) => {
        const dir = mkdtempSync(join(tmpdir(), prefix));
        dirs.push(dir);
        return dir;
      },
    });
  } finally {
    await daemon?.stop();
    await fake.close().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Labels for `host` whose backend HAProxy refuses, naming `word`. */
function refusedLabels(host: string, word: string): Record<string, string> {
  return { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: host, HAPROXY_0_BACKEND_HEAD: `\nbackend {{backend}}\n  mode {{mode}}\n  ${word} on\n` };
}

/** Waits until `host` answers 200 through the daemon's HTTP port. */
function served(d: RunningDaemon, host: string): Promise<unknown> {
  return eventually(async () => (await request({ port: d.ports.http, hostHeader: host })).status === 200, 10_000, `${host} served`);
}

/** Waits for `n` more periodic resyncs of `d`. */
async function periodicResyncs(d: RunningDaemon, n: number): Promise<void> {
  const before = (await d.metrics()).value('mlb_syncs_total', { trigger: 'periodic_resync' });
  await eventually(async () => (await d.metrics()).value('mlb_syncs_total', { trigger: 'periodic_resync' }) >= before + n, 10_000, `${n} periodic resyncs`);
}

describe('mlb-ts --sse: an app kept on its running labels, across a restart', () => {
  it('a daemon started again keeps serving the app whose new labels HAProxy refuses (kept-labels.json beside the config)', async () => {
    const [port] = (await freePorts(1)) as [number];
    await withMarathon([servedApp('/keep', port, { HAPROXY_0_VHOST: 'keep.test' })], async ({ fake, start, tmp }) => {
      const files = tmp('mlb-ts-kept-');
      const first = await start(onFiles(files));
      await served(first, 'keep.test');
      const mark = first.mark();
      fake.updateApp('/keep', { labels: refusedLabels('keep.test', 'bogus-restart-directive') });
      await first.waitForLog((l) => l.level === 'error' && l.app === '/keep' && String(l.msg).includes('keeps the labels it runs with'), 10_000, mark);
      await fake.settled();
      await eventually(async () => existsSync(join(files, 'kept-labels.json')), 5000, 'kept-labels.json written');
      await first.stop();
      const second = await start(onFiles(files));
      await served(second, 'keep.test');
      expect(second.logsMatching((l) => String(l.msg).includes('/keep port 0 dropped'))).toEqual([]);
      expect(second.installed()).not.toContain('bogus-restart-directive');
    });
  }, 60_000);
});

describe('mlb-ts --sse started again while Marathon does not answer', () => {
  it('serves the config installed before, and /_haproxy_getconfig and the maps show it', async () => {
    const [port] = (await freePorts(1)) as [number];
    await withMarathon([servedApp('/web', port, { HAPROXY_0_VHOST: 'web.test' })], async ({ fake, start, tmp }) => {
      const args = [...onFiles(tmp('mlb-ts-getconfig-')), '--haproxy-map'];
      const first = await start(args);
      await served(first, 'web.test');
      const installed = first.installed();
      const domainMap = (await first.get('/_haproxy_getvhostmap')).body;
      expect(domainMap).toMatch(/^web\.test web_\d+\n$/);
      await first.stop();
      await fake.close();
      const second = await start(args);
      await second.waitForLog((l) => l.msg === 'first sync failed; serving the last installed config', 10_000);
      // HAProxy runs the installed config (the ports it binds are those of the first run).
      await eventually(async () => (await second.pids()).length >= 2, 10_000, 'HAProxy running');
      expect(second.installed()).toBe(installed);
      expect(await second.config()).toBe(installed);
      expect((await second.get('/_haproxy_getvhostmap')).body).toBe(domainMap);
    });
  }, 60_000);
});

describe('mlb-ts --sse: a port haproxy -c refuses because its certificate file is missing', () => {
  it('is said once while it lasts (not at every periodic resync), and served once the file appears', async () => {
    const [webPort, tlsPort] = (await freePorts(2)) as [number, number];
    const certDir = mkdtempSync(join(tmpdir(), 'mlb-ts-late-cert-'));
    const cert = join(certDir, 'late.pem');
    try {
      await withMarathon([servedApp('/web', webPort, { HAPROXY_0_VHOST: 'web.test' }), servedApp('/tls', tlsPort, { HAPROXY_0_VHOST: 'tls.test', HAPROXY_0_SSL_CERT: cert })], async ({ start }) => {
        const d = await start(['--resync-interval', '1', '--reload-interval', '0.2', '--debounce-ms', '20']);
        const dropped = await d.waitForLog((l) => l.level === 'error' && l.app === '/tls', 10_000);
        expect(String(dropped.msg)).toMatch(/^app \/tls port 0 dropped: .*late\.pem/);
        await periodicResyncs(d, 3);
        expect(d.logsMatching((l) => l.app === '/tls' && (l.level === 'error' || l.level === 'warn'))).toHaveLength(1);
        expect((await d.metrics()).value('mlb_apps_dropped_total')).toBe(1);
        expect(await d.config()).not.toContain(`backend tls_${tlsPort}`);
        copyFileSync(TEST_CERT, cert);
        await eventually(async () => (await d.config()).includes(`backend tls_${tlsPort}`), 10_000, '/tls served once its certificate exists');
      });
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  }, 45_000);
});

describe('mlb-ts --sse: an app kept on its running labels, at the periodic resyncs', () => {
  it('the refusal of its new labels is said once, not again at each resync that tries them', async () => {
    const [port, otherPort] = (await freePorts(2)) as [number, number];
    await withMarathon([servedApp('/keep', port, { HAPROXY_0_VHOST: 'keep.test' })], async ({ fake, start }) => {
      const d = await start(['--resync-interval', '1', '--reload-interval', '0.2', '--debounce-ms', '20']);
      await served(d, 'keep.test');
      const mark = d.mark();
      fake.updateApp('/keep', { labels: refusedLabels('keep.test', 'bogus-resync-directive') });
      await d.waitForLog((l) => l.level === 'error' && l.app === '/keep', 10_000, mark);
      // An app sorted before it moves the config line HAProxy cites for /keep: still the same refusal.
      fake.addApp(servedApp('/aaa', otherPort, { HAPROXY_0_VHOST: 'aaa.test' }));
      await served(d, 'aaa.test');
      await periodicResyncs(d, 3);
      expect(d.logsMatching((l) => l.app === '/keep' && (l.level === 'error' || l.level === 'warn'), mark)).toHaveLength(1);
      expect(d.logsMatching((l) => String(l.msg).startsWith('nothing to apply') && l.level === 'info', mark).length).toBeLessThanOrEqual(1);
      expect((await request({ port: d.ports.http, hostHeader: 'keep.test' })).status).toBe(200);
    });
  }, 45_000);

  it('labels put back to those it runs with end the keeping; the same refusal later is said again', async () => {
    const [port] = (await freePorts(1)) as [number];
    await withMarathon([servedApp('/keep', port, { HAPROXY_0_VHOST: 'keep.test' })], async ({ fake, start }) => {
      const d = await start(['--reload-interval', '0.2', '--debounce-ms', '20']);
      await served(d, 'keep.test');
      const keptFile = join(dirname(d.configPath), 'kept-labels.json');
      const isKept = () => existsSync(keptFile) && '/keep' in (JSON.parse(readFileSync(keptFile, 'utf8')) as object);
      const mark = d.mark();
      fake.updateApp('/keep', { labels: refusedLabels('keep.test', 'bogus-again-directive') });
      await d.waitForLog((l) => l.level === 'error' && l.app === '/keep', 10_000, mark);
      await eventually(() => isKept(), 5000, '/keep kept');
      fake.updateApp('/keep', { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_VHOST: 'keep.test' } });
      await fake.settled(8000);
      await eventually(() => !isKept(), 10_000, '/keep no longer kept');
      fake.updateApp('/keep', { labels: refusedLabels('keep.test', 'bogus-again-directive') });
      await eventually(() => d.logsMatching((l) => l.level === 'error' && l.app === '/keep', mark).length === 2, 10_000, 'the refusal said again');
      expect((await request({ port: d.ports.http, hostHeader: 'keep.test' })).status).toBe(200);
    });
  }, 45_000);
});

describe('mlb-ts --sse: labels changed to refused ones while the daemon was down', () => {
  it('a daemon started again serves the app with the labels it was served with (served-labels.json beside the config)', async () => {
    const [port] = (await freePorts(1)) as [number];
    await withMarathon([servedApp('/down', port, { HAPROXY_0_VHOST: 'down.test' })], async ({ fake, start, tmp }) => {
      const files = tmp('mlb-ts-served-');
      const first = await start(onFiles(files));
      await served(first, 'down.test');
      await first.stop();
      fake.updateApp('/down', { labels: refusedLabels('down.test', 'bogus-while-down-directive') });
      await fake.settled();
      const second = await start(onFiles(files));
      await served(second, 'down.test');
      const kept = second.logsMatching((l) => l.level === 'error' && l.app === '/down');
      expect(kept.map((l) => String(l.msg))).toEqual([expect.stringMatching(/its new labels are refused .*bogus-while-down-directive.*; the app keeps the labels it runs with until they change/)]);
      expect(second.installed()).not.toContain('bogus-while-down-directive');
      expect(JSON.parse(readFileSync(join(files, 'kept-labels.json'), 'utf8'))).toHaveProperty(['/down']);
    });
  }, 60_000);
});
