import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VipModel } from '../../src/model/vips.js';
import { parseVipJson, renderIpvsDelta, renderIpvsRules } from '../../src/render/ipvs.js';
import { runCli } from '../helpers/cli.js';
import { parseRules, tableOf } from '../helpers/ipvsadm.js';

/**
 * `render --ipvs` on the seed fixtures (flags from case.json) and on VIP-only fixtures (flags
 * from vips-case.json): ipvs.rules, vips.hosts and vips.json against expected/, and warnings.
 * UPDATE_GOLDEN=1 rewrites these expectations (and only these).
 */
const FIXTURES = 'test/fixtures';
const SEEDS = ['httpi-bridge-external', 'httpi-bridge-vip', 'httpi-host', 'httpi-overlay-external', 'myservice-docker-bridge', 'myservice-portdefinitions'];
const VIP_ONLY = ['vips-mixed'];
const FILES = ['ipvs.rules', 'vips.hosts', 'vips.json'];
const HTTPI = 'httpi.marathon.l4lb.thisdcos.directory';

interface Run {
  files: Record<string, string | undefined>;
  warnings: string;
  code: number;
  stderr: string;
}

async function renderIpvs(name: string, args: string[], tag = name): Promise<Run> {
  const dir = join(FIXTURES, name);
  const out = join('out', 'vips-golden', tag);
  rmSync(out, { recursive: true, force: true });
  const run = await runCli(['render', '--ipvs', '-m', join(dir, 'apps.json'), '--out', out, '--ssl-certs', 'test/fixtures/certs/default.pem', ...args]);
  const files: Record<string, string | undefined> = {};
  for (const f of FILES) files[f] = existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : undefined;
  const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning: ')).map((l) => `${l}\n`).join('');
  return { files, warnings, code: run.code, stderr: run.stderr };
}

function caseArgs(name: string): string[] {
  const file = VIP_ONLY.includes(name) ? 'vips-case.json' : 'case.json';
  return (JSON.parse(readFileSync(join(FIXTURES, name, file), 'utf8')) as { args: string[] }).args;
}

function compareGolden(name: string, file: string, actual: string | undefined): void {
  const expectedPath = join(FIXTURES, name, 'expected', file);
  if (process.env.UPDATE_GOLDEN && actual !== undefined) {
    mkdirSync(join(FIXTURES, name, 'expected'), { recursive: true });
    writeFileSync(expectedPath, actual);
  }
  const expected = existsSync(expectedPath) ? readFileSync(expectedPath, 'utf8') : undefined;
  expect(actual, `${name}/${file}`).toBe(expected);
}

function modelOf(run: Run): VipModel {
  return parseVipJson(run.files['vips.json'] ?? '');
}

