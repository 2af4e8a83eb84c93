import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { checkRendered } from '../helpers/haproxy.js';

/**
 * Golden files: each test/fixtures/<case>/ holds a Marathon apps document (with tasks), the
 * flags (case.json) and the expected outputs. UPDATE_GOLDEN=1 rewrites the expectations.
 */
const FIXTURES = 'test/fixtures';
const OUTPUTS = ['haproxy.cfg', 'domain2backend.map', 'app2backend.map', 'warnings.txt'];
const cases = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'case.json'))).sort();

describe('golden render', () => {
  it('has at least 10 cases, the seed examples among them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
    for (const seed of ['httpi-bridge-external', 'httpi-bridge-vip', 'httpi-host', 'httpi-overlay-external', 'myservice-docker-bridge', 'myservice-portdefinitions']) {
      expect(cases).toContain(seed);
    }
  });

  for (const name of cases) {
    it(`${name}: renders the expected bytes, and HAProxy accepts them without a warning`, async () => {
      const dir = join(FIXTURES, name);
      const { args } = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { args: string[] };
      const out = join('out', 'golden', name);
      rmSync(out, { recursive: true, force: true });
      const templates = existsSync(join(dir, 'templates')) ? ['--templates', join(dir, 'templates')] : [];
      const run = await runCli(['render', '-m', join(dir, 'apps.json'), '--out', out, '--ssl-certs', 'test/fixtures/certs/default.pem', ...templates, ...args]);
      expect(run.code, run.stderr).toBe(0);
      const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning: ')).join('\n');
      writeFileSync(join(out, 'warnings.txt'), warnings ? `${warnings}\n` : '');
      for (const file of OUTPUTS) {
        const expectedPath = join(dir, 'expected', file);
        const actualPath = join(out, file);
        // render --out writes absolute references into DIR; the golden files keep them relative
        const actual = existsSync(actualPath) ? readFileSync(actualPath, 'utf8').replaceAll(`${resolve(out)}/`, `${out}/`) : undefined;
        if (process.env.UPDATE_GOLDEN) {
          mkdirSync(join(dir, 'expected'), { recursive: true });
          if (actual === undefined) rmSync(expectedPath, { force: true });
          else writeFileSync(expectedPath, actual, { flag: 'w' });
        }
        const expected = existsSync(expectedPath) ? readFileSync(expectedPath, 'utf8') : undefined;
        expect(actual, `${name}/${file}`).toBe(expected);
      }
      const check = await checkRendered(out);
      expect(check.alerts, check.output).toEqual([]);
      expect(check.warnings, check.output).toEqual([]);
      expect(check.ok).toBe(true);
    });
  }
});
