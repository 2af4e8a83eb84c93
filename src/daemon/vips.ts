import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { errorLine } from '../errors.js';
import { readIfExists, writeFilesAtomically } from '../io/files.js';
import type { AppsDocument } from '../marathon/types.js';
import { warningLine } from '../model/types.js';
import { type VipModel } from '../model/vips.js';
import { parseVipJson, renderIpvsDelta, renderIpvsRules, renderVipJson } from '../render/ipvs.js';
import { vipOutputs } from '../cli/vips.js';
import { backoffMs } from '../marathon/events.js';
import type { Metrics } from './metrics.js';

/** The model the kernel table was last brought to (vips.json form); see IpvsSync. */
export const IPVS_APPLIED_FILE = 'ipvs.applied.json';
/** The last delta, piped to --ipvs-apply-command; `render --out` never writes it. */
const IPVS_DELTA_FILE = 'ipvs.delta';

/** What IpvsSync logs through: the daemon's pino logger, or one-shot mode's stderr lines (sayLog). */
export interface IpvsLog {
  info(details: object, msg: string): void;
  warn(details: object, msg: string): void;
  error(details: object, msg: string): void;
}

/**
 * --ipvs (in the daemon, and once in one-shot mode): keeps ipvs.rules, vips.hosts and vips.json
 * (the rendered model) beside haproxy.cfg, and when the VIP set differs from the applied one
 * writes ipvs.delta (only -A/-D/-a/-e/-d lines from the applied set to the new one, never a
 * flush) and pipes it to --ipvs-apply-command (e.g. `ipvsadm -R`). The daemon goes through
 * enqueue: a queue of its own, which HAProxy's updates never wait for, and retries of its own.
 *
 * The applied set is kept apart from vips.json, in ipvs.applied.json, written only once the
 * command has exited 0 (or, without a command, once ipvs.delta is written): a failed apply
 * leaves it as it was, in memory and on disk, so the retry, in this process or after a
 * restart, computes the delta from what the table really holds and the missed change is not
 * lost. Without that file, see seededApplied; when it can't be read, the table's state is
 * unknown and the first apply is the full rule set (-A/-a of every VIP).
 * (Reading the table back with `ipvsadm-save -n` would be the other way; it needs the ip_vs
 * module on the machine running the daemon, and the rules of other tools would show up too.)
 */
