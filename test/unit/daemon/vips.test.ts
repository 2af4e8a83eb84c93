import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpvsSync } from '../../../src/daemon/vips.js';
import { createLogger } from '../../../src/daemon/log.js';
import { daemonMetrics } from '../../../src/daemon/metrics.js';
import { app, task, withBridge, withTasks } from '../../helpers/builders.js';
import { Writable } from 'node:stream';

const quiet = () => createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function httpi(...hosts: [string, number][]) {
  return app('/httpi', withBridge({ containerPort: 0, hostPort: 0, servicePort: 10101, protocol: 'tcp', labels: { VIP_0: '/httpi:3141' } }), withTasks(...hosts.map(([h, p]) => task(h, [p]))));
}

describe('IpvsSync (daemon --ipvs)', () => {
  it('writes the files and pipes only the change to the apply command, never a flush', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-ipvs-'));
    dirs.push(dir);
    const applied = join(dir, 'applied.log');
    const metrics = daemonMetrics();
    const sync = new IpvsSync(dir, `cat >> ${applied}; echo --- >> ${applied}`, quiet(), metrics);
    const ip = (h: string) => h;
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.2', 31001])] }, ip);
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.2', 31001])] }, ip);
    await sync.sync({ apps: [httpi(['10.0.0.1', 31000], ['10.0.0.3', 31002])] }, ip);
    const rounds = readFileSync(applied, 'utf8').split('---\n').filter(Boolean);
    expect(rounds).toHaveLength(2);
    expect(rounds[0]).toMatch(/^-A -t 11\.\d+\.\d+\.\d+:3141 -s wlc$/m);
    expect(rounds[0]?.match(/^-a /gm)).toHaveLength(2);
    expect(rounds[1]).toMatch(/^-d -t 11\.\d+\.\d+\.\d+:3141 -r 10\.0\.0\.2:31001$/m);
    expect(rounds[1]).toMatch(/^-a -t 11\.\d+\.\d+\.\d+:3141 -r 10\.0\.0\.3:31002 -m -w 1$/m);
    expect(rounds.join('')).not.toMatch(/^-C/m);
    expect(readFileSync(join(dir, 'ipvs.rules'), 'utf8')).toContain('-r 10.0.0.3:31002');
    expect(readFileSync(join(dir, 'vips.hosts'), 'utf8')).toMatch(/^11\.\d+\.\d+\.\d+ httpi\.marathon\.l4lb\.thisdcos\.directory$/m);
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'ok' })).toBe(2);
  });

  it('keeps the applied state when the command fails, so the next sync retries the same change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-ipvs-'));
    dirs.push(dir);
    const metrics = daemonMetrics();
    const failing = new IpvsSync(dir, 'exit 3', quiet(), metrics);
    await failing.sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    await failing.sync({ apps: [httpi(['10.0.0.1', 31000])] }, (h) => h);
    expect(metrics.get('mlb_ipvs_applies_total', { result: 'failed' })).toBe(2);
    expect(readFileSync(join(dir, 'ipvs.delta'), 'utf8')).toMatch(/^-A -t /m);
  });
});
