import { watch, type FSWatcher } from 'chokidar';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { errorLine, isMlbError, MlbError } from '../errors.js';
import { blamedSections } from '../haproxy/attribute.js';
import { takenBinds } from '../haproxy/binds.js';
import { clearReloadPending, installedFiles, installFiles, type InstallFile, isInstalled, isReloadPending, validateSet, validationError } from '../haproxy/install.js';
import { runCommands, type RuntimeRoute, saveServerState } from '../haproxy/runtime.js';
import { configuredServers } from '../haproxy/server-state.js';
import type { Validation } from '../haproxy/validate.js';
import { HostResolver } from '../io/dns.js';
import { removeStaleTemps } from '../io/files.js';
import { loadTemplateSet } from '../io/templates.js';
import { fetchAppsText, isHttpUrl, parseAppsDocument, type RawApps } from '../marathon/client.js';
import { backoffMs, MarathonEventStream } from '../marathon/events.js';
import type { AppsDocument, Labels, MarathonApp } from '../marathon/types.js';
import { assignedServicePorts, portKey } from '../model/service-ports.js';
import { readServicePorts, servicePortsPathOf, writeServicePorts } from '../io/service-ports-file.js';
import { writeJsonObject } from '../io/json-object-file.js';
import { type KeptLabels, keptLabelsContent, keptLabelsPathOf, readKeptLabels } from '../io/kept-labels-file.js';
import { readServedLabels, type ServedApp, servedLabelsContent, servedLabelsPathOf } from '../io/served-labels-file.js';
import { warningLine, type LbModel } from '../model/types.js';
import { describeDiff, diffModels, serviceSettings } from '../plan/diff.js';
import { configSkeleton, type Live, liveAfterReload, mapCommands, planServerChanges } from '../plan/runtime.js';
import type { TemplateSet } from '../render/templates.js';
import { installOptionsOf, type Settings, stateFileOf } from '../settings.js';
import type { Logger } from './log.js';
import { daemonMetrics, type Metrics } from './metrics.js';
import type { Reloader } from './reloader.js';
import { agentHosts, marathonSourceOf, renderAll, type RenderResult } from './render-set.js';
import { type BlamedPorts, type DroppedPort, droppedPortOf, dropBrokenPorts, everyPortKey, plainApps, portKeysOf, portsOfSections, refusedWithoutApps } from './narrow.js';
import { reloadRetryPauseMs } from './apply.js';
import { IpvsSync } from './vips.js';

/** Why a sync ran: low-cardinality, used as a metrics label and in every reload's log line. */
export type Trigger = 'startup' | 'marathon_event' | 'stream_connected' | 'periodic_resync' | 'sighup' | 'sigusr1' | 'retry' | 'template_change' | 'haproxy_restart';

export interface Applied {
  files: InstallFile[];
  model: LbModel;
  config: string;
  domainMap: string;
  appMap: string;
  at: number;
}

/** Why a reload happens: a category for metrics, and the change in words for the log. */
interface ReloadReason {
  category: string;
  why: string;
}

/** What the running HAProxy last loaded by a reload, and what runtime updates did since. */
interface Loaded {
  skeleton: string;
  templates: TemplateSet | undefined;
  /** settingsOf(the loaded model): computed once per reload, compared on every sync. */
  settings: Map<string, string>;
  live: Live;
}

/** App ports left out (see Daemon.heldBack). */
interface HeldBack {
  definition: string;
  ports: Set<number>;
  /** templateSignature() when they were left out. */
  templates: string;
}

/** An error of fetching or reading Marathon's apps (not of rendering or installing them). */
function isMarathonError(e: unknown): boolean {
  return isMlbError(e) && (e.code === 'E_MARATHON_UNREACHABLE' || e.code === 'E_MARATHON_HTTP' || e.code.startsWith('E_INPUT_'));
}

/** A periodic resync or SIGHUP: held-back and kept apps are tried again. */
function isFullResync(triggers: Trigger[]): boolean {
  return triggers.includes('periodic_resync') || triggers.includes('sighup');
}

/** An app's labels as one comparable text (see keptLabels). */
function labelsJson(labels: Labels | undefined): string {
  return JSON.stringify(labels ?? {});
}

/** settingsOf's answers: one model is asked about up to three times in a sync (a JSON text per service each time). */
const settingsByModel = new WeakMap<LbModel, Map<string, string>>();

/**
 * Service settings apart from servers and vhosts (vhosts show in the config or the maps) and
 * the apps feeding it (a blue/green deploy adds the new colour's tasks as servers).
 */
function settingsOf(model: LbModel): Map<string, string> {
  let settings = settingsByModel.get(model);
  if (!settings) settingsByModel.set(model, (settings = new Map(model.services.map((s) => [s.backend, serviceSettings(s, ['vhosts'])]))));
  return settings;
}

function sameSettings(x: Map<string, string>, y: Map<string, string>): boolean {
  return x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
}

function sameFiles(a: InstallFile[], b: InstallFile[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]?.name && f.content === b[i]?.content);
}

/** An app's definition without what scaling and task changes touch: held-back apps are tried again when it changes. */
function definitionOf(app: MarathonApp): string {
  return JSON.stringify({ ...app, tasks: undefined, instances: undefined, version: undefined, deployments: undefined });
}

/** Rounds of dropping apps HAProxy can't load before a failure counts as not theirs. */
const MAX_NARROWING_ROUNDS = 4;

/**
 * The orchestrator: events mark the state dirty; one worker fetches, renders and applies.
 * Bursts collapse into one sync; reloads are spaced by --reload-interval and changes made
 * meanwhile are applied at its end; the last good config keeps serving through failures.
 */
