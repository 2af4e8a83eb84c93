import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadApps, agentHosts, renderAll, type RenderResult } from '../daemon/render-set.js';
import type { TemplateSet } from '../render/templates.js';
import type { AppsDocument } from '../marathon/types.js';
import { HostResolver } from '../io/dns.js';
import { makeDirs, writeFilesAtomically } from '../io/files.js';
import { readServicePorts, servicePortsPathOf, writeServicePorts } from '../io/service-ports-file.js';
import { assignedServicePorts } from '../model/service-ports.js';
import { errorLine, MlbError } from '../errors.js';
import { loadTemplateSet } from '../io/templates.js';
import { warningLine } from '../model/types.js';
import { type Settings, stateFileOf } from '../settings.js';
import { EMPTY_SERVER_STATE } from '../haproxy/server-state.js';
import { vipOutputs } from './vips.js';
import { say, sayLog, setSayLevel } from '../io/say.js';
import { withPlaceholderCert } from '../io/self-signed.js';
import { keepYoungGenerationSmall } from '../io/heap.js';

function printWarnings(result: RenderResult): void {
  for (const w of result.warnings) say('warn', `warning: ${warningLine(w)}`);
}

/**
 * The :443 frontend loads every --ssl-certs file: one that does not exist here makes HAProxy
 * refuse the config (`haproxy -c`, a reload). Rendered anyway, as the config may be meant for
 * another machine, but said.
 */
function missingCertWarnings(s: Settings): string[] {
  if (s.dontBindHttpHttps) return [];
  return s.sslCerts.filter((c) => !existsSync(c)).map((c) => `--ssl-certs ${c} does not exist here; HAProxy refuses a config whose certificate it cannot read (pass --ssl-certs with a PEM file, e.g. examples/certs/demo.pem)`);
}

/** The same for HAPROXY_{n}_SSL_CERT files (HAProxy loads them on the service's frontend and on :443). */
function missingServiceCerts(result: RenderResult): string[] {
  return result.model.services
    .filter((sv) => sv.sslCert !== undefined && !existsSync(sv.sslCert))
    .map((sv) => warningLine({ code: 'W_CERT_MISSING', appId: sv.sourceAppIds[0] ?? sv.appId, label: `HAPROXY_${sv.portIndex}_SSL_CERT`, message: `${sv.sslCert} does not exist here; HAProxy refuses a config whose certificate it cannot read` }));
}

/** What renderFromSettings used, for outputs rendered beside the config (VIPs). */
export interface RenderInputs {
  doc: AppsDocument;
  templates: TemplateSet;
  resolveHost: (host: string) => string | undefined;
  fetchMs: number;
}

/** Templates, the apps, their agents' addresses: what a render reads. Throws on whole-input errors. */
async function loadInputs(s: Settings): Promise<RenderInputs> {
  keepYoungGenerationSmall();
  setSayLevel(s.logLevel);
  const templates = loadTemplateSet(s.templatesDir);
  const t0 = performance.now();
  const doc = await loadApps(s);
  const resolveHost = await new HostResolver().resolveAll(agentHosts(doc.apps));
  return { doc, templates, resolveHost, fetchMs: performance.now() - t0 };
}

/** The render of `inputs`, its warnings said. `previousServicePorts`: IP-per-task service ports to keep (see ModelOptions). */
function renderInputs(s: Settings, inputs: RenderInputs, configPath: string, previousServicePorts?: ReadonlyMap<string, number>): RenderResult & RenderInputs {
  const result = renderAll(inputs.doc, s, inputs.templates, configPath, inputs.resolveHost, previousServicePorts ? { previousServicePorts } : {});
  printWarnings(result);
  for (const line of [...missingCertWarnings(s), ...missingServiceCerts(result)]) say('warn', `warning: ${line}`);
  return { ...result, ...inputs };
}

/** Fetch, resolve agent hosts, render: everything but writing. Throws on whole-input errors. */
export async function renderFromSettings(s: Settings, configPath: string): Promise<RenderResult & RenderInputs> {
  return renderInputs(s, await loadInputs(s), configPath);
}

export async function dryRunCommand(s: Settings): Promise<number> {
  // Absolute, as one-shot and the daemon install it: the dry run prints the config they would.
  const result = await renderFromSettings(s, resolve(s.haproxyConfig));
  process.stdout.write(result.rendered.config);
  return 0;
}

/** Every file `render --out` may write but the config (CLI.md's outputs), and the state file beside it. */
const OPTIONAL_OUTPUTS = ['domain2backend.map', 'app2backend.map', 'ipvs.rules', 'vips.hosts', 'vips.json'];

/**
 * An earlier render's outputs this one has not: without --haproxy-map the maps are absent (CLI.md),
 * not left over from a run with it; the same for --ipvs's files.
 */
