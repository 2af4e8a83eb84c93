import { setFlagsFromString } from 'node:v8';

let ownProcess = false;

/**
 * Called by the executable's entry point: the process is mlb-ts's own, so its V8 may be tuned.
 * In-process callers (the test suite, an embedding program) keep V8 as they set it.
 */
export function heapIsOurs(): void {
  ownProcess = true;
}

/**
 * For one-shot runs (render, --dry-run, one-shot mode): V8's young generation stays at its start
 * size instead of doubling up to 2 × 16 MB. Nearly everything a render allocates lives to its end
 * (the apps, the model, the config's text), so a big young generation mostly holds copies of live
 * objects on their way to the old one: at 5,000 apps × 4 tasks it added about 20 MB to peak RSS, for
 * no wall time measurably saved (docs/benchmarks.md). The daemon keeps V8's default.
 *
 * Only on Node 20, whose V8 was measured, as V8 prints an error line for a flag it does not know.
 * Returns whether the flag was set.
 */
export function keepYoungGenerationSmall(nodeVersion = process.versions.node): boolean {
  if (!ownProcess || nodeVersion.split('.')[0] !== '20') return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
