import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppsDocument, MarathonApp } from '../../src/marathon/types.js';
import { buildVipModel, type VipModel } from '../../src/model/vips.js';
import { renderIpvsDelta, renderIpvsRules } from '../../src/render/ipvs.js';
import { parseRules, tableOf } from '../helpers/ipvsadm.js';

/**
 * The rules against the real kernel: inside a network namespace this test creates, the full
 * file through `ipvsadm-restore`, then the incremental one through `ipvsadm -R` (ipvsadm-restore
 * would clear the table first), reading the table back with `ipvsadm-save -n` after each.
 * Needs the ip_vs kernel module; without it the test says so and asserts the absence it found.
 */
const NS = `mlbts-vip-${process.pid}`;
let nsCreated = false;

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

function failure(cmd: string, args: string[]): string | undefined {
  try {
    run(cmd, args);
    return undefined;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return (err.stderr || err.message).trim().split('\n')[0];
  }
}

interface Detection {
  present: boolean;
  evidence: string[];
}

function detectIpVs(): Detection {
  if (existsSync('/proc/net/ip_vs')) return { present: true, evidence: ['/proc/net/ip_vs exists'] };
  const modprobe = failure('modprobe', ['ip_vs']);
  if (modprobe === undefined && existsSync('/proc/net/ip_vs')) return { present: true, evidence: ['modprobe ip_vs loaded it'] };
  return { present: false, evidence: ['/proc/net/ip_vs is absent', `modprobe ip_vs: ${modprobe ?? 'succeeded, but /proc/net/ip_vs is still absent'}`] };
}

const ipvs = detectIpVs();

function nsExec(args: string[], input?: string): string {
  return run('ip', ['netns', 'exec', NS, ...args], input);
}

afterAll(() => {
  if (nsCreated) run('ip', ['netns', 'del', NS]);
});

function seedApps(): MarathonApp[] {
  return (JSON.parse(readFileSync('test/fixtures/httpi-bridge-vip/apps.json', 'utf8')) as AppsDocument).apps;
}

/** A day in the life of /httpi: one task killed, one failing its check, one gone, a udp VIP added. */
function laterApps(): MarathonApp[] {
  const apps = seedApps();
  const httpi = apps[0] as MarathonApp;
  const tasks = httpi.tasks ?? [];
  (tasks[0] as { state: string }).state = 'TASK_KILLING';
  httpi.healthChecks = [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0 }];
  for (const [i, t] of tasks.entries()) t.healthCheckResults = [{ alive: i !== 1 }];
  tasks.splice(4, 1);
  const dns: MarathonApp = {
    id: '/dns',
    networks: [{ mode: 'host' }],
    portDefinitions: [{ port: 10053, protocol: 'udp,tcp', labels: { VIP_0: 'dns:53' } }],
    tasks: [{ id: 'dns.1', host: '172.16.40.67', ports: [31053], state: 'TASK_RUNNING' }],
  };
  return [httpi, dns];
}

const before: VipModel = buildVipModel(seedApps()).model;
const after: VipModel = buildVipModel(laterApps()).model;
const fullBefore = renderIpvsRules(before);
const fullAfter = renderIpvsRules(after);
const delta = renderIpvsDelta(before, after);

describe('IPVS in the kernel', () => {
  it('the files to apply are well-formed and the delta reaches the later table (no kernel needed)', () => {
    expect(delta).not.toBe('');
    expect(delta).not.toMatch(/^-C/m);
    const live = tableOf(fullBefore).applyAll(parseRules(delta));
    expect(live.dump()).toEqual(tableOf(fullAfter).dump());
    expect(delta).toMatch(/^-e -t \S+:3141 -r 172\.16\.15\.168:9896 -m -w 0$/m);
    expect(delta).toMatch(/^-d -t \S+:3141 -r 172\.16\.40\.67:14666$/m);
    expect(delta).toMatch(/^-A -u \S+:53 -s wlc$/m);
  });

  it(`detects the ip_vs kernel module (${ipvs.present ? 'present' : 'absent'})`, () => {
    if (ipvs.present) {
      expect(existsSync('/proc/net/ip_vs')).toBe(true);
      return;
    }
    console.log(`ip_vs kernel module absent (${ipvs.evidence.join('; ')}): the namespace test below applies nothing`);
    expect(existsSync('/proc/net/ip_vs')).toBe(false);
    expect(failure('ipvsadm', ['-S', '-n']), 'ipvsadm itself finds no IPVS').toBeDefined();
  });

  it('ipvsadm-restore takes the full rules and ipvsadm -R the delta, in a namespace of its own', () => {
    if (!ipvs.present) {
      console.log(`ip_vs kernel module absent: applying nothing (would have used namespace ${NS})`);
      expect(ipvs.present).toBe(false);
      return;
    }
    run('ip', ['netns', 'add', NS]);
    nsCreated = true;

    nsExec(['ipvsadm-restore'], fullBefore);
    const savedBefore = nsExec(['ipvsadm-save', '-n']);
    expect(tableOf(savedBefore).dump()).toEqual(tableOf(fullBefore).dump());
    expect(savedBefore.trimEnd().split('\n').sort()).toEqual(fullBefore.trimEnd().split('\n').sort());

    nsExec(['ipvsadm', '-R'], delta);
    const savedAfter = nsExec(['ipvsadm-save', '-n']);
    expect(tableOf(savedAfter).dump()).toEqual(tableOf(fullAfter).dump());
    expect(savedAfter.trimEnd().split('\n').sort()).toEqual(fullAfter.trimEnd().split('\n').sort());

    run('ip', ['netns', 'del', NS]);
    nsCreated = false;
    expect(run('ip', ['netns', 'list'])).not.toContain(NS);
  });
});
