import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { errorLine } from '../errors.js';
import { writeFilesAtomically } from '../io/files.js';
import type { AppsDocument } from '../marathon/types.js';
import { warningLine } from '../model/types.js';
import { type VipModel } from '../model/vips.js';
import { parseVipJson, renderIpvsDelta } from '../render/ipvs.js';
import { vipOutputs } from '../cli/vips.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/**
 * --ipvs in the daemon: keeps ipvs.rules, vips.hosts and vips.json beside haproxy.cfg, and
 * when the VIP set changes writes ipvs.delta (only -A/-D/-a/-e/-d lines from the applied set
 * to the new one, never a flush) and pipes it to --ipvs-apply-command (e.g. `ipvsadm -R`).
 */
export class IpvsSync {
  private applied: VipModel;

  constructor(
    private readonly dir: string,
    private readonly applyCommand: string | undefined,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.applied = this.lastWritten();
    metrics.declare('mlb_vips', 'gauge', 'named and IP VIP services (address:port/protocol) in the last model');
    metrics.declare('mlb_ipvs_applies_total', 'counter', 'incremental IPVS rule sets applied, by result');
  }

  private lastWritten(): VipModel {
    const path = join(this.dir, 'vips.json');
    try {
      return existsSync(path) ? parseVipJson(readFileSync(path, 'utf8')) : { vips: [] };
    } catch {
      return { vips: [] };
    }
  }

  async sync(doc: AppsDocument, resolveHost: (host: string) => string | undefined): Promise<void> {
    const out = vipOutputs(doc, resolveHost);
    this.metrics.set('mlb_vips', out.model.vips.length);
    const delta = renderIpvsDelta(this.applied, out.model);
    if (!delta) return;
    for (const w of out.warnings) this.log.warn({ code: w.code, app: w.appId, label: w.label }, warningLine(w));
    writeFilesAtomically([...out.files, { name: 'ipvs.delta', content: delta }].map((f) => ({ path: join(this.dir, f.name), content: f.content })));
    if (this.applyCommand) {
      const res = await execa(this.applyCommand, { shell: true, input: delta, reject: false, all: true, timeout: 60_000 });
      if (res.exitCode !== 0) {
        this.metrics.inc('mlb_ipvs_applies_total', { result: 'failed' });
        this.log.error({ command: this.applyCommand, exitCode: res.exitCode, output: String(res.all ?? '').slice(-500) }, 'IPVS delta not applied; retrying from the same state on the next sync');
        return;
      }
      this.metrics.inc('mlb_ipvs_applies_total', { result: 'ok' });
    }
    this.log.info({ lines: delta.split('\n').filter(Boolean).length, vips: out.model.vips.length }, 'IPVS rules updated');
    this.applied = out.model;
  }

  /** For the error path: a failure here never blocks HAProxy updates. */
  async syncSafely(doc: AppsDocument, resolveHost: (host: string) => string | undefined): Promise<void> {
    try {
      await this.sync(doc, resolveHost);
    } catch (e) {
      this.log.error({ err: errorLine(e) }, 'IPVS sync failed');
    }
  }
}