export class IpvsSync {
  /** undefined: nothing known to be applied, the next apply is the full rule set. */
  private applied: VipModel | undefined;
  /** vips.json as last written (or found at startup), so an unchanged model is not rewritten. */
  private writtenJson: string | undefined;
  /** The syncs in order (one at a time), apart from HAProxy's updates: see enqueue. */
  private queue: Promise<void> = Promise.resolve();
  /** A sync of `latest` is queued and not started yet. */
  private queued = false;
  private latest: { doc: AppsDocument; resolveHost: (host: string) => string | undefined } | undefined;
  private maxBackoffMs = 300_000;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** Why the last apply failed (for /healthz); undefined once one succeeds. */
  lastError: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly applyCommand: string | undefined,
    private readonly log: IpvsLog,
    private readonly metrics: Metrics,
  ) {
    this.writtenJson = readIfExists(join(dir, 'vips.json'));
    this.applied = this.lastApplied();
    metrics.declare('mlb_vips', 'gauge', 'named and IP VIP services (address:port/protocol) in the last model');
    metrics.declare('mlb_ipvs_applies_total', 'counter', 'incremental IPVS rule sets applied, by result');
  }

  private lastApplied(): VipModel | undefined {
    const text = readIfExists(join(this.dir, IPVS_APPLIED_FILE));
    if (text === undefined) return this.seededApplied();
    try {
      return parseVipJson(text);
    } catch (e) {
      this.log.warn({ file: join(this.dir, IPVS_APPLIED_FILE), err: errorLine(e) }, 'applied IPVS state unreadable; the next apply is the full rule set');
      return undefined;
    }
  }

  /**
   * No applied file yet: a fresh node (nothing applied), or one upgraded from a version that
   * kept only vips.json, whose applies nearly always succeeded: its vips.json is taken as
   * applied rather than re-adding every rule (`ipvsadm -R` fails on rules that exist). Such a
   * version wrote ipvs.delta with it; a vips.json alone is `render --out`'s, which applied
   * nothing. Written at once, so a failed first apply is retried from it after a restart.
   */
  private seededApplied(): VipModel | undefined {
    const legacy = existsSync(join(this.dir, IPVS_DELTA_FILE)) ? this.writtenJson : undefined;
    let seed: VipModel;
    try {
      seed = legacy === undefined ? { vips: [] } : parseVipJson(legacy);
    } catch {
      return undefined;
    }
    this.write([{ name: IPVS_APPLIED_FILE, content: renderVipJson(seed) }]);
    return seed;
  }

  private write(files: { name: string; content: string }[]): void {
    writeFilesAtomically(files.map((f) => ({ path: join(this.dir, f.name), content: f.content })));
  }

  /** Whether the kernel table now holds the VIPs of `doc` (false: the apply command failed). */
  async sync(doc: AppsDocument, resolveHost: (host: string) => string | undefined): Promise<boolean> {
    const out = vipOutputs(doc, resolveHost);
    this.metrics.set('mlb_vips', out.model.vips.length);
    const json = renderVipJson(out.model);
    const delta = this.applied ? renderIpvsDelta(this.applied, out.model) : renderIpvsRules(out.model);
    if (!delta) {
      // Nothing to apply, but vips.json may still hold a model whose apply failed since.
      if (json !== this.writtenJson) {
        this.write(out.files);
        this.writtenJson = json;
      }
      // The table already holds these VIPs (a newer document undid a change whose apply failed).
      this.lastError = undefined;
      return true;
    }
    for (const w of out.warnings) this.log.warn({ code: w.code, app: w.appId, label: w.label }, warningLine(w));
    this.write([...out.files, { name: IPVS_DELTA_FILE, content: delta }]);
    this.writtenJson = json;
    if (this.applyCommand) {
      const res = await execa(this.applyCommand, { shell: true, input: delta, reject: false, all: true, timeout: 60_000 });
      if (res.exitCode !== 0) {
        this.metrics.inc('mlb_ipvs_applies_total', { result: 'failed' });
        this.lastError = `--ipvs-apply-command exited ${res.exitCode ?? res.signal}: ${String(res.all ?? '').trim().split('\n').slice(-1)[0] ?? ''}`;
        this.log.error({ command: this.applyCommand, exitCode: res.exitCode, output: String(res.all ?? '').slice(-500) }, 'IPVS delta not applied; the applied state is unchanged, so the next sync tries the same change again');
        return false;
      }
      this.metrics.inc('mlb_ipvs_applies_total', { result: 'ok' });
    }
    this.log.info({ lines: delta.split('\n').filter(Boolean).length, vips: out.model.vips.length, full: this.applied === undefined }, 'IPVS rules updated');
    this.applied = out.model;
    this.write([{ name: IPVS_APPLIED_FILE, content: json }]);
    this.lastError = undefined;
    return true;
  }

  /**
   * The daemon's way in: syncs the newest document after the sync under way, without making
   * HAProxy's update wait (an apply command may take up to its 60 s timeout). Documents that
   * arrive meanwhile collapse into the newest. A failed apply is tried again with the event
   * stream's backoff (500 ms doubling, jittered, at most `maxBackoffMs`), always from the newest document, so an older set never
   * follows a newer one into the table.
   */
  enqueue(doc: AppsDocument, resolveHost: (host: string) => string | undefined, maxBackoffMs: number): void {
    this.latest = { doc, resolveHost };
    this.maxBackoffMs = maxBackoffMs;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.queued) return;
    this.queued = true;
    this.queue = this.queue.then(() => this.syncLatest());
  }

  private async syncLatest(): Promise<void> {
    this.queued = false;
    const next = this.latest;
    if (this.stopped || !next) return;
    let ok = false;
    try {
      ok = await this.sync(next.doc, next.resolveHost);
    } catch (e) {
      this.lastError = errorLine(e);
      this.log.error({ err: this.lastError }, 'IPVS sync failed');
    }
    if (ok) {
      this.failures = 0;
      return;
    }
    // A newer document queued meanwhile is the retry.
    if (this.queued || this.stopped) return;
    const retryIn = backoffMs(this.failures++, 500, this.maxBackoffMs);
    this.log.info({ retryInMs: retryIn }, 'IPVS sync to be retried');
    this.retryTimer = setTimeout(() => {
      const latest = this.latest;
      if (latest) this.enqueue(latest.doc, latest.resolveHost, this.maxBackoffMs);
    }, retryIn);
  }

  /**
   * No more syncs or retries; waits for the one under way (at most `waitMs`): one cut short
   * after the kernel took its delta, but before ipvs.applied.json says so, would make the next
   * start re-add rules that exist, which `ipvsadm -R` refuses.
   */
  async stop(waitMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }
}
