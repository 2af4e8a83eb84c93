// Preloaded (`node --import`) into the measured process: at exit it reports its own peak RSS.
import { writeFileSync } from 'node:fs';

const out = process.env.MLB_BENCH_RUSAGE;
process.on('exit', () => {
  if (out) writeFileSync(out, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }));
});
