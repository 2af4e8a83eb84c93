/**
 * `npm run bench`: every figure the issues ask for, section by section, then one JSON line
 * (prefixed `BENCH_JSON `) for machines. Prints figures and "target met/missed"; asserts no
 * timing. Exit 1 only when a section could not run at all.
 *
 *   1. render at scale      (bench/render.mjs)         whole `mlb-ts render` process, synthetic clusters
 *   2. event → traffic      (bench/daemon-latency.mjs) fake Marathon + daemon + real HAProxy
 *   3. event storm          (bench/event-storm.mjs)    500 events in 1 s
 *   4. memory stability     (bench/memory.mjs)         1,000 syncs on a 1,000-app cluster
 *
 * Environment (all optional):
 *   BENCH_QUICK=1                 smaller sizes and fewer iterations: a smoke run (~1 min)
 *   BENCH_SECTIONS=render,latency,storm,memory   which sections, in this order
 *   BENCH_RENDER_SIZES=1000,5000,50000   BENCH_RENDER_RUNS=5   BENCH_TASKS_PER_APP=4
 *   BENCH_SCALE_UPS=5             BENCH_POLL_MS=5   BENCH_STAGING_MS=300 (fake's TASK_STAGING → TASK_RUNNING)
 *   BENCH_STORM_EVENTS=500        BENCH_STORM_MS=1000
 *   BENCH_MEMORY_APPS=1000        BENCH_MEMORY_SYNCS=1000   BENCH_MEMORY_WARMUP=100   BENCH_MEMORY_SAMPLE_EVERY=100
 */
import { cpus, loadavg } from 'node:os';
import { benchLatency } from './daemon-latency.mjs';
import { benchStorm } from './event-storm.mjs';
import { envInt, envList, ROOT, round, table } from './lib.mjs';
import { benchMemory } from './memory.mjs';
import { benchRender, nodeStartMs } from './render.mjs';

process.chdir(ROOT);
const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const verbose = process.env.BENCH_VERBOSE === '1';
const say = (line) => console.log(line);
const detail = verbose ? say : () => {};
const sections = (process.env.BENCH_SECTIONS ?? 'render,latency,storm,memory').split(',').map((s) => s.trim()).filter(Boolean);
const metOrMissed = (ok) => (ok === undefined ? 'n/a' : ok ? 'target met' : 'target MISSED');

const cfg = {
  quick,
  render: {
    sizes: envList('BENCH_RENDER_SIZES', quick ? [1000, 5000] : [1000, 5000, 50000]),
    runs: envInt('BENCH_RENDER_RUNS', quick ? 1 : 5),
    tasksPerApp: envInt('BENCH_TASKS_PER_APP', 4),
  },
  latency: { scaleUps: envInt('BENCH_SCALE_UPS', quick ? 3 : 5), pollMs: envInt('BENCH_POLL_MS', 5), stagingMs: envInt('BENCH_STAGING_MS', 300) },
  storm: { events: envInt('BENCH_STORM_EVENTS', 500), spreadMs: envInt('BENCH_STORM_MS', 1000) },
  memory: {
    apps: envInt('BENCH_MEMORY_APPS', 1000),
    tasksPerApp: envInt('BENCH_TASKS_PER_APP', 4),
    syncs: envInt('BENCH_MEMORY_SYNCS', quick ? 150 : 1000),
    warmup: envInt('BENCH_MEMORY_WARMUP', quick ? 50 : 100),
    sampleEvery: envInt('BENCH_MEMORY_SAMPLE_EVERY', quick ? 50 : 100),
  },
};

const summary = { machine: { cpus: cpus().length, loadavgAtStart: loadavg().map((x) => round(x, 2)), node: process.version }, config: cfg, sections: {} };
let failed = false;

