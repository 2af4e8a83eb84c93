import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadPendingPath } from '../../src/haproxy/install.js';
import { showProc, type ShowProc } from '../../src/haproxy/master.js';
import { type Backend, startBackend } from '../helpers/backends.js';
import { app, task, withIp, withIpAddress, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { waitGone } from '../helpers/daemon.js';
import { type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { request } from '../helpers/http.js';
import { freePorts } from '../helpers/ports.js';

/**
 * One-shot mode (`mlb-ts --group external`, no --sse) as operators run it from cron or a
 * deploy script: a run after a failed reload reloads again, and without --command a HAProxy
 * that is not running (no master socket, or a stale one HAProxy left behind) is no error.
 */

const BIN = 'dist/cli/main.js';

function mlb(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mlb-ts --group external (one shot)', () => {
  let tmp: string;
  let backend: Backend;
  let appsFile: string;
  let ports: { service: number; stats: number; appId: number; http: number; https: number };
  let running: RunningHaproxy | undefined;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mlb-ts-oneshot-'));
    backend = await startBackend({ name: 'web-1' });
    const [service, stats, appId, http, https] = (await freePorts(5)) as [number, number, number, number, number];
    ports = { service, stats, appId, http, https };
    appsFile = join(tmp, 'apps.json');
    const web = app('/web', withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1' }), withPortDefinitions(service), withTasks(task('127.0.0.1', [backend.port])));
    writeFileSync(appsFile, JSON.stringify({ apps: [web] }));
  });

  afterAll(async () => {
    await running?.stop();
    await backend?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const common = (dir: string, apps = appsFile) => [
    '--group', 'external', '-m', apps,
    '--haproxy-config', join(dir, 'haproxy.cfg'),
    '--haproxy-socket', join(dir, 'admin.sock'),
    '--master-socket', join(dir, 'master.sock'),
    '--listen', '127.0.0.1:0',
    '--dont-bind-http-https',
    '--http-port', String(ports.http), '--https-port', String(ports.https),
    '--stats-port', String(ports.stats), '--appid-port', String(ports.appId),
  ];

  it('a failed --command is retried --max-reload-retries times, then run again by the next run (files unchanged), then "up to date"', () => {
    const dir = join(tmp, 'command');
    const log = join(tmp, 'command.log');
    const failed = mlb([...common(dir), '--max-reload-retries', '2', '--command', `echo attempt >> '${log}'; echo 'haproxy said no' >&2; exit 1`]);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/E_RELOAD: reload command exited 1: .*haproxy said no/);
    expect(failed.stderr.match(/reload failed .*; retry \d of 2 in \d+ ms/g)).toHaveLength(2);
    expect(existsSync(reloadPendingPath(join(dir, 'haproxy.cfg')))).toBe(true);
    const installed = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');

    const ok = mlb([...common(dir), '--command', `echo reload >> '${log}'`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/already up to date/);
    expect(ok.stderr).toMatch(/reloaded \(reason: the installed config is not loaded yet/);
    expect(readFileSync(log, 'utf8')).toBe('attempt\nattempt\nattempt\nreload\n');
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toBe(installed);
    expect(existsSync(reloadPendingPath(join(dir, 'haproxy.cfg')))).toBe(false);

    const again = mlb([...common(dir), '--command', `echo reload >> '${log}'`]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already up to date; no reload/);
    expect(readFileSync(log, 'utf8')).toBe('attempt\nattempt\nattempt\nreload\n');
  });

  it('--ipvs: the IPVS outputs beside the config and the delta piped to --ipvs-apply-command; a failed apply exits 1 and is applied by the next run', () => {
    const dir = join(tmp, 'ipvs');
    const vipApps = join(tmp, 'vip-apps.json');
    const vip = app('/svc', withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1' }), withPortDefinitions(ports.service), withTasks(task('127.0.0.1', [backend.port])));
    (vip.portDefinitions as { labels?: Record<string, string> }[])[0]!.labels = { VIP_0: '/svc:8080' };
    writeFileSync(vipApps, JSON.stringify({ apps: [vip] }));
    const applied = join(tmp, 'ipvs-applied.txt');
    const fail = mlb([...common(dir, vipApps), '--command', 'true', '--ipvs', '--ipvs-apply-command', 'cat > /dev/null; exit 3']);
    expect(fail.code, fail.stderr).toBe(1);
    // One-shot's own kind of line (the daemon logs JSON): message, then the details.
    expect(fail.stderr).toMatch(/^mlb-ts: IPVS delta not applied; the applied state is unchanged, so the next sync tries the same change again \(command cat > \/dev\/null; exit 3, exitCode 3/m);
    expect(fail.stderr).not.toContain('{"level"');
    for (const f of ['ipvs.rules', 'vips.hosts', 'vips.json', 'haproxy.cfg']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'vips.hosts'), 'utf8')).toMatch(/^11\.\d+\.\d+\.\d+ svc\.marathon\.l4lb\.thisdcos\.directory\n$/);
    const ok = mlb([...common(dir, vipApps), '--command', 'true', '--ipvs', '--ipvs-apply-command', `cat > '${applied}'`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/^mlb-ts: IPVS rules updated \(lines 2, vips 1, full false\)$/m);
    // the whole set (nothing was applied before), in ipvsadm's restore form
    expect(readFileSync(applied, 'utf8')).toMatch(new RegExp(`^-A -t 11\\.\\d+\\.\\d+\\.\\d+:8080 -s wlc\\n-a -t 11\\.\\d+\\.\\d+\\.\\d+:8080 -r 127\\.0\\.0\\.1:${backend.port} -m -w 1\\n$`));
  });

  it('no --ssl-certs and no /etc/ssl/cert.pem: a self-signed certificate beside the config, made once, and the config installs', () => {
    expect(existsSync('/etc/ssl/cert.pem'), 'this test needs a machine without /etc/ssl/cert.pem').toBe(false);
    const dir = join(tmp, 'self-signed');
    const args = common(dir).filter((a) => a !== '--dont-bind-http-https');
    const first = mlb([...args, '--command', 'true']);
    expect(first.code, first.stderr).toBe(0);
    const pem = join(dir, 'mlb-ts-self-signed.pem');
    expect(first.stderr).toContain(`warning: --ssl-certs /etc/ssl/cert.pem does not exist here; :443 serves ${pem}, a self-signed certificate`);
    expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toContain(`ssl crt ${pem}`);
    expect(statSync(pem).mode & 0o777).toBe(0o600);
    const made = readFileSync(pem, 'utf8');
    expect(made).toMatch(/-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
    const again = mlb([...args, '--command', 'true']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(pem, 'utf8')).toBe(made);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('IP-per-task service ports: saved beside the config (service-ports.json) and kept by the next run', () => {
    const dir = join(tmp, 'ip-per-task');
    // /ipt/a1 and /ipt/zeta have the same home port in a range of two (the first one): assigned
    // afresh, /ipt/a1 (first in app id order) takes it.
    const ipt = (id: string) => app(id, withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: '127.0.0.1' }), withIpAddress(8080), withTasks(task('agent-1', [], withIp('127.1.0.1'))));
    const appsAt = (name: string, ids: string[]) => {
      const f = join(tmp, name);
      writeFileSync(f, JSON.stringify({ apps: ids.map(ipt) }));
      return f;
    };
    const run = (apps: string) => {
      const r = mlb([...common(dir, apps), '--command', 'true', '--min-serv-port-ip-per-task', '20050', '--max-serv-port-ip-per-task', '20051']);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    };
    const portsFile = join(dir, 'service-ports.json');
    expect(run(appsAt('ipt-zeta.json', ['/ipt/zeta']))).toContain('frontend ipt_zeta_20050');
    expect(JSON.parse(readFileSync(portsFile, 'utf8'))).toEqual({ '/ipt/zeta#0': 20050 });
    const both = appsAt('ipt-both.json', ['/ipt/zeta', '/ipt/a1']);
    const kept = run(both);
    expect(kept).toContain('frontend ipt_zeta_20050');
    expect(kept).toContain('frontend ipt_a1_20051');
    expect(readFileSync(portsFile, 'utf8')).toBe('{\n  "/ipt/a1#0": 20051,\n  "/ipt/zeta#0": 20050\n}\n');
    // Without the file: assigned afresh.
    rmSync(portsFile);
    const afresh = run(both);
    expect(afresh).toContain('frontend ipt_a1_20050');
    expect(afresh).toContain('frontend ipt_zeta_20051');
    // An unreadable file: ignored, with a warning.
    writeFileSync(portsFile, '{ not json');
    const r = mlb([...common(dir, both), '--command', 'true', '--min-serv-port-ip-per-task', '20050', '--max-serv-port-ip-per-task', '20051']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/service-ports\.json unreadable/);
    expect(JSON.parse(readFileSync(portsFile, 'utf8'))).toEqual({ '/ipt/a1#0': 20050, '/ipt/zeta#0': 20051 });
  });

  it('without --command: no HAProxy running (no socket, or a stale one) is no error and starts nothing; a running one is reloaded, the files installed meanwhile included', async () => {
    const dir = join(tmp, 'supervised');
    const configPath = join(dir, 'haproxy.cfg');
    const masterSocket = join(dir, 'master.sock');
    const serves = async () => (await request({ port: ports.service, timeoutMs: 3000 })).status === 200;

    const first = mlb(common(dir));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/config installed, nothing reloaded/);
    expect(existsSync(masterSocket)).toBe(false);
    expect(existsSync(reloadPendingPath(configPath))).toBe(true);

    // The operator starts HAProxy (on a config of their own): the next run loads the installed files.
    writeFileSync(join(tmp, 'empty.cfg'), 'global\n  stats timeout 1m\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n');
    const haproxy = await startHaproxy(join(tmp, 'empty.cfg'), { masterSocket });
    running = haproxy;
    const second = mlb(common(dir));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/reloaded through the master socket \(reason: the installed config is not loaded yet/);
    expect(existsSync(reloadPendingPath(configPath))).toBe(false);
    // The reload loads the config the master was started with: HAProxy reads haproxy.cfg only
    // if that is the file it was started on, so serving is checked on a master started on it.
    await haproxy.stop();

    const onConfig = await startHaproxy(configPath, { masterSocket, ports: [ports.service] });
    running = onConfig;
    expect(await serves()).toBe(true);
    const third = mlb(common(dir));
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/already up to date; no reload/);

    // A change: reloaded through the running master.
    const changed = join(tmp, 'apps-leastconn.json');
    writeFileSync(changed, readFileSync(appsFile, 'utf8').replace('"HAPROXY_GROUP":"external"', '"HAPROXY_GROUP":"external","HAPROXY_0_BALANCE":"leastconn"'));
    const before: ShowProc = await showProc(masterSocket);
    const fourth = mlb(common(dir, changed));
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(fourth.stderr).toMatch(/reloaded through the master socket \(reason: config changed\)/);
    expect(readFileSync(configPath, 'utf8')).toContain('balance leastconn');
    expect((await showProc(masterSocket)).master.reloads).toBeGreaterThan(before.master.reloads);
    expect(await serves()).toBe(true);

    // HAProxy dies (SIGKILL: nothing cleaned up); its master socket file stays.
    const pids = [before.master.pid, ...(await showProc(masterSocket)).workers.map((w) => w.pid)];
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    expect(await waitGone(pids, 5000)).toEqual([]);
    expect(existsSync(masterSocket)).toBe(true);
    const fifth = mlb(common(dir));
    expect(fifth.code, fifth.stderr).toBe(0);
    expect(fifth.stderr).not.toMatch(/ECONNREFUSED/);
    expect(fifth.stderr).toMatch(/config installed, nothing reloaded/);
    expect(existsSync(masterSocket)).toBe(false);
  }, 60_000);
});