function removeOutputsNotRendered(out: string, written: Set<string>): void {
  for (const name of OPTIONAL_OUTPUTS) {
    const path = join(out, name);
    if (written.has(path)) continue;
    try {
      rmSync(path, { force: true });
    } catch (e) {
      throw new MlbError('E_INSTALL', `cannot remove ${path}, an output of an earlier render`, { cause: e });
    }
  }
}

/** `render --out DIR`: every output into DIR (the config's map references point there). */
export async function renderCommand(s: Settings, outArg: string): Promise<number> {
  // Absolute, so the config's map and state-file references hold wherever HAProxy runs from.
  const out = resolve(outArg);
  const result = await renderFromSettings(s, join(out, 'haproxy.cfg'));
  const vips = s.ipvs ? vipOutputs(result.doc, result.resolveHost) : undefined;
  if (vips) {
    const printed = new Set(result.warnings.map(warningLine));
    for (const w of vips.warnings) if (!printed.has(warningLine(w))) say('warn', `warning: ${warningLine(w)}`);
  }
  const files = [...result.files, ...(vips?.files ?? [])].map((f) => ({ path: join(out, f.name), content: f.content }));
  const t0 = performance.now();
  try {
    makeDirs(out);
  } catch (e) {
    throw new MlbError('E_INSTALL', `cannot create --out ${out}`, { cause: e });
  }
  writeFilesAtomically(files);
  removeOutputsNotRendered(out, new Set(files.map((f) => f.path)));
  // The config names a server-state file beside it; an empty one lets `haproxy -c` pass without a warning.
  const stateFile = stateFileOf(join(out, 'haproxy.cfg'));
  if (!existsSync(stateFile)) writeFileSync(stateFile, EMPTY_SERVER_STATE);
  const vipCount = vips ? `, ${vips.model.vips.length} VIPs` : '';
  const ms = (n: number) => Math.round(n);
  const time = `${ms(performance.now())} ms since start: fetch ${ms(result.fetchMs)}, model ${ms(result.timings.modelMs)}, render ${ms(result.timings.renderMs)}, write ${ms(performance.now() - t0)}`;
  say('info', `mlb-ts: wrote ${files.map((f) => f.path).join(', ')} (${result.model.services.length} services, ${result.model.services.reduce((n, sv) => n + sv.servers.length, 0)} servers${vipCount}; ${time})`);
  return 0;
}

/**
 * One-shot: like the daemon, IP-per-task apps keep the service ports of the last run
 * (service-ports.json beside the config), and the installed config's are saved there.
 * `render` and `--dry-run` neither read nor write it: they assign afresh.
 */
export async function oneShotCommand(given: Settings): Promise<number> {
  setSayLevel(given.logLevel);
  const { applyOnce } = await import('../daemon/apply.js');
  const configPath = resolve(given.haproxyConfig);
  // The input first: a whole-input error leaves every file as it was, the placeholder certificate included.
  const inputs = await loadInputs(given);
  const s = await withPlaceholderCert(given, configPath);
  const portsFile = servicePortsPathOf(configPath);
  const previous = readServicePorts(portsFile);
  if (previous.error) say('warn', `warning: ${portsFile} unreadable (${previous.error}); IP-per-task service ports are assigned afresh`);
  const result = renderInputs(s, inputs, configPath, previous.ports);
  // Returns (0 or 1) only once the files are installed: their ports are the ones to keep.
  const { code, installed } = await applyOnce(s, result, { apps: result.doc.apps, groups: s.groups, render: (apps, droppedPorts) => renderAll({ apps }, s, result.templates, configPath, result.resolveHost, { previousServicePorts: previous.ports, ...(droppedPorts ? { droppedPorts } : {}) }) });
  try {
    writeServicePorts(portsFile, assignedServicePorts(installed.model.services));
  } catch (e) {
    say('warn', `warning: cannot save the IP-per-task service ports to ${portsFile}: ${errorLine(e)}`);
  }
  const vipsOk = s.ipvs ? await syncVipsOnce(s, configPath, result) : true;
  return code === 0 && !vipsOk ? 1 : code;
}

/**
 * One-shot --ipvs: the daemon's IPVS outputs beside the config (ipvs.rules, vips.hosts,
 * vips.json) and, with --ipvs-apply-command, the delta from the last applied set piped to it.
 * Whether the table holds the VIPs now.
 */
async function syncVipsOnce(s: Settings, configPath: string, result: RenderInputs): Promise<boolean> {
  const [{ IpvsSync }, { daemonMetrics }] = await Promise.all([import('../daemon/vips.js'), import('../daemon/metrics.js')]);
  const sync = new IpvsSync(dirname(configPath), s.ipvsApplyCommand, sayLog, daemonMetrics());
  try {
    return await sync.sync(result.doc, result.resolveHost);
  } catch (e) {
    say('error', `mlb-ts: ${errorLine(e)}`);
    return false;
  }
}