export class Daemon {
  readonly metrics: Metrics = daemonMetrics();
  applied: Applied | undefined;
  lastError: string | undefined;
  /** HAProxy is not running: not started yet, or it exited and is not running again yet (see onHaproxyExit). */
  haproxyDown = true;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Serving the empty config of a start with no config and no Marathon answer: not healthy yet. */
  waitingForMarathon = false;
  private readonly configPath: string;
  private readonly dirty = new Set<Trigger>();
  private firstDirtyAt = 0;
  private lastEventAt = 0;
  private lastReloadAt = Number.NEGATIVE_INFINITY;
  private pendingReload: Trigger | undefined;
  /** Counts requestReload() calls: a request made while a reload runs outlives that reload. */
  private reloadRequests = 0;
  /** The admin socket couldn't be reached last time; runtime commands went through the master CLI. */
  private adminSocketLost = false;
  private wakeup: (() => void) | undefined;
  private stopped = false;
  /** Aborted by stop(): the waits of the worker (debounce, --reload-interval, reload retries) end at once. */
  private readonly stopping = new AbortController();
  private starting: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private stream: MarathonEventStream | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly resolver = new HostResolver();
  private templates: { signature: string; set: TemplateSet } | undefined;
  private loaded: Loaded | undefined;
  /**
   * The files the running HAProxy loaded (and runtime updates rewrote): what a failed reload
   * puts back, so the installed config is always one HAProxy runs and starts with.
   */
  private lastGood: InstallFile[] | undefined;
  /**
   * App ports left out, by app id, while the app's definition stays the same: those a reload or
   * start failed on (e.g. a port another process holds) and those `haproxy -c` refused. Tried
   * again on a periodic resync or SIGHUP (a certificate file may have appeared, a clashing app
   * gone), and when the templates change.
   */
  private readonly heldBack = new Map<string, HeldBack>();
  /**
   * The reason last said for each dropped app port (by portKey + code): a port refused again for
   * the same reason, at each periodic resync, is not said (nor counted) again.
   */
  private readonly saidDrops = new Map<string, { appId: string; port: string; reason: string }>();
  /** Lines saidDrops let through in the current sync. */
  private dropsSaid = 0;
  /** The reload the start asked for (--command, an adopted HAProxy) has not succeeded yet. */
  private awaitingStartupReload = false;
  /** The warning lines said since they last changed: each is said once while it lasts. */
  private saidWarnings = new Set<string>();
  /**
   * Apps served with the labels they had (`labels`) because HAProxy refuses their new ones
   * (`refused`, as JSON): until the app's labels change again; a periodic resync or SIGHUP
   * tries the new ones again (retryingKept).
   */
  private readonly keptLabels: Map<string, KeptLabels>;
  /**
   * The apps the last applied config serves, with the labels it serves them with and their
   * ports (served-labels.json): what a refused label change made while the daemon was down
   * falls back to at the start, before anything is applied here.
   */
  private servedBefore: Map<string, ServedApp>;
  /** The content of each state file beside the config (kept-labels.json, served-labels.json) as last read or written. */
  private readonly stateContent = new Map<string, string>();
  private retryingKept = false;
  /** The apps withPreviousLabels kept in the current sync. */
  private readonly keptNow = new Set<string>();
  /** The apps document (as fetched) and the templates' signature behind the applied config. */
  private appliedInput: { bytes: Buffer; source: string; templates: string } | undefined;
  private readonly source: ReturnType<typeof marathonSourceOf>;
  private readonly ipvs: IpvsSync | undefined;
  private watcher: FSWatcher | undefined;
  /** Longest a burst of events can postpone a sync. */
  private readonly maxDelayMs: number;
  /** IP-per-task service ports of the last config applied (recordApplied), at first those of the last run (service-ports.json). */
  private persistedPorts: Map<string, number>;

  constructor(
    private readonly s: Settings,
    private readonly log: Logger,
    private readonly reloader: Reloader,
  ) {
    this.configPath = resolve(s.haproxyConfig);
    this.maxDelayMs = Math.max(1000, s.debounceMs * 5);
    this.source = { ...marathonSourceOf(s), signal: this.stopping.signal };
    this.ipvs = s.ipvs ? new IpvsSync(dirname(this.configPath), s.ipvsApplyCommand, log, this.metrics) : undefined;
    const file = servicePortsPathOf(this.configPath);
    const persisted = readServicePorts(file);
    if (persisted.error) this.log.warn({ file, err: persisted.error }, 'IP-per-task service ports file unreadable; ports are assigned afresh');
    else if (persisted.content !== undefined) this.log.debug({ file, ports: persisted.ports.size }, 'IP-per-task service ports from the last run');
    this.persistedPorts = persisted.ports;
    const keptFile = keptLabelsPathOf(this.configPath);
    const kept = readKeptLabels(keptFile);
    if (kept.error) this.log.warn({ file: keptFile, err: kept.error }, 'kept labels file unreadable; apps whose new labels HAProxy refuses are dropped until fixed');
    this.keptLabels = kept.kept;
    this.stateContent.set(keptFile, keptLabelsContent(kept.kept));
    const servedFile = servedLabelsPathOf(this.configPath);
    const served = readServedLabels(servedFile);
    if (served.error) this.log.warn({ file: servedFile, err: served.error }, 'served labels file unreadable; at this start, an app whose new labels HAProxy refuses is dropped until fixed');
    this.servedBefore = served.served;
    this.stateContent.set(servedFile, servedLabelsContent(served.served));
  }

  /** served-labels.json brought up to date with the config just applied (see servedBefore). */
  private saveServedLabels(doc: AppsDocument, model: LbModel): void {
    const labels = new Map(doc.apps.map((a) => [a.id, a.labels ?? {}]));
    const served = new Map<string, ServedApp>();
    for (const s of model.services) {
      for (let i = 0; i < s.sourceAppIds.length; i++) {
        const id = s.sourceAppIds[i] as string;
        const entry = served.get(id) ?? { labels: this.keptLabels.get(id)?.labels ?? labels.get(id) ?? {}, ports: [] };
        entry.ports.push(s.sourcePortIndexes[i] ?? s.portIndex);
        served.set(id, entry);
      }
    }
    for (const entry of served.values()) entry.ports.sort((a, b) => a - b);
    this.servedBefore = served;
    this.saveStateFile(servedLabelsPathOf(this.configPath), servedLabelsContent(served), 'cannot save the served labels; a restarted daemon may drop an app whose labels change meanwhile');
  }

  /** kept-labels.json brought up to date, when keptLabels changed since it was last read or written. */
  private saveKeptLabels(): void {
    this.saveStateFile(keptLabelsPathOf(this.configPath), keptLabelsContent(this.keptLabels), 'cannot save the kept labels; a restarted daemon would drop those apps');
  }

  /** A state file beside the config written with `content`, unless that is what it was last read or written with; `unsaved` said when it can't be. */
  private saveStateFile(path: string, content: string, unsaved: string): void {
    if (this.stateContent.get(path) === content) return;
    try {
      writeJsonObject(path, content);
      this.stateContent.set(path, content);
    } catch (e) {
      this.log.warn({ file: path, err: errorLine(e) }, unsaved);
    }
  }

  /** A reload asked for at the start (HAProxy adopted, or --command) that has not succeeded yet: what runs is not Marathon's apps. */
  get startupReloadPending(): boolean {
    return this.awaitingStartupReload;
  }

  get streamConnected(): boolean {
    return this.stream?.connected ?? false;
  }

  /** Installs, starts HAProxy and follows Marathon; a stop() meanwhile ends it early (and stops what it started). */
  start(): Promise<void> {
    this.starting = this.startUp();
    return this.starting;
  }

  private async startUp(): Promise<void> {
    // A config whose reload failed (a one-shot run, an earlier mlb-ts) is not known to work.
    // Temp files an earlier run was killed with between writing and renaming them.
    removeStaleTemps(this.installedNames().map((n) => join(dirname(this.configPath), n)));
    const pending = isReloadPending(this.configPath);
    this.lastGood = pending ? undefined : this.installedFiles();
    const doc = await this.firstInstall();
    if (this.stopped) return;
    const adopted = await this.startHaproxy(doc);
    if (this.stopped) return;
    this.haproxyDown = false;
    // A HAProxy that was already running (adopted, or the operator's) must pick up the new config.
    if ((doc || pending) && (adopted || this.reloader.kind === 'command')) {
      this.awaitingStartupReload = true;
      this.requestReload('startup');
    }
    if (this.s.sse) this.startStream();
    if (this.s.templatesDir) this.watchTemplates(this.s.templatesDir);
    this.resyncTimer = setInterval(() => this.markDirty('periodic_resync'), this.s.resyncInterval * 1000);
    this.resyncTimer.unref();
    this.loop = this.workerLoop();
  }

