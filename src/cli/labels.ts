import { labelReference } from '../model/labels/registry.js';
import { isFormatted, TEMPLATES, TEMPLATE_VARIABLES } from '../render/template-registry.js';

function table(rows: string[][], markdown: boolean): string {
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    const [head, ...body] = rows as [string[], ...string[][]];
    return [head, head.map(() => '---'), ...body].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n') + '\n';
  }
  const widths = (rows[0] ?? []).map((_, i) => Math.min(48, Math.max(...rows.map((r) => (r[i] ?? '').length))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

export function labelsText(opts: { markdown: boolean; templates: boolean }): string {
  if (opts.templates) {
    // How an override in marathon-lb's format is read: filled in ({name} fields, {{ }} literal
    // braces) or copied verbatim, as marathon-lb does with each template.
    const rows = [['template', 'scope', 'marathon-lb format', 'variables', 'description']];
    for (const t of TEMPLATES) rows.push([t.name, t.scope, isFormatted(t) ? 'formatted' : 'verbatim', [...new Set(t.vars.flatMap((v) => TEMPLATE_VARIABLES[v]))].join(' '), t.description]);
    return table(rows, opts.markdown);
  }
  const rows = [['label', 'scope', 'type', 'default', 'description']];
  for (const l of labelReference()) rows.push([l.name, l.scope, l.type, l.default, l.description]);
  return table(rows, opts.markdown);
}

export function labelsCommand(opts: { markdown: boolean; templates: boolean }): number {
  process.stdout.write(labelsText(opts));
  return 0;
}
