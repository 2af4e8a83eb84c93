import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedSections, withGeneratedSections } from '../../../src/cli/docs.js';
import { labelReference } from '../../../src/model/labels/registry.js';
import { TEMPLATES } from '../../../src/render/template-registry.js';

describe('README sections generated from the registries', () => {
  it('are up to date (run `npm run docs` after changing a flag, label or template)', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(withGeneratedSections(readme)).toBe(readme);
  });

  it('list every label and every template', () => {
    const s = generatedSections();
    for (const l of labelReference()) expect(s.labels).toContain(`| ${l.name} |`);
    for (const t of TEMPLATES) expect(s.templates).toContain(`| ${t.name} |`);
    for (const flag of ['--marathon', '--group', '--haproxy-map', '--sse', '--reload-interval', '--haproxy-socket', '--ipvs']) expect(s.flags).toContain(flag);
  });
});