async function section(name, title, fn) {
  if (!sections.includes(name)) return;
  say(`\n=== ${title} ===`);
  const t0 = Date.now();
  try {
    summary.sections[name] = await fn();
  } catch (e) {
    failed = true;
    summary.sections[name] = { error: e instanceof Error ? e.message : String(e) };
    say(`section ${name} could not run: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
  }
  say(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

await section('render', 'Render at scale: `mlb-ts render` on synthetic clusters (whole process, median of runs)', async () => {
  const rows = benchRender(cfg.render.sizes, cfg.render.runs, cfg.render.tasksPerApp);
  table('apps × tasks → servers, wall time (median, fastest), peak RSS', rows.map((r) => ({ apps: r.apps, servers: r.servers, 'wall ms': r.wallMs, 'fastest ms': r.minWallMs, 'peak RSS MB': r.peakRssMb, 'µs/server': r.usPerServer, 'floor ms': r.floorMs, runs: r.runs })));
  const at = (n) => rows.find((r) => r.apps === n);
  const r5k = at(5000);
  const r50k = at(50000);
  const ratio = r5k && r50k ? r50k.usPerServer / r5k.usPerServer : undefined;
  const targets = [
    { target: '5k apps: wall ≤ 400 ms', value: r5k ? `${r5k.wallMs} ms` : 'not run', verdict: metOrMissed(r5k ? r5k.wallMs <= 400 : undefined) },
    { target: '5k apps: peak RSS ≤ 150 MB', value: r5k ? `${r5k.peakRssMb} MB` : 'not run', verdict: metOrMissed(r5k ? r5k.peakRssMb <= 150 : undefined) },
    { target: 'linearity: µs/server at 50k ÷ at 5k ≤ 1.5', value: ratio !== undefined ? ratio.toFixed(2) : 'not run', verdict: metOrMissed(ratio !== undefined ? ratio <= 1.5 : undefined) },
  ];
  table('targets', targets);
  if (r5k) say(`Floor at 5k apps: ${r5k.floorMs} ms for a Node process that only reads, JSON.parses and writes a server line per task (bench/floor.mjs), against ${r5k.wallMs} ms for mlb-ts render.`);
  const nodeMs = nodeStartMs();
  say(`Node's own start here (node -e 0, median of 5): ${nodeMs} ms${process.env.NODE_EXTRA_CA_CERTS ? ' — NODE_EXTRA_CA_CERTS is set in this environment, and Node reads that CA file at every start' : ''}.`);
  return {
    nodeStartMs: nodeMs,
    nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
    rows,
    floor5kMs: r5k ? r5k.floorMs : null,
    linearityRatio: ratio !== undefined ? round(ratio, 2) : null,
    targets: {
      wall5kMet: r5k ? r5k.wallMs <= 400 : null,
      rss5kMet: r5k ? r5k.peakRssMb <= 150 : null,
      linearityMet: ratio !== undefined ? ratio <= 1.5 : null,
    },
  };
});

await section('latency', 'Event → traffic latency: scale up by one, poll HAProxy until the new task answers (daemon defaults)', async () => {
  const res = await benchLatency({ ...cfg.latency, log: detail });
  table('per scale-up (latency = first answer from the new task − its TASK_RUNNING event)', res.rounds);
  const s = res.summary;
  table('summary', [
    { figure: 'median event→traffic', value: `${s.medianMs} ms`, 'issue 3 (≤ 500 ms)': metOrMissed(s.issue3.met), 'issue 4 (≤ 100 ms)': metOrMissed(s.issue4.met) },
    { figure: 'max event→traffic', value: `${s.maxMs} ms`, 'issue 3 (≤ 500 ms)': '', 'issue 4 (≤ 100 ms)': '' },
    { figure: 'applied via runtime API / reload', value: `${s.viaRuntime} / ${s.viaReload}`, 'issue 3 (≤ 500 ms)': '', 'issue 4 (≤ 100 ms)': '' },
  ]);
  return res;
});

await section('storm', `Event storm: ${cfg.storm.events} health flips on a side app over ${cfg.storm.spreadMs} ms (daemon with -H)`, async () => {
  const res = await benchStorm({ ...cfg.storm, log: detail });
  const s = res.summary;
  table('during and after the storm (from /metrics deltas)', [
    { figure: 'events sent / received by the daemon', value: `${s.eventsSent} / ${s.eventsReceived}` },
    { figure: 'storm duration', value: `${s.stormMs} ms` },
    { figure: 'syncs (Marathon fetches)', value: `${s.syncs} (${s.marathonFetches})` },
    { figure: 'runtime updates', value: s.runtimeUpdates },
    { figure: 'reloads', value: s.reloads },
    { figure: 'sync failures', value: s.syncFailures },
    { figure: 'last apply after the last event', value: `${s.lastApplyAfterStormMs} ms` },
    { figure: 'final config = fresh --dry-run of final state', value: s.finalConfigMatchesDryRun ? 'yes' : `NO ${JSON.stringify(s.firstConfigDifference ?? {})}` },
    { figure: 'HAProxy enabled servers = healthy tasks', value: s.haproxyServersMatchHealthyTasks ? `yes (${s.haproxyEnabled})` : `NO (${s.haproxyEnabled} enabled, ${s.healthyTasks} healthy)` },
  ]);
  return res;
});

await section('memory', `Memory stability: ${cfg.memory.syncs} syncs on a ${cfg.memory.apps}-app cluster (static Marathon, stub admin socket, --command true)`, async () => {
  const res = await benchMemory({ ...cfg.memory, log: detail });
  table('daemon VmRSS samples (taken when idle)', res.samples);
  const s = res.summary;
  table('summary', [
    { figure: 'syncs done (Marathon fetches)', value: `${s.syncsDone} (${s.marathonFetches})` },
    { figure: 'changes: none / server / label', value: `${s.changes.none} / ${s.changes.server} / ${s.changes.label}` },
    { figure: 'runtime updates / reloads / fallbacks / failures', value: `${s.runtimeUpdates} / ${s.reloads} / ${s.runtimeFallbacks} / ${s.syncFailures}` },
    { figure: 'ms per sync (wall, one after the other)', value: s.msPerSync },
    { figure: 'RSS start / after warm-up / end', value: `${s.rssStartMb} / ${s.rssAfterWarmupMb} / ${s.rssEndMb} MB` },
    { figure: 'peak RSS (VmHWM)', value: `${s.peakRssMb} MB` },
    { figure: 'after warm-up: min–max of samples, trend', value: s.postWarmupRangeMb ? `${s.postWarmupRangeMb[0]}–${s.postWarmupRangeMb[1]} MB, ${s.trendMbPer100Syncs} MB per 100 syncs` : 'n/a' },
    { figure: 'growth after warm-up', value: `${s.growthAfterWarmupPct} % (${s.growthMeasure})`, verdict: `${metOrMissed(s.met)} (≤ 10 %)` },
    { figure: 'one sample: end vs after warm-up', value: `${s.endVsWarmupPct} %`, verdict: '' },
  ]);
  return res;
});

summary.machine.loadavgAtEnd = loadavg().map((x) => round(x, 2));
say('\n(the machine may be shared: load averages at start/end ' + `${summary.machine.loadavgAtStart.join(' ')} / ${summary.machine.loadavgAtEnd.join(' ')}, ${summary.machine.cpus} CPUs)`);
say(`BENCH_JSON ${JSON.stringify(summary)}`);
if (failed) process.exitCode = 1;
