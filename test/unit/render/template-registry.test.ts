import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDefaultTemplates } from '../../../src/io/templates.js';
import type { MarathonApp } from '../../../src/marathon/types.js';
import { buildModel } from '../../../src/model/build.js';
import { renderConfig } from '../../../src/render/haproxy-config.js';
import { TEMPLATE_BY_NAME, variablesOf } from '../../../src/render/template-registry.js';
import { type Render, TemplateSet } from '../../../src/render/templates.js';
import { renderOptions } from '../../helpers/render.js';

/** A TemplateSet that notes, per template, every variable a render hands it. */
class RecordingSet extends TemplateSet {
  readonly given = new Map<string, Set<string>>();
  private recording(name: string, render: Render): Render {
    return (ctx, extra) => {
      const names = this.given.get(name) ?? new Set<string>();
      for (const k of [...Object.keys(ctx), ...Object.keys(extra ?? {})]) names.add(k);
      this.given.set(name, names);
      return render(ctx, extra);
    };
  }
  override get(name: string): Render {
    return this.recording(name, super.get(name));
  }
  override fromLabel(name: string, label: string, source: string): Render {
    return this.recording(name, super.fromLabel(name, label, source));
  }
}

// Every fixture's apps, each id once (fixtures reuse ids, and the model drops apps sharing one).
const fixtureApps = [
  ...new Map(
    readdirSync('test/fixtures')
      .filter((d) => readdirSync(join('test/fixtures', d)).includes('apps.json'))
      .flatMap((d) => (JSON.parse(readFileSync(join('test/fixtures', d, 'apps.json'), 'utf8')) as { apps: MarathonApp[] }).apps)
      .reverse()
      .map((a) => [a.id, a]),
  ).values(),
];

describe('the template registry', () => {
  // A template may name only its registered variables (an unknown one is refused as a typo): each
  // must list every variable its render really gets, or a working override would be refused.
  it.each([
    ['defaults', {}],
    ['--haproxy-map', { haproxyMap: true }],
    ['--group-https-by-vhost', { groupHttpsByVhost: true }],
  ])('lists every variable a render hands a template (every fixture app, %s)', (_name, options) => {
    const templates = new RecordingSet(readDefaultTemplates());
    const { model } = buildModel(fixtureApps, { groups: ['*'] });
    renderConfig(model, templates, renderOptions(options));
    expect(templates.given.size).toBeGreaterThan(20);
    for (const [name, given] of templates.given) {
      const known = variablesOf(TEMPLATE_BY_NAME.get(name)!);
      expect([...given].filter((v) => !known.has(v)), name).toEqual([]);
    }
  });
});
