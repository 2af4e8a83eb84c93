/**
 * Event → traffic latency: the fake Marathon runs one app (a vhost and a service port, real
 * HTTP tasks on loopback); the daemon follows it with default settings (debounce,
 * reload interval) and supervises a real HAProxy. Each round scales the app up by one
 * instance and polls HAProxy (bursts of requests on fresh connections, every few ms) until
 * the new task answers. Latency = first answer − the fake's TASK_RUNNING event for that task.
 * Figures only; nothing is asserted.
 */
import { freePorts, get, makeTempDir, median, removeTempDir, sleep, startDaemon, until } from './lib.mjs';

const APP_ID = '/bench/web';
const VHOST = 'web.bench.test';

const tick = (ms) => sleep(ms);

const logTime = (l) => (typeof l.time === 'number' ? l.time : Date.parse(l.time));

/** Applies the daemon logged after `from`: 'runtime' or 'reload' (first one), with its log time. */
function applyAfter(logs, from) {
  for (let i = from; i < logs.length; i++) {
    const l = logs[i];
    if (l.msg === 'applied through the runtime API (no reload)') return { how: 'runtime', at: logTime(l) };
    if (l.msg === 'HAProxy reloaded') return { how: 'reload', at: logTime(l), reason: l.reason };
  }
  return undefined;
}

export async function benchLatency({ scaleUps = 5, pollMs = 5, stagingMs = 300, roundTimeoutMs = 20_000, gapMs = 500, log = () => {} } = {}) {
  const { FakeMarathon } = await import('../dist/demo/fake-marathon.js');
  const dir = makeTempDir('mlb-bench-latency-');
  let fm;
  let daemon;
  try {
    const [servicePort] = await freePorts(1);
    fm = await FakeMarathon.start({
      apps: [{ id: APP_ID, instances: 1, portDefinitions: [{ port: 0 }], labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST, HAPROXY_0_PORT: String(servicePort), HAPROXY_0_BIND_ADDR: '127.0.0.1' } }],
      // Staging takes seconds in a real Marathon: long enough here that the sync its
      // TASK_STAGING event starts is over before TASK_RUNNING (no head start on the debounce).
      stagingMs,
      killGraceSeconds: 0,
    });
    await fm.waitFor((f) => f.tasks(APP_ID).some((t) => t.state === 'TASK_RUNNING'), 10_000);
    daemon = await startDaemon({ dir, marathon: fm.url });
    const http = daemon.ports.http;
    const first = fm.tasks(APP_ID)[0].id;
    const serving = await until(async () => (await get({ port: http, host: VHOST, timeoutMs: 1000 })).headers?.['x-task-id'] === first, 30_000, 50);
    if (!serving) throw new Error(`HAProxy never served the first task: ${daemon.describeFailure()}`);
    await sleep(gapMs);

    const rounds = [];
    for (let i = 1; i <= scaleUps; i++) {
      const known = new Set(fm.tasks(APP_ID).map((t) => t.id));
      const instances = 1 + i;
      const before = await daemon.metrics();
      const logFrom = daemon.logs.length;
      const scaledAt = Date.now();
      fm.scale(APP_ID, instances);
      let event;
      let answeredAt;
      let requests = 0;
      const deadline = scaledAt + roundTimeoutMs;
      while (Date.now() < deadline && answeredAt === undefined) {
        const t0 = Date.now();
        event ??= fm.events('status_update_event').find((e) => e.taskStatus === 'TASK_RUNNING' && e.appId === APP_ID && !known.has(e.taskId));
        // A burst as large as the pool, plus one: round-robin reaches every enabled server.
        const burst = await Promise.all(
          Array.from({ length: instances + 1 }, () =>
            get({ port: http, host: VHOST, timeoutMs: 1000 }).then((r) => ({ r, at: Date.now() })),
          ),
        );
        requests += burst.length;
        for (const { r, at } of burst) {
          const id = r.headers?.['x-task-id'];
          if (id && !known.has(id)) answeredAt = Math.min(answeredAt ?? Infinity, at);
        }
        const wait = pollMs - (Date.now() - t0);
        if (wait > 0) await tick(wait);
      }
      event ??= fm.events('status_update_event').find((e) => e.taskStatus === 'TASK_RUNNING' && e.appId === APP_ID && !known.has(e.taskId));
      // The apply that carried it (runtime API or reload): its log line comes right after.
      await until(() => applyAfter(daemon.logs, logFrom) !== undefined, 5000, 10);
      const applied = applyAfter(daemon.logs, logFrom);
      const after = await daemon.metrics();
      const d = (name) => (after.totals[name] ?? 0) - (before.totals[name] ?? 0);
      const eventAt = event ? Date.parse(event.timestamp) : NaN;
      const row = {
        round: i,
        instances,
        'event→traffic ms': answeredAt !== undefined ? answeredAt - eventAt : NaN,
        'scale→event ms': eventAt - scaledAt,
        'event→apply ms': applied ? applied.at - eventAt : NaN,
        via: applied ? `${applied.how}${applied.reason ? ` (${applied.reason})` : ''}` : answeredAt === undefined ? 'timeout' : '?',
        syncs: d('mlb_syncs_total'),
        runtimeUpdates: d('mlb_runtime_updates_total'),
        reloads: d('mlb_reloads_total'),
        requests,
      };
      rounds.push(row);
      log(`  round ${i}: ${JSON.stringify(row)}`);
      await fm.settled(10_000).catch(() => undefined);
      await sleep(gapMs);
    }
    const lat = rounds.map((r) => r['event→traffic ms']).filter(Number.isFinite);
    const med = median(lat);
    const max = lat.length ? Math.max(...lat) : NaN;
    return {
      rounds,
      summary: {
        scaleUps,
        answered: lat.length,
        medianMs: med,
        maxMs: max,
        viaRuntime: rounds.filter((r) => r.via === 'runtime').length,
        viaReload: rounds.filter((r) => r.via.startsWith('reload')).length,
        issue3: { target: 'median ≤ 500 ms', met: lat.length === scaleUps && med <= 500 },
        issue4: { target: 'median ≤ 100 ms', met: lat.length === scaleUps && med <= 100 },
        pollMs,
        stagingMs,
        settings: 'defaults (--debounce-ms 50, --reload-interval 2, --spare-slots 4)',
      },
    };
  } finally {
    await daemon?.stop();
    await fm?.close();
    removeTempDir(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await benchLatency({ log: console.log });
  console.table(res.rounds);
  console.log(res.summary);
}
