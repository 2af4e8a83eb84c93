import { labelsText } from './labels.js';
import { RENDER_OPTIONS, RUN_OPTIONS } from './options.js';

type FlagSpec = { alias?: string | readonly string[]; default?: unknown; describe?: string; hidden?: boolean };

/** The flags table of the README, from the same option tables yargs parses with. */
export function flagsMarkdown(): string {
  const rows = ['| flag | default | meaning |', '| --- | --- | --- |'];
  for (const [name, spec] of Object.entries({ ...RENDER_OPTIONS, ...RUN_OPTIONS }) as [string, FlagSpec][]) {
    if (spec.hidden) continue;
    const aliases = ([] as string[]).concat(spec.alias ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${a}`));
    const def = spec.default === undefined ? '' : Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default);
    rows.push(`| ${[...aliases, `--${name}`].join(', ')} | ${def === '' ? '' : `\`${def}\``} | ${(spec.describe ?? '').replace(/\|/g, '\\|')} |`);
  }
  return `${rows.join('\n')}\n`;
}

/** README sections generated from the registries: `<!-- generated:NAME -->` … `<!-- /generated:NAME -->`. */
export function generatedSections(): Record<string, string> {
  return {
    flags: flagsMarkdown(),
    labels: labelsText({ markdown: true, templates: false }),
    templates: labelsText({ markdown: true, templates: true }),
  };
}

/** The text with every generated section replaced by its current content. */
export function withGeneratedSections(text: string): string {
  let out = text;
  for (const [name, body] of Object.entries(generatedSections())) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`no <!-- generated:${name} --> section`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}${body}${close}`);
  }
  return out;
}