describe('golden render --ipvs', () => {
  for (const name of [...SEEDS, ...VIP_ONLY]) {
    it(`${name}: expected ipvs.rules, vips.hosts, vips.json; the rules pass ipvsadm's grammar`, async () => {
      const run = await renderIpvs(name, caseArgs(name));
      expect(run.code, run.stderr).toBe(0);
      for (const f of FILES) compareGolden(name, f, run.files[f]);
      if (VIP_ONLY.includes(name)) compareGolden(name, 'vips-warnings.txt', run.warnings);
      else expect(run.warnings, 'VIPs add no warning to the seeds').toBe(readFileSync(join(FIXTURES, name, 'expected', 'warnings.txt'), 'utf8'));

      const rules = run.files['ipvs.rules'] ?? '';
      expect(() => parseRules(rules)).not.toThrow();
      const model = modelOf(run);
      expect(tableOf(rules).size).toBe(model.vips.length);
      // The full file is the delta from nothing, and matches vips.json.
      expect(renderIpvsRules(model)).toBe(rules);
      expect(renderIpvsDelta({ vips: [] }, model)).toBe(rules);
    });
  }

  const AGENT_BACKENDS = ['172.16.15.168:9896', '172.16.15.168:26186', '172.16.17.198:8584', '172.16.40.67:7143', '172.16.40.67:14666'];

  it.each(['httpi-bridge-external', 'httpi-bridge-vip'])('%s: one VIP on 3141, five masqueraded agent backends of weight 1', async (name) => {
    const run = await renderIpvs(name, caseArgs(name));
    const { vips } = modelOf(run);
    expect(vips).toHaveLength(1);
    const v = vips[0];
    expect(v?.name).toBe(HTTPI);
    expect(v?.port).toBe(3141);
    expect(v?.ip).toMatch(/^11\.\d+\.\d+\.\d+$/);
    const rules = (run.files['ipvs.rules'] ?? '').trimEnd().split('\n');
    expect(rules).toEqual([`-A -t ${v?.ip}:3141 -s wlc`, ...AGENT_BACKENDS.map((b) => `-a -t ${v?.ip}:3141 -r ${b} -m -w 1`)]);
    expect(run.files['vips.hosts']).toBe(`${v?.ip} ${HTTPI}\n`);
  });

  it('httpi-overlay-external: task IPs and container port 3141, same VIP address as in bridge mode', async () => {
    const overlay = modelOf(await renderIpvs('httpi-overlay-external', caseArgs('httpi-overlay-external')));
    const bridge = modelOf(await renderIpvs('httpi-bridge-vip', caseArgs('httpi-bridge-vip')));
    expect(overlay.vips.map((v) => [v.name, v.ip, v.port])).toEqual([[HTTPI, bridge.vips[0]?.ip, 3141]]);
    expect(overlay.vips[0]?.backends.map((b) => `${b.ip}:${b.port}/${b.weight}`)).toEqual(['9.0.2.130:3141/1', '9.0.3.130:3141/1', '9.0.3.131:3141/1', '9.0.3.132:3141/1', '9.0.4.130:3141/1']);
  });

  it.each(['myservice-portdefinitions', 'myservice-docker-bridge'])('%s: one address, two ports (6666, 7777)', async (name) => {
    const run = await renderIpvs(name, caseArgs(name));
    const { vips } = modelOf(run);
    expect(vips.map((v) => [v.name, v.port, v.protocol, v.backends.length])).toEqual([
      ['myservice.marathon.l4lb.thisdcos.directory', 6666, 'tcp', 2],
      ['myservice.marathon.l4lb.thisdcos.directory', 7777, 'tcp', 2],
    ]);
    expect(vips[0]?.ip).toBe(vips[1]?.ip);
    expect(run.files['vips.hosts']).toBe(`${vips[0]?.ip} myservice.marathon.l4lb.thisdcos.directory\n`);
  });

  it('httpi-host: no VIP labels, so empty rules and hosts and an empty model', async () => {
    const run = await renderIpvs('httpi-host', caseArgs('httpi-host'));
    expect(run.files).toEqual({ 'ipvs.rules': '', 'vips.hosts': '', 'vips.json': '{\n  "vips": []\n}\n' });
  });

  it('VIPs ignore --group: a group no app is in gives the same VIP files', async () => {
    const all = await renderIpvs('httpi-bridge-external', ['--group', 'external'], 'group-external');
    const none = await renderIpvs('httpi-bridge-external', ['--group', 'no-such-group'], 'group-none');
    expect(none.code).toBe(0);
    expect(none.files).toEqual(all.files);
  });

  it('without --ipvs, render writes no VIP file', async () => {
    const out = join('out', 'vips-golden', 'no-ipvs');
    rmSync(out, { recursive: true, force: true });
    const run = await runCli(['render', '-m', join(FIXTURES, 'httpi-bridge-vip', 'apps.json'), '--out', out, '--ssl-certs', 'test/fixtures/certs/default.pem', '--group', '*']);
    expect(run.code, run.stderr).toBe(0);
    expect(FILES.filter((f) => existsSync(join(out, f)))).toEqual([]);
    expect(existsSync(join(out, 'haproxy.cfg'))).toBe(true);
  });
});
