import { execFileSync } from 'node:child_process';

/** The suite needs a real HAProxy: without one it fails at once, saying how to get it. */
export default function setup(): void {
  const bin = process.env.HAPROXY_BIN ?? 'haproxy';
  try {
    const v = execFileSync(bin, ['-v'], { encoding: 'utf8' });
    const m = /version (\d+)\.(\d+)/.exec(v);
    if (!m || Number(m[1]) * 100 + Number(m[2]) < 206) throw new Error(`HAProxy ≥ 2.6 needed, found: ${v.split('\n')[0]}`);
  } catch (e) {
    throw new Error(`mlb-ts tests need HAProxy ≥ 2.6 (${(e as Error).message}). Install it: apt-get install -y haproxy — or run .ci/run, which installs everything the tests need.`);
  }
}
