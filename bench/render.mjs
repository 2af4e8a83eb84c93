/**
 * Render at scale: the whole `mlb-ts render` process on synthetic clusters. Prints apps,
 * servers, wall ms and peak RSS (median of runs). Figures only; nothing is asserted here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticCluster } from './synthetic.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall ms of `node -e 0` here (median of 5): the part of every figure below that is Node's own start. */
export function nodeStartMs() {
  const walls = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return Math.round(median(walls));
}

/** Wall ms of one bench/floor.mjs process on `doc` (see there): read, JSON.parse, a line per task, write. */
function floorRunMs(doc, out) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, [new URL('./floor.mjs', import.meta.url).pathname, doc, out], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`floor run failed (${res.status}): ${res.stderr.slice(-500)}`);
  rmSync(out, { force: true });
  return wall;
}

export function benchRender(sizes = [1000, 5000, 50000], runs = 5, tasksPerApp = 4) {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-bench-'));
  const rows = [];
  try {
    for (const apps of sizes) {
      const doc = join(dir, `apps-${apps}.json`);
      writeFileSync(doc, JSON.stringify(syntheticCluster(apps, tasksPerApp)));
      const walls = [];
      const rss = [];
      const floors = [];
      let servers = 0;
      const n = apps >= 50000 ? Math.min(runs, 2) : runs;
      for (let r = 0; r < n; r++) {
        const usage = join(dir, 'rusage.json');
        const out = join(dir, `out-${apps}`);
        const t0 = process.hrtime.bigint();
        const res = spawnSync(process.execPath, ['--import', new URL('./rusage-hook.mjs', import.meta.url).pathname, 'dist/cli/main.js', 'render', '-m', doc, '--out', out, '--group', 'external', '--spare-slots', '0'], {
          env: { ...process.env, MLB_BENCH_RUSAGE: usage },
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        const wall = Number(process.hrtime.bigint() - t0) / 1e6;
        if (res.status !== 0) throw new Error(`render failed (${res.status}): ${res.stderr.slice(-500)}`);
        walls.push(wall);
        rss.push(JSON.parse(readFileSync(usage, 'utf8')).maxRssKb / 1024);
        servers = Number(/(\d+) servers/.exec(res.stderr)?.[1] ?? 0);
        rmSync(out, { recursive: true, force: true });
        floors.push(floorRunMs(doc, join(dir, 'floor.cfg')));
      }
      const wall = median(walls);
      rows.push({ apps, tasks: apps * tasksPerApp, servers, wallMs: Math.round(wall), minWallMs: Math.round(Math.min(...walls)), peakRssMb: Math.round(median(rss)), usPerServer: +((wall * 1000) / Math.max(1, servers)).toFixed(2), floorMs: Math.round(median(floors)), runs: n });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = benchRender();
  console.table(rows);
}
