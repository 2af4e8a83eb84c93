import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MlbError } from '../errors.js';
import { fetchApps, type MarathonSource } from '../marathon/client.js';
import type { HttpAuth } from '../marathon/http.js';
import type { AppsDocument, MarathonApp } from '../marathon/types.js';
import { buildModel, type ModelOptions } from '../model/build.js';
import { networkingMode } from '../model/networking.js';
import type { LbModel, Warning } from '../model/types.js';
import { type Rendered, renderConfig } from '../render/haproxy-config.js';
import type { TemplateSet } from '../render/templates.js';
import { modelOptionsOf, renderOptionsOf, type Settings } from '../settings.js';

export interface OutputFile {
  /** File name inside the config directory. */
  name: string;
  content: string;
}

export interface RenderResult {
  /** Milliseconds spent building the model and rendering it. */
  timings: { modelMs: number; renderMs: number };
  files: OutputFile[];
  model: LbModel;
  rendered: Rendered;
  warnings: Warning[];
}

function readSecret(path: string, what: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new MlbError('E_USAGE', `cannot read ${what} ${path}`, { cause: e });
  }
  if (secret === '') throw new MlbError('E_USAGE', `${what} ${path} is empty`);
  return secret;
}

/** marathon-lb's credential file: one `user:password` line. */
function readBasicCredentials(path: string): string {
  const basic = readSecret(path, '--marathon-auth-credential-file');
  if (!basic.includes(':') || basic.includes('\n')) throw new MlbError('E_USAGE', `--marathon-auth-credential-file ${path} must hold one line, user:password`);
  return basic;
}

/**
 * Where and how to fetch apps. Basic auth comes from --marathon-auth-credential-file, else from
 * --auth-credentials (marathon-lb's order); a --dcos-token-file token is sent instead when given.
 * Both files are read now (a bad one is a usage error) and again at each request: a DC/OS token
 * expires and is rotated under a running daemon.
 */
export function marathonSourceOf(s: Pick<Settings, 'marathon' | 'authCredentialFile' | 'authCredentials' | 'dcosTokenFile' | 'caCert'>): MarathonSource {
  const auth: HttpAuth = {};
  const credentialFile = s.authCredentialFile;
  if (credentialFile) rereadEachTime(auth, 'basic', () => readBasicCredentials(credentialFile));
  else if (s.authCredentials) auth.basic = s.authCredentials;
  const tokenFile = s.dcosTokenFile;
  if (tokenFile) rereadEachTime(auth, 'token', () => readSecret(tokenFile, '--dcos-token-file'));
  return {
    urls: s.marathon,
    auth,
    ...(s.caCert ? { ca: readSecret(s.caCert, '--marathon-ca-cert') } : {}),
  };
}

/** `auth[key]` read from its file now, and again whenever it is asked for. */
function rereadEachTime(auth: HttpAuth, key: keyof HttpAuth, read: () => string): void {
  read();
  Object.defineProperty(auth, key, { enumerable: true, get: read });
}

/** The apps, slimmed to what mlb-ts reads (see slimApp). */
export function loadApps(s: Settings): Promise<AppsDocument> {
  return fetchApps(marathonSourceOf(s), { slim: true });
}

/** Agent host names the model will need resolved (host and bridge networking). */
export function agentHosts(apps: readonly MarathonApp[]): Set<string> {
  const hosts = new Set<string>();
  for (const app of apps) {
    if (networkingMode(app) === 'container') continue;
    for (const t of app.tasks ?? []) if (t.host) hosts.add(t.host);
  }
  return hosts;
}

/** What renderAll passes to the model beside the settings (see ModelOptions). */
export type RenderExtras = Pick<ModelOptions, 'previousServicePorts' | 'droppedPorts'>;

/**
 * Apps → model → haproxy.cfg (+ maps), for a config that lives at `configPath`.
 * `extras`: IP-per-task service ports to keep, ports to leave out.
 */
export function renderAll(doc: AppsDocument, s: Settings, templates: TemplateSet, configPath: string, resolveHost?: (h: string) => string | undefined, extras: RenderExtras = {}): RenderResult {
  const t0 = performance.now();
  const { model, warnings } = buildModel(doc.apps, { ...modelOptionsOf(s, resolveHost), ...extras });
  const t1 = performance.now();
  const rendered = renderConfig(model, templates, renderOptionsOf(s, configPath));
  const timings = { modelMs: t1 - t0, renderMs: performance.now() - t1 };
  const files: OutputFile[] = [{ name: basename(configPath), content: rendered.config }];
  if (s.haproxyMap) {
    files.push({ name: 'domain2backend.map', content: rendered.domainMap }, { name: 'app2backend.map', content: rendered.appMap });
  }
  return { timings, files, model, rendered, warnings: [...warnings, ...rendered.warnings] };
}
