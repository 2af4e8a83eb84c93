/**
 * Event storm: a side app with health-checked tasks whose health flips `events` times, spread
 * evenly over `spreadMs` (500 in one second by default), while the daemon runs with -H (so
 * every flip changes a server's state) and otherwise default settings. Reports what the
 * daemon did meanwhile — syncs, runtime updates, reloads — from /metrics deltas, and whether
 * what it ends with matches the final state: the config equals a fresh `--dry-run` of the
 * fake's final apps, and the running HAProxy's enabled servers are the healthy tasks.
 * Figures only; nothing is asserted.
 */
import { enabledServers, freePorts, get, makeTempDir, removeTempDir, sleep, startDaemon, until } from './lib.mjs';

const MAIN_APP = '/bench/web';
const STORM_APP = '/bench/storm';
const VHOST = 'storm.bench.test';

const metricDelta = (a, b, name) => (b.totals[name] ?? 0) - (a.totals[name] ?? 0);

/** Polls /metrics until the daemon has done nothing for `quietMs` (bounded by `timeoutMs`). */
async function quiet(daemon, quietMs, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const sig = (m) => ['mlb_syncs_total', 'mlb_runtime_updates_total', 'mlb_reloads_total', 'mlb_events_total', 'mlb_sync_failures_total'].map((n) => m.totals[n] ?? 0).join(',');
  let last = sig(await daemon.metrics());
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = sig(await daemon.metrics());
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return true;
  }
  return false;
}

export async function benchStorm({ events = 500, spreadMs = 1000, tasks = 4, log = () => {} } = {}) {
  const { FakeMarathon } = await import('../dist/demo/fake-marathon.js');
  const dir = makeTempDir('mlb-bench-storm-');
  let fm;
  let daemon;
  try {
    const [mainPort, stormPort] = await freePorts(2);
    const labels = (vhost, port) => ({ HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: vhost, HAPROXY_0_PORT: String(port), HAPROXY_0_BIND_ADDR: '127.0.0.1' });
    fm = await FakeMarathon.start({
      apps: [
        { id: MAIN_APP, instances: 1, portDefinitions: [{ port: 0 }], labels: labels('web.bench.test', mainPort) },
        {
          id: STORM_APP,
          instances: tasks,
          portDefinitions: [{ port: 0 }],
          labels: labels(VHOST, stormPort),
          healthChecks: [{ protocol: 'MESOS_HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 }],
        },
      ],
      healthyAfterMs: 0,
      killGraceSeconds: 0,
    });
    await fm.waitFor((f) => f.tasks(STORM_APP).filter((t) => t.healthCheckResults?.[0]?.alive === true).length === tasks && f.tasks(MAIN_APP).length === 1, 10_000);
    daemon = await startDaemon({ dir, marathon: fm.url, extra: ['-H'] });
    const serving = await until(async () => (await get({ port: daemon.ports.http, host: VHOST, timeoutMs: 1000 })).status === 200, 30_000, 50);
    if (!serving) throw new Error(`HAProxy never served the storm app: ${daemon.describeFailure()}`);
    await quiet(daemon, 500, 10_000);

    // Task 0 stays healthy (the backend never empties); the others flip in turn.
    const ids = fm.tasks(STORM_APP).map((t) => t.id);
    const alive = new Map(ids.map((id) => [id, true]));
    const before = await daemon.metrics();
    const eventsBefore = fm.events().length;
    const fetchesBefore = fm.requestCount('/v2/apps');
    const logFrom = daemon.logs.length;
    const start = Date.now();
    let sent = 0;
    const hardStop = start + spreadMs * 5 + 5000;
    while (sent < events && Date.now() < hardStop) {
      const due = Math.min(events, Math.floor(((Date.now() - start) * events) / spreadMs) + 1);
      for (; sent < due; sent++) {
        const id = ids[1 + (sent % (ids.length - 1))];
        alive.set(id, !alive.get(id));
        fm.setHealth(id, alive.get(id));
      }
      await sleep(1);
    }
    const stormMs = Date.now() - start;
    const published = fm.events().length - eventsBefore;
    const settledQuietly = await quiet(daemon, 3000, 30_000);
    const after = await daemon.metrics();
    const endedAt = Date.now();
    const fetches = fm.requestCount('/v2/apps') - fetchesBefore;

    // Does what the daemon ends with match the final state?
    const config = await daemon.config();
    const expected = await daemon.dryRun();
    const configMatches = config === expected;
    const healthy = new Set(fm.tasks(STORM_APP).filter((t) => t.healthCheckResults?.[0]?.alive === true).map((t) => `${t.host}:${t.ports[0]}`));
    const live = await enabledServers(daemon.adminSocket);
    const backend = [...live.keys()].find((b) => b.includes('bench_storm'));
    const enabled = backend ? live.get(backend) : new Set();
    const haproxyMatches = enabled.size === healthy.size && [...healthy].every((a) => enabled.has(a));
    const applies = daemon.logs.slice(logFrom).filter((l) => l.msg === 'applied through the runtime API (no reload)' || l.msg === 'HAProxy reloaded');
    const lastApplyAt = applies.length ? Date.parse(applies.at(-1).time) : NaN;

    const summary = {
      eventsSent: sent,
      eventsPublished: published,
      stormMs,
      eventsReceived: metricDelta(before, after, 'mlb_events_total'),
      syncs: metricDelta(before, after, 'mlb_syncs_total'),
      runtimeUpdates: metricDelta(before, after, 'mlb_runtime_updates_total'),
      reloads: metricDelta(before, after, 'mlb_reloads_total'),
      syncFailures: metricDelta(before, after, 'mlb_sync_failures_total'),
      marathonFetches: fetches,
      lastApplyAfterStormMs: Number.isFinite(lastApplyAt) ? lastApplyAt - (start + stormMs) : NaN,
      settledQuietly,
      finalConfigMatchesDryRun: configMatches,
      haproxyServersMatchHealthyTasks: haproxyMatches,
      healthyTasks: healthy.size,
      haproxyEnabled: enabled.size,
      settings: '-H, otherwise defaults (--debounce-ms 50, --reload-interval 2)',
      measuredForMs: endedAt - start,
    };
    if (!configMatches) {
      const a = config.split('\n');
      const b = expected.split('\n');
      const i = a.findIndex((l, k) => l !== b[k]);
      summary.firstConfigDifference = { line: i + 1, daemon: a[i], dryRun: b[i] };
    }
    log(`  storm: ${JSON.stringify(summary)}`);
    return { summary };
  } finally {
    await daemon?.stop();
    await fm?.close();
    removeTempDir(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await benchStorm({ log: console.log });
  console.log(res.summary);
}
