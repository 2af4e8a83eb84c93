import { agentHosts, loadApps, type OutputFile } from '../daemon/render-set.js';
import { HostResolver } from '../io/dns.js';
import type { AppsDocument } from '../marathon/types.js';
import { warningLine, type Warning } from '../model/types.js';
import { buildVipModel, type VipModel } from '../model/vips.js';
import { renderIpvsRules, renderVipHosts, renderVipJson } from '../render/ipvs.js';
import type { Settings } from '../settings.js';
import { say, setSayLevel } from '../io/say.js';

export interface VipOutputs {
  model: VipModel;
  warnings: Warning[];
  /** ipvs.rules, vips.hosts, vips.json */
  files: OutputFile[];
}

/** Apps → VIP model and its three files (render --out DIR --ipvs). */
export function vipOutputs(doc: AppsDocument, resolveHost?: (host: string) => string | undefined): VipOutputs {
  const { model, warnings } = buildVipModel(doc.apps, resolveHost ? { resolveHost } : {});
  return {
    model,
    warnings,
    files: [
      { name: 'ipvs.rules', content: renderIpvsRules(model) },
      { name: 'vips.hosts', content: renderVipHosts(model) },
      { name: 'vips.json', content: renderVipJson(model) },
    ],
  };
}

export function ipvsFiles(doc: AppsDocument, resolveHost?: (host: string) => string | undefined): OutputFile[] {
  return vipOutputs(doc, resolveHost).files;
}

/** One row per backend (the VIP's columns only on its first row); `-` for a VIP without backends. */
export function renderVipTable(model: VipModel): string {
  const header = ['NAME', 'ADDRESS', 'PROTOCOL', 'BACKEND', 'WEIGHT'];
  const rows: string[][] = [];
  for (const v of model.vips) {
    const head = [v.name ?? '-', `${v.ip}:${v.port}`, v.protocol];
    if (v.backends.length === 0) rows.push([...head, '-', '-']);
    v.backends.forEach((b, i) => rows.push([...(i === 0 ? head : ['', '', '']), `${b.ip}:${b.port}`, String(b.weight)]));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const body = rows.length === 0 ? ['(no VIP_n labels)'] : rows.map(line);
  return `${[line(header), ...body].join('\n')}\n`;
}

/** `mlb-ts vips`: the VIPs of every app (no --group filter), as a table or as vips.json. */
export async function vipsCommand(s: Settings, opts: { json: boolean }): Promise<number> {
  setSayLevel(s.logLevel);
  const doc = await loadApps(s);
  const resolveHost = await new HostResolver().resolveAll(agentHosts(doc.apps));
  const { model, warnings } = buildVipModel(doc.apps, { resolveHost });
  for (const w of warnings) say('warn', `warning: ${warningLine(w)}`);
  process.stdout.write(opts.json ? renderVipJson(model) : renderVipTable(model));
  return 0;
}