  /** Whether stop() was called (start() then returns without following Marathon). */
  get isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    // A start under way finishes first (its fetch is aborted), so what it started is stopped below.
    await this.starting?.catch(() => undefined);
    this.stream?.stop();
    await this.watcher?.close();
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.restartTimer);
    this.wakeup?.();
    await this.loop?.catch(() => undefined);
    await this.ipvs?.stop();
    await this.reloader.stop();
  }

  /** Why the last IPVS apply failed, with --ipvs (undefined once one succeeds). */
  get ipvsError(): string | undefined {
    return this.ipvs?.lastError;
  }

  /** Something may have changed: a sync follows after the debounce. */
  markDirty(trigger: Trigger, immediate = false): void {
    const now = Date.now();
    if (this.dirty.size === 0) this.firstDirtyAt = now;
    this.dirty.add(trigger);
    this.lastEventAt = immediate ? 0 : now;
    this.wakeup?.();
  }

  /** SIGUSR1: reload the current config even if nothing changed. */
  requestReload(trigger: Trigger): void {
    this.pendingReload = trigger;
    this.reloadRequests++;
    this.markDirty(trigger, true);
  }

  /**
   * HAProxy's master exited unasked: start it again, and again with backoff (1 s doubling, at
   * most 30 s) for as long as that fails (its port held by another process a while, a slow
   * disk…). Meanwhile /healthz says so (haproxyDown).
   */
  onHaproxyExit(attempt = 0): void {
    if (this.stopped) return;
    this.haproxyDown = true;
    const applied = this.applied;
    const templates = this.loaded?.templates ?? this.templates?.set;
    void this.reloader
      .start()
      .then(() => {
        if (this.stopped) return;
        this.haproxyDown = false;
        this.metrics.inc('mlb_reloads_total', { reason: 'haproxy_restart' });
        this.log.info({ reason: 'haproxy_restart', attempts: attempt + 1 }, 'HAProxy restarted');
        this.resetLoaded(applied, templates);
      })
      .catch((e) => {
        if (this.stopped) return;
        this.metrics.inc('mlb_haproxy_restart_failures_total');
        const retryInMs = restartRetryMs(attempt);
        this.lastError = errorLine(e);
        this.log.error({ err: this.lastError, retryInMs }, 'cannot restart HAProxy; trying again');
        clearTimeout(this.restartTimer);
        this.restartTimer = setTimeout(() => this.onHaproxyExit(attempt + 1), retryInMs);
      });
  }

  /**
   * HAProxy started again from the installed file: what runtime updates did to the old one
   * is gone, its servers are the file's. When that file is the applied config, the runtime
   * updates start again from it; otherwise (it changed meanwhile) a reload loads the current one.
   */
  private resetLoaded(applied: Applied | undefined, templates: TemplateSet | undefined): void {
    if (applied && applied === this.applied && isInstalled(dirname(this.configPath), applied.files)) {
      this.loaded = { skeleton: configSkeleton(applied.config), templates, settings: settingsOf(applied.model), live: liveAfterReload(applied.model, this.s.spareSlots) };
      return;
    }
    this.loaded = undefined;
    this.requestReload('haproxy_restart');
  }

  /** Template hot-reload: a change in --templates DIR re-renders through the validated path. */
  private watchTemplates(dir: string): void {
    this.watcher = watch(dir, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
    this.watcher.on('all', (event, path) => {
      this.log.info({ event, path }, 'template file changed');
      this.markDirty('template_change');
    });
    this.watcher.on('error', (e) => this.log.warn({ err: errorLine(e) }, 'template watcher error'));
  }

  private startStream(): void {
    const src = this.source;
    const urls = src.urls.filter(isHttpUrl);
    if (urls.length === 0) {
      this.log.warn('--sse needs an http(s) --marathon URL; following no event stream');
      return;
    }
    this.stream = new MarathonEventStream(
      { urls, ...(src.auth ? { auth: src.auth } : {}), ...(src.ca ? { ca: src.ca } : {}), stallTimeoutMs: this.s.stallTimeout * 1000, maxBackoffMs: this.s.maxBackoff * 1000 },
      {
        onEvent: (type) => {
          this.metrics.inc('mlb_events_total', { type });
          this.markDirty('marathon_event');
        },
        onConnect: (url) => {
          this.metrics.set('mlb_stream_connected', 1);
          this.log.info({ url }, 'event stream connected; full resync');
          this.markDirty('stream_connected', true);
        },
        onDisconnect: (reason, retryInMs) => {
          const was = this.metrics.get('mlb_stream_connected') === 1;
          this.metrics.set('mlb_stream_connected', 0);
          this.log.warn({ reason, retryInMs }, was ? 'event stream lost; reconnecting' : 'event stream not connected; retrying');
        },
      },
    );
    this.stream.start();
  }

  /**
   * A file HAProxy runs, as /_haproxy_get* serve it: the last applied, else (Marathon has not
   * answered since the start) the one installed before, which HAProxy was started with.
   */
  servedFile(which: 'config' | 'domain2backend.map' | 'app2backend.map'): string {
    const applied = this.applied;
    if (applied) return which === 'config' ? applied.config : which === 'domain2backend.map' ? applied.domainMap : applied.appMap;
    const name = which === 'config' ? basename(this.configPath) : which;
    return this.lastGood?.find((f) => f.name === name)?.content ?? '';
  }

  /** The names of the files mlb-ts installs beside the config (config first). */
  private installedNames(): string[] {
    return [basename(this.configPath), ...(this.s.haproxyMap ? ['domain2backend.map', 'app2backend.map'] : [])];
  }

  /** The files installed now (config first), if there is a config. */
  private installedFiles(): InstallFile[] | undefined {
    return installedFiles(dirname(this.configPath), this.installedNames());
  }

  /**
   * Before HAProxy starts it needs a config: the current apps, else the last installed one, else
   * an empty one. Returns the apps document installed (undefined when Marathon did not answer).
   */
  private async firstInstall(): Promise<AppsDocument | undefined> {
    this.metrics.inc('mlb_syncs_total', { trigger: 'startup' });
    try {
      // this.source: the URL that answers is asked first afterwards, and stop() aborts the fetch.
      // Remembered as the applied input: the sync when the event stream connects finds the same
      // bytes and renders nothing again (at 5,000 apps a second fetch-and-render right after start).
      return (await this.applyInput(await fetchAppsText(this.source), ['startup'], false)).doc;
    } catch (e) {
      // Without HAProxy no older config can serve either: one line, and the start fails.
      if (isMlbError(e) && e.code === 'E_HAPROXY_MISSING') throw e;
      this.lastError = errorLine(e);
      const installed = existsSync(this.configPath);
      this.log.error({ err: this.lastError }, installed ? 'first sync failed; serving the last installed config' : 'first sync failed; no config installed yet');
      this.markDirty('retry');
      if (!this.applied && !(await this.currentInstalledOrEmpty(isMarathonError(e)))) throw e;
      return undefined;
    }
  }

  /**
   * Starts (or adopts) HAProxy. If it can't start with the new config, the apps its alerts blame
   * are held back and it starts with the rest; failing that, with the files it ran before.
   */
  private async startHaproxy(doc: AppsDocument | undefined): Promise<boolean> {
    for (let round = 0; ; round++) {
      try {
        const adopted = await this.reloader.start();
        if (!adopted && this.reloader.kind === 'supervised') {
          this.lastGood = this.installedFiles();
          clearReloadPending(this.configPath);
        }
        return adopted;
      } catch (e) {
        if (round >= MAX_NARROWING_ROUNDS) throw e;
        const blamed: BlamedPorts = doc && this.applied ? this.blamedPorts(e, this.applied.config, this.applied.model) : new Map();
        if (doc && blamed.size > 0) {
          this.log.error({ err: errorLine(e) }, 'HAProxy does not start with the new config; leaving out the app ports it blames');
          this.holdBack(blamed, doc);
          await this.applyDocument(doc, ['startup'], false);
          continue;
        }
        const before = this.lastGood;
        if (!before || isInstalled(dirname(this.configPath), before)) throw e;
        this.log.error({ err: errorLine(e) }, 'HAProxy does not start with the new config and no app is to blame; starting it with the config installed before');
        await installFiles(before, { ...this.installOptions(), skipValidation: true });
        // What runs is not what was rendered: the next sync applies the apps again (a reload).
        this.applied = undefined;
        this.loaded = undefined;
        this.markDirty('retry');
      }
    }
  }

  private async currentInstalledOrEmpty(marathonDown: boolean): Promise<boolean> {
    if (existsSync(this.configPath)) return true;
    this.log.warn(`starting HAProxy with no apps until ${marathonDown ? 'Marathon answers' : 'a sync succeeds'}`);
    await this.applyDocument({ apps: [] }, ['startup'], false, true);
    this.waitingForMarathon = true;
    return true;
  }

  /** Waits `ms`, or less if stop() comes first. */
  private pause(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((r) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        r();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async nextDirty(): Promise<void> {
    while (this.dirty.size === 0 && !this.stopped) await new Promise<void>((r) => (this.wakeup = r));
    this.wakeup = undefined;
  }

  private async debounce(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const quiet = now - this.lastEventAt;
      const age = now - this.firstDirtyAt;
      if (quiet >= this.s.debounceMs || age >= this.maxDelayMs || this.stopped) return;
      await this.pause(Math.min(this.s.debounceMs - quiet, this.maxDelayMs - age));
    }
  }

  private async workerLoop(): Promise<void> {
    while (!this.stopped) {
      await this.nextDirty();
      await this.debounce();
      if (this.stopped) break;
      const triggers = [...this.dirty];
      this.dirty.clear();
      try {
        const applied = await this.sync(triggers);
        this.failures = 0;
        this.lastError = undefined;
        if (applied) this.waitingForMarathon = false;
      } catch (e) {
        // Stopping cut it short (a haproxy -c stopped): not a failure to report or retry.
        if (this.stopped) break;
        this.failures++;
        this.lastError = errorLine(e);
        this.metrics.inc('mlb_sync_failures_total');
        const retryIn = syncRetryMs(this.failures, this.s.maxBackoff * 1000);
        this.log.error({ err: this.lastError, triggers, retryInMs: retryIn }, this.lastGood ? 'sync failed; the last good config keeps serving' : 'sync failed; no config known to work serves yet');
        clearTimeout(this.retryTimer);
        if (!this.stopped) this.retryTimer = setTimeout(() => this.markDirty('retry'), retryIn);
      }
    }
  }

  /** Whether Marathon's apps (these or the same as applied) are what runs now; false when deferred to a newer round. */
  private async sync(triggers: Trigger[]): Promise<boolean> {
    for (const t of triggers) this.metrics.inc('mlb_syncs_total', { trigger: t });
    let raw: RawApps;
    try {
      raw = await fetchAppsText(this.source);
    } catch (e) {
      await this.reloadWithoutMarathon(triggers);
      throw e;
    }
    // The same bytes as the last applied document render the same config: nothing to do,
    // unless templates changed, a reload is pending, or it is a full resync: periodic (which
    // also picks up agents whose DNS answer changed) or SIGHUP (which also checks the disk).
    const signature = this.templateSignature();
    const unchanged = this.appliedInput !== undefined && raw.bytes.equals(this.appliedInput.bytes) && !this.pendingReload && this.appliedInput.templates === signature && !triggers.includes('periodic_resync') && !triggers.includes('sighup');
    if (unchanged) {
      this.log.debug({ triggers }, 'no change (same apps document)');
      return true;
    }
    return (await this.applyInput(raw, triggers, true)).applied;
  }

  /**
   * A reload asked for (SIGUSR1, HAProxy restarted…) while Marathon does not answer: the apps
   * document last applied, rendered and reloaded again, as marathon-lb reloads the config it has
   * without asking Marathon. The failed fetch is still the sync's error (retried with backoff).
   */
  private async reloadWithoutMarathon(triggers: Trigger[]): Promise<void> {
    const last = this.appliedInput;
    if (!this.pendingReload || !last || this.stopped) return;
    try {
      await this.applyInput({ bytes: last.bytes, source: last.source }, triggers, true);
    } catch (e) {
      this.log.error({ err: errorLine(e), triggers }, 'reload of the last applied apps failed');
    }
  }

  /** Parses and applies an apps document; once applied, its bytes are what sync compares the next ones with. */
  private async applyInput(raw: RawApps, triggers: Trigger[], reload: boolean): Promise<{ doc: AppsDocument; applied: boolean }> {
    const doc = parseAppsDocument(raw.bytes, raw.source, { slim: true });
    const applied = await this.applyDocument(doc, triggers, reload);
    if (applied) this.appliedInput = { bytes: raw.bytes, source: raw.source, templates: this.templates?.signature ?? '' };
    return { doc, applied };
  }

  /** Names, sizes and times of the --templates files: a change means templates to re-read. */
  private templateSignature(): string {
    const dir = this.s.templatesDir;
    if (!dir) return '';
    try {
      return readdirSync(dir)
        .sort()
        .map((f) => {
          const st = statSync(join(dir, f));
          return `${f}:${st.size}:${st.mtimeMs}`;
        })
        .join('|');
    } catch {
      return 'unreadable';
    }
  }

  private templateSet(): TemplateSet {
    const dir = this.s.templatesDir;
    const signature = this.templateSignature();
    if (!this.templates || this.templates.signature !== signature) {
      let set: TemplateSet;
      try {
        set = loadTemplateSet(dir);
        if (this.templates) this.log.info({ dir }, 'templates changed; re-rendering');
      } catch (e) {
        if (!this.templates) throw e;
        this.log.error({ err: errorLine(e), dir }, 'template rejected; keeping the templates in use until it is fixed');
        set = this.templates.set;
      }
      this.templates = { signature, set };
    }
    return this.templates.set;
  }

  /**
   * Renders `doc` without the held-back app ports and `dropped` (portKeys; VIPs, with
   * `withVips`, from all of them).
   * IP-per-task ports keep the service ports the applied config gave them, so an app that
   * comes or goes never moves another one's frontend. Before the first apply, those of the
   * last run (service-ports.json beside the config, written by recordApplied), so they
   * survive a restart too.
   */
  private async render(given: AppsDocument, withVips = false, dropped?: ReadonlySet<string>, asGiven = false): Promise<RenderResult> {
    const t0 = performance.now();
    const doc = asGiven ? given : this.withKeptLabels(given);
    const resolveHost = await this.resolver.resolveAll(agentHosts(doc.apps));
    if (withVips) this.ipvs?.enqueue(doc, resolveHost, this.s.maxBackoff * 1000);
    const droppedPorts = this.heldBack.size > 0 || dropped ? new Set([...this.heldBackPorts(), ...(dropped ?? [])]) : undefined;
    const result = renderAll(doc, this.s, this.templateSet(), this.configPath, resolveHost, { previousServicePorts: this.persistedPorts, ...(droppedPorts ? { droppedPorts } : {}) });
    this.metrics.observe('mlb_render_seconds', (performance.now() - t0) / 1000);
    return result;
  }

  /** Returns false when it deferred to a newer round (the document was not applied). */
  /**
   * `placeholder`: the empty config of a start with none installed and no apps from Marathon,
   * which must not empty the IPVS table nor count as an apply.
   */
  private async applyDocument(doc: AppsDocument, triggers: Trigger[], reload: boolean, placeholder = false): Promise<boolean> {
    this.releaseHeldBack(doc, triggers);
    this.retryingKept = isFullResync(triggers) && this.keptLabels.size > 0;
    this.keptNow.clear();
    let result = await this.render(doc, !placeholder);
    const force = this.pendingReload;
    // SIGHUP also checks the disk: files that are not the ones last applied (an operator edited
    // them, or a rewrite failed) are installed again and reloaded, even if nothing else changed.
    const drifted = reload && triggers.includes('sighup') && this.applied !== undefined && !isInstalled(dirname(this.configPath), this.applied.files);
    const unchanged = this.applied !== undefined && sameFiles(this.applied.files, result.files);
    if (unchanged && !force && !drifted) {
      // A label whose port is left out changes no file: its warning is still news.
      this.logWarnings(result);
      this.settleKept(doc);
      // An operator's SIGHUP gets an answer; the stream's and timer's resyncs stay quiet.
      if (triggers.includes('sighup')) this.log.info({ triggers }, 'full resync: nothing to change');
      else this.log.debug({ triggers }, 'no change');
      return true;
    }
    let why = this.applied ? describeDiff(diffModels(this.applied.model, result.model)) : 'initial config';
    let reloadReason: ReloadReason = force
      ? { category: force, why: unchanged ? `${force} requested a reload` : `${force} requested a reload; ${why}` }
      : drifted
        ? { category: 'config_on_disk_differs', why: `config on disk differs from the one mlb-ts installed; ${why}` }
        : { category: 'config_changed', why };
    if (reload && !force && !drifted) {
      const runtime = await this.tryRuntime(result, why);
      if (runtime === true) {
        this.settleKept(doc);
        return true;
      }
      reloadReason = runtime;
    }
    if (reload) {
      const wait = this.lastReloadAt + this.s.reloadInterval * 1000 - Date.now();
      if (wait > 0) {
        this.log.info({ reason: reloadReason.category, change: reloadReason.why, waitMs: wait }, 'reload waits for --reload-interval');
        await this.serversWhileWaiting(result);
        await this.pause(wait);
        if (this.dirty.size > 0 && !this.stopped) {
          // Newer changes arrived while waiting: the next round fetches them all at once.
          for (const t of triggers) this.dirty.add(t);
          return false;
        }
      }
    }
    // Stopping: nothing more is installed or reloaded.
    if (this.stopped) return false;
    const t0 = performance.now();
    const dropsSaidBefore = this.dropsSaid;
    const nothingLeft = () => {
      if (!this.applied || !sameFiles(this.applied.files, result.files) || force || drifted) return false;
      this.logWarnings(result);
      this.settleKept(doc);
      // After a periodic retry that found the same refusals, this is routine.
      this.log[this.dropsSaid > dropsSaidBefore ? 'info' : 'debug']({ triggers }, 'nothing to apply once the rejected parts were dropped; the running config stays');
      return true;
    };
    const requests = this.reloadRequests;
    for (let round = 0; ; round++) {
      // Ports another process holds: the reload would fail on them (and pause every listener meanwhile).
      let blamed: BlamedPorts = reload && round < MAX_NARROWING_ROUNDS ? await this.unbindablePorts(result) : new Map();
      if (blamed.size === 0) {
        let narrowed = false;
        try {
          const validated = await this.installValid(doc, result);
          // Narrowed (ports HAProxy refused left out): the reload's change is the one it makes now.
          narrowed = validated !== result && this.applied !== undefined && !force && !drifted;
          if (narrowed && this.applied) {
            why = describeDiff(diffModels(this.applied.model, validated.model));
            reloadReason = { ...reloadReason, why };
          }
          result = validated;
        } catch (e) {
          // Not installed (the directory read-only, the disk full, a config HAProxy refuses with
          // no app to blame): as for a failed reload, the running services still get their server changes.
          if (reload && !this.stopped) await this.runtimeForRunningServices(doc);
          throw e;
        }
        if (nothingLeft()) return true;
        if (!reload) break;
        if (narrowed) {
          // What is left once the refused part is out may be server changes only (a scale-up beside
          // a new app HAProxy refuses): the runtime API then, as without that app.
          const runtime = await this.tryRuntime(result, why);
          if (runtime === true) {
            // Installed as not loaded yet (installValid); HAProxy now runs what it describes.
            clearReloadPending(this.configPath);
            this.settleKept(doc);
            return true;
          }
          reloadReason = runtime;
        }
        try {
          await this.reloadWithRetries(reloadReason, result);
          break;
        } catch (e) {
          await this.restoreLastGood();
          blamed = round < MAX_NARROWING_ROUNDS ? this.blamedPorts(e, result.rendered.config, result.model) : new Map();
          if (blamed.size === 0) {
            await this.runtimeForRunningServices(doc);
            throw e;
          }
        }
      }
      // Without the app ports HAProxy can't load: maybe nothing is left to do, or the rest is runtime-only.
      this.holdBack(blamed, doc);
      result = await this.render(doc);
      if (nothingLeft()) return true;
      if (this.applied) why = describeDiff(diffModels(this.applied.model, result.model));
      if (force || drifted) continue;
      const runtime = await this.tryRuntime(result, why);
      if (runtime === true) {
        this.settleKept(doc);
        return true;
      }
      reloadReason = runtime;
    }
    this.logWarnings(result);
    const trigger = force ?? triggers[0] ?? 'marathon_event';
    // A reload requested while this one ran is still to come.
    if (this.reloadRequests === requests) this.pendingReload = undefined;
    this.loaded = {
      skeleton: configSkeleton(result.rendered.config),
      templates: this.templates?.set,
      settings: settingsOf(result.model),
      live: liveAfterReload(result.model, this.s.spareSlots),
    };
    this.recordApplied(result, t0, placeholder);
    this.settleKept(doc);
    if (!placeholder) this.saveServedLabels(doc, result.model);
    if (placeholder) this.log.info({ reason: trigger }, 'empty config installed, to start HAProxy with');
    else if (!reload) this.log.info({ reason: trigger, change: why }, 'config installed');
    return true;
  }

  /**
   * Held-back apps come back when their definition changed (or they are gone), on SIGHUP, when
   * the templates changed, and on a periodic resync unless only `haproxy -c` refused them.
   */
  private releaseHeldBack(doc: AppsDocument, triggers: Trigger[]): void {
    if (this.heldBack.size === 0) return;
    const templates = this.templateSignature();
    const apps = new Map(doc.apps.map((a) => [a.id, a]));
    for (const [id, held] of this.heldBack) {
      const app = apps.get(id);
      const why = !app
        ? 'gone'
        : triggers.includes('sighup')
          ? 'SIGHUP'
          : triggers.includes('periodic_resync')
            ? 'periodic resync'
            : held.templates !== templates
              ? 'the templates changed'
              : definitionOf(app) !== held.definition
                ? 'its definition changed'
                : undefined;
      if (why === undefined) continue;
      this.heldBack.delete(id);
      // The periodic retry is routine: what comes of it is said only if it is news (saidDrops).
      if (app) this.log[why === 'periodic resync' ? 'debug' : 'info']({ app: id }, `app ${id}: trying it again (${why})`);
    }
  }

  /** `doc` with the labels of the kept apps whose labels are still the refused ones (see keptLabels). Pure. */
  private withKeptLabels(doc: AppsDocument): AppsDocument {
    if (this.keptLabels.size === 0 || this.retryingKept) return doc;
    let changed = false;
    const apps = doc.apps.map((a) => {
      const kept = this.keptLabels.get(a.id);
      if (!kept || labelsJson(a.labels) !== kept.refused) return a;
      changed = true;
      return { ...a, labels: kept.labels };
    });
    return changed ? { apps } : doc;
  }

  /**
   * After `doc` was applied: an app stays kept only while it is there with the refused labels, and,
   * in a sync that tried the new labels again (retryingKept), only if they were refused again.
   */
  private forgetKeptLabels(doc: AppsDocument): void {
    if (this.keptLabels.size === 0) return;
    const apps = new Map(doc.apps.map((a) => [a.id, a]));
    for (const [id, kept] of this.keptLabels) {
      const app = apps.get(id);
      const stays = app !== undefined && labelsJson(app.labels) === kept.refused && (!this.retryingKept || this.keptNow.has(id));
      if (!stays) this.keptLabels.delete(id);
    }
  }

  /**
   * After `doc` is what runs, by whatever path (a reload, the runtime API, nothing to change): kept
   * apps that no longer are (their labels fixed, or back to those served), the drops said for
   * them, and kept-labels.json brought up to date.
   */
  private settleKept(doc: AppsDocument): void {
    this.forgetKeptLabels(doc);
    this.forgetSaidDrops();
    this.saveKeptLabels();
  }

  /** Drops said for ports no longer held back nor kept on their old labels: if HAProxy refuses one again, that is news. */
  private forgetSaidDrops(): void {
    if (this.saidDrops.size === 0) return;
    const held = new Set(this.heldBackPorts());
    for (const [key, said] of this.saidDrops) if (!held.has(said.port) && !this.keptLabels.has(said.appId)) this.saidDrops.delete(key);
  }

  /** The held-back app ports, as portKeys. */
  private heldBackPorts(): string[] {
    return [...this.heldBack].flatMap(([id, held]) => [...held.ports].map((p) => portKey(id, p)));
  }

  /** Leaves app ports a reload failed on out of the config (see heldBack); each logged with HAProxy's reason. */
  private holdBack(blamed: BlamedPorts, doc: AppsDocument): void {
    const apps = new Map(doc.apps.map((a) => [a.id, a]));
    for (const { appId, portIndex, reason, blame } of blamed.values()) {
      const app = apps.get(appId);
      if (app && this.heldBackNow(app, portIndex)) this.logDroppedPort(droppedPortOf(appId, app.labels, portIndex, reason, blame), 'E_RELOAD');
    }
  }

  /** Holds one app port back (see heldBack); false if it already was. */
  private heldBackNow(app: MarathonApp, portIndex: number): boolean {
    const held = this.heldBack.get(app.id) ?? { definition: definitionOf(app), ports: new Set<number>(), templates: this.templateSignature() };
    if (held.ports.has(portIndex)) return false;
    held.ports.add(portIndex);
    this.heldBack.set(app.id, held);
    return true;
  }

  /**
   * The app ports (with why) behind the proxies HAProxy's alerts blame for a failed start or
   * reload (MlbError.details, and the message), in the config it was given.
   */
  private blamedPorts(e: unknown, config: string, model: LbModel): BlamedPorts {
    if (!isMlbError(e)) return new Map();
    const bySection = new Map<string, string[]>();
    for (const line of [...e.details, e.message]) {
      for (const section of blamedSections([line], config)) bySection.set(section, [...(bySection.get(section) ?? []), line]);
    }
    return portsOfSections(new Map([...bySection].map(([section, lines]) => [section, `HAProxy could not load it: ${lines.slice(0, 2).join(' | ')}`])), model, { suspects: 'verbatim', config });
  }

  /**
   * App ports whose new frontends would bind a port another process already listens on (checked
   * before reloading the HAProxy mlb-ts runs; ports the running config binds are its own).
   */
  private async unbindablePorts(result: RenderResult): Promise<BlamedPorts> {
    const running = this.lastGood?.[0]?.content;
    if (this.reloader.kind !== 'supervised' || running === undefined) return new Map();
    return portsOfSections(await takenBinds(result.rendered.config, running), result.model, { suspects: 'port' });
  }

  /** After a failed reload: the files the running HAProxy loaded go back in place (atomically, like any install). */
  private async restoreLastGood(): Promise<void> {
    const good = this.lastGood;
    if (!good) {
      this.log.error({ config: this.configPath }, 'reload failed and no config known to work to put back; the new one stays installed');
      return;
    }
    try {
      await installFiles(good, { ...this.installOptions(), skipValidation: true });
      clearReloadPending(this.configPath);
      this.log.warn({ config: this.configPath }, 'reload failed: the config HAProxy runs is installed again');
    } catch (e) {
      this.log.error({ err: errorLine(e) }, 'reload failed and the config HAProxy runs could not be put back');
    }
  }

  /**
   * A reload (or the install before it) failed and no app is to blame: the last good config keeps running and the next
   * attempt follows with backoff. Meanwhile the servers of the services it has still change
   * through the runtime API, when only they changed.
   */
  private async runtimeForRunningServices(doc: AppsDocument): Promise<void> {
    const applied = this.applied;
    if (!applied || !this.lastGood || !sameFiles(applied.files, this.lastGood)) {
      // What runs is not what mlb-ts rendered last (e.g. an adopted HAProxy): only a reload brings them together.
      this.pendingReload ??= 'retry';
      return;
    }
    // The start's reload stays asked for: what runs may not be these files at all (--command).
    if (!this.awaitingStartupReload) this.pendingReload = undefined;
    try {
      // Only the app ports HAProxy runs: a new port of a running app is a change for the reload to bring.
      const running = new Set(portKeysOf(applied.model));
      const partial = await this.render(doc, false, new Set(everyPortKey(doc.apps).filter((k) => !running.has(k))));
      if (sameFiles(applied.files, partial.files)) return;
      const runtime = await this.tryRuntime(partial, describeDiff(diffModels(applied.model, partial.model)));
      if (runtime !== true) this.log.info({ reason: runtime.category, change: runtime.why }, 'changes to the running services need a reload too; they wait for the next attempt');
    } catch (e) {
      this.log.warn({ err: errorLine(e) }, 'runtime update of the running services failed');
    }
  }

  /**
   * While a reload waits for --reload-interval, the server changes of the backends HAProxy runs
   * with unchanged settings go through the runtime API at once (those that fit their free slots):
   * a task Marathon kills drains now, not after the wait, when its grace period may be over.
   */
  private async serversWhileWaiting(result: RenderResult): Promise<void> {
    const loaded = this.loaded;
    if (!loaded || loaded.templates !== this.templates?.set) return;
    const settings = settingsOf(result.model);
    const services = result.model.services.filter((s) => loaded.live.has(s.backend) && loaded.settings.get(s.backend) === settings.get(s.backend));
    const plan = planServerChanges(loaded.live, { services }, { bestEffort: true });
    if (plan.kind !== 'runtime' || plan.commands.length === 0) return;
    try {
      await this.runRuntimeCommands(plan.commands);
      loaded.live = plan.live;
      this.metrics.inc('mlb_runtime_updates_total', { kind: 'servers_before_reload' });
      this.log.info({ change: plan.summary, commands: plan.commands.length }, 'server changes applied through the runtime API while the reload waits');
    } catch (e) {
      this.log.warn({ err: errorLine(e) }, 'runtime update while the reload waits failed; the reload brings the changes');
    }
  }

  /** The render's warnings not said since they appeared (a bad label is said when deployed, not on every sync after). */
  private logWarnings(result: RenderResult): void {
    const now = new Set<string>();
    for (const w of result.warnings) {
      const line = warningLine(w);
      if (!this.saidWarnings.has(line) && !now.has(line)) this.log.warn({ code: w.code, app: w.appId, label: w.label }, line);
      now.add(line);
    }
    this.saidWarnings = now;
  }

  private recordApplied(result: RenderResult, t0: number, placeholder = false): void {
    this.applied = {
      files: result.files,
      model: result.model,
      config: result.rendered.config,
      domainMap: result.rendered.domainMap,
      appMap: result.rendered.appMap,
      at: Date.now(),
    };
    this.metrics.observe('mlb_apply_seconds', (performance.now() - t0) / 1000);
    this.metrics.set('mlb_apps', new Set(result.model.services.flatMap((s) => s.sourceAppIds)).size);
    this.metrics.set('mlb_backends', result.model.services.length);
    this.metrics.set('mlb_servers', result.model.services.reduce((n, s) => n + s.servers.length, 0));
    if (!placeholder) this.metrics.set('mlb_last_apply_timestamp_seconds', Math.floor(Date.now() / 1000));
    this.persistServicePorts(result);
  }

  /** The applied config's IP-per-task service ports, for the next run (only when they changed). */
  private persistServicePorts(result: RenderResult): void {
    const file = servicePortsPathOf(this.configPath);
    this.persistedPorts = assignedServicePorts(result.model.services);
    try {
      if (writeServicePorts(file, this.persistedPorts)) this.log.debug({ file }, 'IP-per-task service ports saved');
    } catch (e) {
      this.log.warn({ file, err: errorLine(e) }, 'cannot save the IP-per-task service ports; a restart may assign some afresh');
    }
  }

  /**
   * Applies server and map-entry changes through the runtime API, then rewrites the config
   * file so a later reload starts from the same state. Returns true when done, or the reason
   * a reload is needed instead.
   */
  private async tryRuntime(result: RenderResult, why: string): Promise<true | ReloadReason> {
    const loaded = this.loaded;
    if (!loaded || !this.applied) return { category: 'startup', why: 'no running config to update' };
    if (loaded.templates !== this.templates?.set) return { category: 'templates_changed', why: `templates changed; ${why}` };
    if (configSkeleton(result.rendered.config) !== loaded.skeleton || !sameSettings(loaded.settings, settingsOf(result.model))) return { category: 'structure_changed', why };
    const plan = planServerChanges(loaded.live, result.model);
    if (plan.kind === 'reload') return { category: 'slots_exhausted', why: plan.reason };
    const dir = dirname(this.configPath);
    const commands = [
      ...plan.commands,
      ...mapCommands(join(dir, 'domain2backend.map'), this.applied.domainMap, result.rendered.domainMap),
      ...mapCommands(join(dir, 'app2backend.map'), this.applied.appMap, result.rendered.appMap),
    ];
    const t0 = performance.now();
    try {
      await this.runRuntimeCommands(commands);
    } catch (e) {
      this.metrics.inc('mlb_runtime_fallbacks_total');
      this.log.warn({ err: errorLine(e) }, 'runtime update failed; falling back to a reload');
      return { category: 'runtime_failed', why: `runtime update failed (${errorLine(e)}); ${why}` };
    }
    loaded.live = plan.live;
    this.lastGood = result.files;
    this.metrics.inc('mlb_runtime_updates_total', { kind: commands.length === plan.commands.length ? 'servers' : 'servers_and_maps' });
    this.log.info({ change: why, commands: commands.length, ms: Math.round(performance.now() - t0) }, 'applied through the runtime API (no reload)');
    try {
      // No `haproxy -c` (a second or more at 5,000 apps, holding up the next change): the config
      // has the structure of the one HAProxy runs, and its new server lines are the servers
      // HAProxy has just taken through the runtime API.
      await installFiles(result.files, { ...this.installOptions(), skipValidation: true });
    } catch (e) {
      this.log.error({ err: errorLine(e) }, 'config file not rewritten after a runtime update; the running HAProxy has the change');
    }
    this.logWarnings(result);
    this.recordApplied(result, t0);
    return true;
  }

  /**
   * Runtime commands through the admin socket; when its file is gone (or nothing listens on
   * it) and mlb-ts runs HAProxy itself, through the master CLI to the current worker instead,
   * so a deleted socket file does not turn every later change into a reload.
   */
  private async viaRuntimeApi<T>(use: (route: RuntimeRoute) => Promise<T>): Promise<T> {
    try {
      const result = await use(this.s.haproxySocket);
      if (this.adminSocketLost) this.log.info({ socket: this.s.haproxySocket }, 'admin socket reachable again');
      this.adminSocketLost = false;
      return result;
    } catch (e) {
      if (!isMlbError(e) || e.code !== 'E_RUNTIME_UNREACHABLE' || this.reloader.kind !== 'supervised') throw e;
      const result = await use({ masterSocket: this.s.masterSocket });
      if (!this.adminSocketLost) this.log.warn({ socket: this.s.haproxySocket, err: errorLine(e) }, 'admin socket unreachable; runtime commands go through the master CLI');
      this.adminSocketLost = true;
      this.metrics.inc('mlb_runtime_via_master_total');
      return result;
    }
  }

  private runRuntimeCommands(commands: string[]): Promise<void> {
    return this.viaRuntimeApi((route) => runCommands(route, commands));
  }

  /**
   * The server state, saved before a reload for the next worker to load: only servers `config`
   * (the config that worker loads) has at the address, port and check port they are at now —
   * a slot the runtime API pointed at another task would otherwise take its port over.
   */
  private saveServerState(config: string): Promise<void> {
    const next = configuredServers(config);
    return this.viaRuntimeApi((route) => saveServerState(route, stateFileOf(this.configPath), next));
  }

  /**
   * Reloads, retrying a failure up to --max-reload-retries times with backoff; one HAProxy's
   * alerts pin on apps of `result` is not retried (those apps are left out instead).
   */
  private async reloadWithRetries({ category: reason, why }: ReloadReason, result: RenderResult): Promise<void> {
    this.log.info({ reason, change: why }, 'reloading HAProxy');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.saveServerState(result.rendered.config).catch((e) => this.log.debug({ err: errorLine(e) }, 'server state not saved'));
        await this.reloader.reload();
        this.lastReloadAt = Date.now();
        this.awaitingStartupReload = false;
        this.lastGood = result.files;
        clearReloadPending(this.configPath);
        this.metrics.inc('mlb_reloads_total', { reason });
        this.log.info({ reason, change: why, attempt }, 'HAProxy reloaded');
        return;
      } catch (e) {
        this.metrics.inc('mlb_reload_failures_total', { reason });
        this.log.error({ reason, attempt, err: errorLine(e) }, 'reload failed');
        if (attempt >= this.s.maxReloadRetries || this.stopped || this.blamedPorts(e, result.rendered.config, result.model).size > 0) throw e;
        await this.pause(reloadRetryPauseMs(attempt));
        if (this.stopped) throw e;
      }
    }
  }

  private installOptions() {
    return { ...installOptionsOf(this.s, this.configPath), signal: this.stopping.signal };
  }

  /**
   * Installs the rendered set; if HAProxy refuses it, drops the app ports it blames (or finds them
   * by bisection), logs each with HAProxy's reason, and installs the rest.
   */
  private async installValid(doc: AppsDocument, result: RenderResult): Promise<RenderResult> {
    // Marked as not loaded yet until a reload (or start) loads it, or the last good one is put back.
    const opts = { ...this.installOptions(), markPending: true };
    try {
      await installFiles(result.files, opts);
      return result;
    } catch (e) {
      if (!isMlbError(e) || e.code !== 'E_HAPROXY_INVALID') throw e;
      this.metrics.inc('mlb_validation_failures_total');
      const fixed = await this.withoutBrokenPorts(doc, result, e);
      await installFiles(fixed.files, { ...opts, skipValidation: true });
      return fixed;
    }
  }

  private async validate(doc: AppsDocument, dropped?: ReadonlySet<string>, asGiven = false): Promise<{ result: RenderResult; validation: Validation }> {
    const result = await this.render(doc, false, dropped, asGiven);
    const validation = await validateSet(result.files, dirname(this.configPath), this.s.haproxyBin, stateFileOf(this.configPath), this.stopping.signal);
    return { result, validation };
  }

  private async withoutBrokenPorts(doc: AppsDocument, first: RenderResult, error: MlbError): Promise<RenderResult> {
    const none = await this.validate({ apps: plainApps(this.s.groups) }, undefined, true);
    const good = this.loaded?.templates;
    if (this.templates && good && this.templates.set !== good) {
      // The templates changed since the running config was loaded: if the same apps pass
      // with the templates in use, the change is at fault, not the apps (a broken backend
      // template would otherwise get every app dropped).
      const changed = this.templates;
      this.templates = { signature: changed.signature, set: good };
      const retry = await this.validate(doc);
      if (retry.validation.ok || !none.validation.ok) {
        this.log.error({ err: none.validation.ok ? error.message : validationError(none.validation).message }, 'HAProxy rejects the changed templates; keeping the templates in use until they are fixed');
        if (retry.validation.ok) return retry.result;
        return this.withoutBrokenPorts(doc, retry.result, validationError(retry.validation));
      }
      this.templates = changed;
    }
    if (!none.validation.ok) throw refusedWithoutApps(none.validation);
    const dropped: DroppedPort[] = [];
    const narrowed = await dropBrokenPorts(doc.apps, first, error, (ports) => this.validate(doc, ports), (p) => dropped.push(p));
    const kept = await this.withPreviousLabels(doc, dropped);
    const apps = new Map(doc.apps.map((a) => [a.id, a]));
    for (const p of dropped) {
      if (kept?.apps.has(p.appId)) {
        if (this.isNewDrop(p, 'kept')) this.log.error({ code: 'E_HAPROXY_INVALID', app: p.appId, port: p.portIndex, ...(p.label ? { label: p.label } : {}) }, `app ${p.appId} port ${p.portIndex}: its new labels are refused (${p.reason}); the app keeps the labels it runs with until they change`);
        continue;
      }
      // Left out of the next syncs too, so they neither validate nor report it again.
      const app = apps.get(p.appId);
      if (app) this.heldBackNow(app, p.portIndex);
      this.logDroppedPort(p, 'E_HAPROXY_INVALID');
    }
    return kept?.result ?? narrowed;
  }

  /**
   * The apps whose ports HAProxy refuses, when the running config serves them, rendered with the
   * labels they had there (their tasks as they are now): a label change with a mistake in it
   * leaves the app served as before, as marathon-lb keeps its whole last config, instead of
   * taking it out of the load balancer. Undefined when there is no such app, or HAProxy refuses
   * that too (the ports are then dropped).
   */
  private async withPreviousLabels(doc: AppsDocument, dropped: DroppedPort[]): Promise<{ result: RenderResult; apps: Set<string> } | undefined> {
    if (dropped.length === 0) return undefined;
    const before = this.servedLabels();
    if (!before) return undefined;
    const { running, labelsOf } = before;
    const labelsBefore = (id: string) => this.keptLabels.get(id)?.labels ?? labelsOf(id);
    const now = new Map(doc.apps.map((a) => [a.id, a]));
    const previous = new Map<string, Labels>();
    for (const p of dropped) {
      const was = labelsBefore(p.appId);
      if (running.has(portKey(p.appId, p.portIndex)) && was && labelsJson(was) !== labelsJson(now.get(p.appId)?.labels)) previous.set(p.appId, was);
    }
    if (previous.size === 0) return undefined;
    // Over the labels already kept: rendered as given, the other kept apps must keep theirs too.
    const withOld = { apps: this.withKeptLabels(doc).apps.map((a) => (previous.has(a.id) ? { ...a, labels: previous.get(a.id) } : a)) };
    const still = new Set(dropped.filter((p) => !previous.has(p.appId)).map((p) => portKey(p.appId, p.portIndex)));
    const checked = await this.validate(withOld, still, true);
    if (!checked.validation.ok) return undefined;
    for (const [id, labels] of previous) {
      this.keptLabels.set(id, { labels, refused: labelsJson(now.get(id)?.labels) });
      this.keptNow.add(id);
    }
    return { result: checked.result, apps: new Set(previous.keys()) };
  }

  /**
   * The app ports the running config serves and the labels it serves each app with: from the
   * config applied in this run, else (at the start) from served-labels.json.
   */
  private servedLabels(): { running: Set<string>; labelsOf: (id: string) => Labels | undefined } | undefined {
    const applied = this.applied;
    const input = this.appliedInput;
    if (applied && input) {
      const appliedDoc = parseAppsDocument(input.bytes, input.source, { slim: true });
      return { running: new Set(portKeysOf(applied.model)), labelsOf: (id) => appliedDoc.apps.find((a) => a.id === id)?.labels };
    }
    if (applied || this.servedBefore.size === 0) return undefined;
    const served = this.servedBefore;
    return { running: new Set([...served].flatMap(([id, app]) => app.ports.map((p) => portKey(id, p)))), labelsOf: (id) => served.get(id)?.labels };
  }

  /** Whether `p` (for `code`) is news: not said before with the same reason while it lasted (saidDrops). */
  private isNewDrop(p: DroppedPort, code: string): boolean {
    const port = portKey(p.appId, p.portIndex);
    const key = `${port}\u0000${code}`;
    // The line HAProxy cites moves with the apps around it: not news.
    const reason = p.reason.replace(/\[([^\]:]+):\d+\]/g, '[$1]');
    if (this.saidDrops.get(key)?.reason === reason) return false;
    this.saidDrops.set(key, { appId: p.appId, port, reason });
    this.dropsSaid++;
    return true;
  }

  private logDroppedPort(p: DroppedPort, code: string): void {
    if (!this.isNewDrop(p, code)) return;
    this.metrics.inc('mlb_apps_dropped_total');
    this.log.error({ code, app: p.appId, port: p.portIndex, ...(p.label ? { label: p.label } : {}) }, `app ${p.appId} port ${p.portIndex} dropped: ${p.reason}`);
  }
}

/** The wait before restart attempt `attempt + 1` of an HAProxy that exited: 1 s doubling, at most 30 s. */
export function restartRetryMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
}

/** Most time between two attempts of a failing sync: see syncRetryMs. */
export const MAX_SYNC_RETRY_MS = 10_000;

/**
 * The wait before the next attempt of a sync that failed `failures` times in a row: the
 * reconnect backoff's steps, but at most MAX_SYNC_RETRY_MS (and --max-backoff). Event-triggered
 * syncs fail too while Marathon is down, and with the event stream's cap (300 s) a Marathon back
 * after a few seconds of errors left the config stale for half a minute; one GET every 10 s is
 * no load for a Marathon that is down.
 */
export function syncRetryMs(failures: number, maxBackoffMs: number, random: () => number = Math.random): number {
  return backoffMs(failures, 500, Math.min(maxBackoffMs, MAX_SYNC_RETRY_MS), random);
}
