/**
 * Memory stability of the daemon over many syncs: a synthetic cluster (bench/synthetic.mjs,
 * 1,000 apps × 4 tasks by default) served by a static Marathon (bench/static-marathon.mjs),
 * `syncs` syncs triggered one after the other — mostly POST /_mlb_signal/hup, every tenth a
 * pushed Marathon event — with small changes in between: half the syncs render nothing new,
 * most of the others move one server (runtime API), about one in a hundred changes a label
 * (a reload). No real HAProxy: a stub admin socket accepts the runtime commands and reloads
 * run `--command true` (with --skip-validation and --reload-interval 0), so 1,000 syncs
 * cost what mlb-ts itself costs. Samples the daemon's VmRSS at start, after warm-up, every
 * `sampleEvery` syncs and at the end. Figures only; nothing is asserted.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, round, rssMb, sleep, startDaemon } from './lib.mjs';
import { startStaticMarathon } from './static-marathon.mjs';
import { syntheticCluster } from './synthetic.mjs';

/** Answers like HAProxy's admin socket: nothing for commands that worked, a state dump for `show servers state`. */
async function stubAdminSocket(path) {
  let commands = 0;
  const server = createServer((sock) => {
    let buf = '';
    sock.on('data', (c) => {
      buf += c.toString('utf8');
    });
    sock.on('end', () => {
      const cmds = buf.trim().split(';').filter(Boolean);
      commands += cmds.length;
      const out = cmds.map((c) => (c.trim() === 'show servers state' ? '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_port\n' : '\n')).join('');
      sock.end(out);
    });
    sock.on('error', () => undefined);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    get commands() {
      return commands;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function vmHwmMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Waits until the daemon's counters stay still for `quietMs` (bounded). */
async function idle(daemon, quietMs = 300, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const sig = async () => {
    const m = await daemon.metrics();
    return ['mlb_syncs_total', 'mlb_render_seconds_count', 'mlb_apply_seconds_count', 'mlb_runtime_updates_total', 'mlb_reloads_total'].map((n) => m.totals[n] ?? 0).join(',');
  };
  let last = await sig();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(50);
    const now = await sig();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return true;
  }
  return false;
}

/** One small change to the document for sync `r` (1-based); returns what kind. */
function mutate(doc, r, apps) {
  if (r % 200 === 50 || r % 200 === 150) {
    // A label change: the config's structure changes, so a reload (`true`).
    const labels = doc.apps[0].labels;
    if (labels.HAPROXY_0_BALANCE) delete labels.HAPROXY_0_BALANCE;
    else labels.HAPROXY_0_BALANCE = 'source';
    return 'label';
  }
  if (r % 2 === 0) return 'none';
  // A host-networking app's first task moves to another port (r%4 = 1), then back (r%4 = 3):
  // only servers change, so the runtime API; the slot it left is reused on the way back.
  const hostApps = Math.max(1, Math.floor(apps / 4));
  const app = doc.apps[(Math.floor(r / 4) % hostApps) * 4];
  const task = app.tasks[0];
  task.ports[0] = task.ports[0] >= 40000 ? task.ports[0] - 20000 : task.ports[0] + 20000;
  return 'server';
}

export async function benchMemory({ apps = 1000, tasksPerApp = 4, syncs = 1000, warmup = 100, sampleEvery = 100, eventEvery = 10, log = () => {} } = {}) {
  const dir = makeTempDir('mlb-bench-memory-');
  let marathon;
  let admin;
  let daemon;
  try {
    const doc = syntheticCluster(apps, tasksPerApp);
    marathon = await startStaticMarathon(doc);
    mkdirSync(join(dir, 'run'), { recursive: true });
    admin = await stubAdminSocket(join(dir, 'run', 'admin.sock'));
    daemon = await startDaemon({
      dir,
      marathon: marathon.url,
      keepLogs: false,
      readyTimeoutMs: 60_000,
      extra: ['--command', 'true', '--skip-validation', '--reload-interval', '0', '--spare-slots', '4'],
    });
    const pid = daemon.pid;
    await idle(daemon, 500);
    const samples = [];
    const sample = async (label, sync) => {
      await idle(daemon, 200);
      const mb = rssMb(pid);
      samples.push({ at: label, sync, rssMb: round(mb, 1) });
      log(`  rss ${label} (sync ${sync}): ${round(mb, 1)} MB`);
      return mb;
    };
    const m0 = await daemon.metrics();
    const startMb = await sample('start', 0);
    let warmMb = NaN;
    const kinds = { none: 0, server: 0, label: 0 };
    const fetches0 = marathon.counts.apps;
    const t0 = Date.now();
    let done = 0;
    let timeouts = 0;
    for (let r = 1; r <= syncs; r++) {
      const kind = mutate(marathon.doc, r, apps);
      kinds[kind]++;
      if (kind !== 'none') marathon.changed();
      const fetched = marathon.nextFetch(30_000);
      if (r % eventEvery === 0) marathon.push('status_update_event', { taskId: `bench.${r}`, taskStatus: 'TASK_RUNNING', appId: '/team0/service-0' });
      else await daemon.hup();
      if (!(await fetched)) {
        timeouts++;
        if (timeouts > 3 || daemon.exited) break;
      }
      done = r;
      if (r === warmup) warmMb = await sample('after warm-up', r);
      else if (r % sampleEvery === 0 && r !== syncs) await sample('', r);
    }
    const endMb = await sample('end', done);
    const wallMs = Date.now() - t0;
    const m1 = await daemon.metrics();
    const d = (n) => (m1.totals[n] ?? 0) - (m0.totals[n] ?? 0);
    const peakMb = vmHwmMb(pid);
    const base = Number.isFinite(warmMb) ? warmMb : startMb;
    const endVsWarmupPct = ((endMb - base) / base) * 100;
    // RSS moves with every GC; the least-squares slope over the samples after warm-up says
    // more about a leak than two points do.
    const post = samples.filter((x) => x.sync >= warmup && Number.isFinite(x.rssMb));
    let trend = NaN;
    if (post.length >= 3) {
      const mx = post.reduce((a, x) => a + x.sync, 0) / post.length;
      const my = post.reduce((a, x) => a + x.rssMb, 0) / post.length;
      const sxy = post.reduce((a, x) => a + (x.sync - mx) * (x.rssMb - my), 0);
      const sxx = post.reduce((a, x) => a + (x.sync - mx) ** 2, 0);
      trend = sxx > 0 ? (sxy / sxx) * 100 : NaN;
    }
    // One sample lands anywhere in a GC cycle (±10 % here): growth compares the median of
    // the first three samples after warm-up with the median of the last three.
    const median3 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const firstMb = post.length >= 6 ? median3(post.slice(0, 3).map((x) => x.rssMb)) : base;
    const lastMb = post.length >= 6 ? median3(post.slice(-3).map((x) => x.rssMb)) : endMb;
    const growthPct = ((lastMb - firstMb) / firstMb) * 100;
    const summary = {
      apps,
      servers: apps * tasksPerApp,
      syncsAsked: syncs,
      syncsDone: done,
      marathonFetches: marathon.counts.apps - fetches0,
      changes: kinds,
      runtimeUpdates: d('mlb_runtime_updates_total'),
      reloads: d('mlb_reloads_total'),
      runtimeFallbacks: d('mlb_runtime_fallbacks_total'),
      syncFailures: d('mlb_sync_failures_total'),
      adminCommands: admin.commands,
      msPerSync: round(wallMs / Math.max(1, done), 1),
      rssStartMb: round(startMb, 1),
      rssAfterWarmupMb: round(warmMb, 1),
      rssEndMb: round(endMb, 1),
      peakRssMb: round(peakMb, 1),
      growthAfterWarmupPct: round(growthPct, 1),
      growthMeasure: post.length >= 6 ? 'median of the last 3 samples vs median of the first 3 after warm-up' : 'end vs after warm-up',
      endVsWarmupPct: round(endVsWarmupPct, 1),
      postWarmupRangeMb: post.length ? [Math.min(...post.map((x) => x.rssMb)), Math.max(...post.map((x) => x.rssMb))] : null,
      trendMbPer100Syncs: round(trend, 2),
      target: 'growth ≤ 10% after warm-up',
      met: Number.isFinite(growthPct) && growthPct <= 10 && done === syncs,
      timeouts,
    };
    return { samples, summary };
  } finally {
    await daemon?.stop();
    await admin?.close();
    await marathon?.close();
    removeTempDir(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await benchMemory({ syncs: Number(process.env.BENCH_MEMORY_SYNCS ?? 1000), log: console.log });
  console.table(res.samples);
  console.log(res.summary);
}
