import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marathonLbStatsUrls } from '../../../src/cli/zdd.js';
import { runCli } from '../../helpers/cli.js';

/**
 * marathon-lb's zdd.py command lines run as `mlb-ts zdd …` (dry runs against a file of
 * /v2/apps): each plans exactly as its mlb-ts spelling does.
 */

let dir: string;
let apps: string;
let json: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlb-ts-zdd-cli-'));
  apps = join(dir, 'apps.json');
  json = join(dir, 'app.json');
  const labels = { HAPROXY_GROUP: 'external', HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_ALT_PORT: '10001', HAPROXY_0_PORT: '8080' };
  writeFileSync(json, JSON.stringify({ id: '/shop', instances: 4, cmd: 'serve 2', portDefinitions: [{ port: 10000 }], labels }));
  const tasks = Array.from({ length: 10 }, (_, i) => ({ id: `shop-blue.t${i}`, appId: '/shop-blue', host: '127.0.0.1', ports: [31000 + i], state: 'TASK_RUNNING' }));
  writeFileSync(apps, JSON.stringify({ apps: [{ id: '/shop-blue', instances: 10, cmd: 'serve 1', portDefinitions: [{ port: 10000 }], labels: { ...labels, HAPROXY_DEPLOYMENT_COLOUR: 'blue' }, tasks }] }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The plan without the start time (it is the run's clock). */
const planOf = (stdout: string) => stdout.replace(/"HAPROXY_DEPLOYMENT_STARTED_AT": "[^"]*"/, '"HAPROXY_DEPLOYMENT_STARTED_AT": "…"');

describe("zdd.py's command lines", () => {
  const STATS = 'http://127.0.0.1:9090/haproxy?stats;csv';
  it.each([
    ['-m -l -j -d -f', ['-m', '@apps', '-l', 'http://127.0.0.1:9090', '-j', '@json', '-d', '-f'], ['--marathon', '@apps', '--lb-stats-url', STATS, '--json', '@json', '--dry-run']],
    ['--marathon-lb --force (long forms)', ['--marathon', '@apps', '--marathon-lb', 'http://127.0.0.1:9090/', '--json', '@json', '--dry-run', '--force'], ['-m', '@apps', '--lb-stats-url', STATS, '--json', '@json', '--dry-run']],
    ['-s -i -w', ['-m', '@apps', '-l', 'http://127.0.0.1:9090', '-j', '@json', '-d', '-s', '7', '-i', '2', '-w', '60'], ['-m', '@apps', '--lb-stats-url', STATS, '--json', '@json', '--dry-run', '--step-delay', '7', '--initial-instances', '2', '--max-wait', '60']],
    ['-n 0 is none (zdd.py default)', ['-m', '@apps', '-j', '@json', '-d', '-n', '0'], ['-m', '@apps', '--json', '@json', '--dry-run']],
    ['-n', ['-m', '@apps', '-j', '@json', '-d', '-n', '6'], ['-m', '@apps', '--json', '@json', '--dry-run', '--new-instances', '6']],
    ['-r with one app', ['-m', '@apps', '-j', '@json', '-d', '-r', '-f'], ['-m', '@apps', '--json', '@json', '--dry-run', '--resume']],
    ['-c with one app', ['-m', '@apps', '-j', '@json', '-d', '-c'], ['-m', '@apps', '--json', '@json', '--dry-run', '--complete-cur']],
    ['-p with one app', ['-m', '@apps', '-j', '@json', '-d', '-p'], ['-m', '@apps', '--json', '@json', '--dry-run', '--complete-prev']],
    ['--pre-kill-hook', ['-m', '@apps', '-j', '@json', '-d', '--pre-kill-hook', '/bin/true'], ['-m', '@apps', '--json', '@json', '--dry-run']],
    [
      'logging and auth flags',
      ['-m', '@apps', '-j', '@json', '-d', '--syslog-socket', '/dev/null', '--log-format', '%(message)s', '--log-level', 'DEBUG', '--dcos-auth-credentials', '{}'],
      ['-m', '@apps', '--json', '@json', '--dry-run'],
    ],
  ])('%s', async (_, zddPy, mlbTs) => {
    const fill = (args: string[]) => ['zdd', ...args.map((a) => (a === '@apps' ? apps : a === '@json' ? json : a))];
    const [py, ts] = [await runCli(fill(zddPy)), await runCli(fill(mlbTs))];
    expect([py.code, ts.code], py.stderr + ts.stderr).toEqual([0, 0]);
    expect(planOf(py.stdout)).toBe(planOf(ts.stdout));
    expect(py.stderr).not.toMatch(/Unknown argument/);
  });

  it('logging and auth flags: one note each on stderr', async () => {
    const run = await runCli(['zdd', '-m', apps, '-j', json, '-d', '--syslog-socket', '/dev/log', '--log-format', 'x', '--log-level', 'INFO', '--dcos-auth-credentials', '{}']);
    expect(run.code, run.stderr).toBe(0);
    const notes = run.stderr.split('\n').filter((l) => l.startsWith('mlb-ts: note: '));
    expect(notes.map((n) => /--([a-z-]+) is accepted for marathon-lb compatibility and ignored/.exec(n)?.[1]).sort()).toEqual(['dcos-auth-credentials', 'log-format', 'log-level', 'syslog-socket']);
  });

  it('the default step grows by half, as zdd.py scales', async () => {
    const run = await runCli(['zdd', '-m', apps, '-j', json, '-d']);
    expect(run.stdout).toContain("shift traffic in steps growing by half (zdd.py's way; --step sets a fixed size), 5 s apart once each step is healthy: /shop-green 1 → 2 → 3 → 5 → 10; /shop-blue 10 → 9 → 8 → 7 → 5 → 0");
  });

  it("-n 4 of 10 live: zdd.py's hybrid deploy, the old app kept with the rest", async () => {
    const run = await runCli(['zdd', '-m', apps, '-j', json, '-d', '-n', '4']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(1, 5)).toEqual([
      'create /shop-green (green) with 1 instance (target 10; hybrid: it grows to 4); service port 10001 (HAPROXY_DEPLOYMENT_ALT_PORT); HAPROXY_0_PORT 8080 as /shop-blue binds; HAPROXY_APP_ID /shop',
      "shift traffic in steps growing by half (zdd.py's way; --step sets a fixed size), 5 s apart once each step is healthy: /shop-green 1 → 2 → 3 → 4; /shop-blue 10 → 9 → 8 → 7 → 6",
      'kill each /shop-blue task (DELETE …/tasks/{id}?scale=true) at once (no --haproxy-socket, --haproxy-master-socket or --lb-stats-url to watch its sessions)',
      'hybrid deploy (-n 4): keep /shop-blue with 6 instances, not deleted; finish later with --complete-cur (all to /shop-green) or --complete-prev (all back to /shop-blue)',
    ]);
    expect(run.stdout).not.toMatch(/delete \/shop-blue/);
    expect(run.stdout).toContain('"HAPROXY_DEPLOYMENT_NEW_INSTANCES": "4"');
    // --target is the whole target (no hybrid): -n is not an alias of it any more.
    const whole = await runCli(['zdd', '-m', apps, '-j', json, '-d', '--target', '4']);
    expect(whole.stdout).toContain('create /shop-green (green) with 1 instance (target 4);');
    expect(whole.stdout).toContain('delete /shop-blue once it has no tasks left');
    expect(whole.stdout).toContain('"HAPROXY_DEPLOYMENT_NEW_INSTANCES": "0"');
  });

  it.each([
    ['http://127.0.0.1:9090', false, ['http://127.0.0.1:9090/haproxy?stats;csv']],
    ['http://localhost:9090/', false, ['http://127.0.0.1:9090/haproxy?stats;csv']],
    ['http://127.0.0.1', false, ['http://127.0.0.1:80/haproxy?stats;csv']],
    ['http://no-such-host.invalid:9090', true, ['http://no-such-host.invalid:9090/haproxy?stats;csv']],
  ] as const)('--marathon-lb %s (dry run %s) → %j', async (raw, dry, urls) => {
    expect(await marathonLbStatsUrls(raw, dry)).toEqual(urls);
  });

  it('--marathon-lb: a name that does not resolve is a usage error outside a dry run', async () => {
    const run = await runCli(['zdd', '-m', apps, '-j', json, '-l', 'http://no-such-host.invalid:9090']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mlb-ts: E_USAGE: --marathon-lb: cannot resolve no-such-host\.invalid: /);
  });
});
