import { MlbError } from '../errors.js';
import { validate, validateApp, type ValidateFunction } from '../../generated/apps-validator.js';
import { appChunks, appSpans } from './app-spans.js';
import type { AppsDocument, MarathonApp, Task } from './types.js';

// The validators are generated from apps-schema.ts ahead of time (scripts/gen-validator.mjs).

function notMarathon(source: string, where: string): MlbError {
  return new MlbError('E_INPUT_NOT_MARATHON', `${source} is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): ${where}`);
}

function firstError(v: ValidateFunction): string {
  const err = v.errors?.[0];
  return err ? `${err.instancePath || '/'} ${err.message ?? ''}`.trim() : 'unknown';
}

/** The document as Marathon apps, or E_INPUT_NOT_MARATHON naming the first offending path. */
export function asAppsDocument(doc: unknown, source: string): AppsDocument {
  if (!validate(doc)) throw notMarathon(source, firstError(validate));
  const empty = (doc as AppsDocument).apps.findIndex((a) => a.id === '');
  if (empty >= 0) throw notMarathon(source, `/apps/${empty}/id is empty`);
  return doc as AppsDocument;
}

/**
 * The app with only what mlb-ts reads (the fields of types.ts): env, command, constraints,
 * versionInfo… are dropped. Written out field by field, so every slim app and task has one
 * shape.
 */
function slimApp(app: MarathonApp): MarathonApp {
  return {
    id: app.id,
    labels: app.labels,
    instances: app.instances,
    version: app.version,
    ports: app.ports,
    portDefinitions: app.portDefinitions,
    networks: app.networks,
    container: app.container,
    ipAddress: app.ipAddress,
    healthChecks: app.healthChecks,
    readinessChecks: app.readinessChecks,
    deployments: app.deployments,
    taskKillGracePeriodSeconds: app.taskKillGracePeriodSeconds,
    tasks: app.tasks?.map(slimTask),
  };
}

function slimTask(t: Task): Task {
  return { id: t.id, appId: t.appId, host: t.host, ports: t.ports, ipAddresses: t.ipAddresses, state: t.state, healthCheckResults: t.healthCheckResults, startedAt: t.startedAt };
}

/**
 * Parses and validates an apps document a few hundred kilobytes at a time, keeping only what
 * mlb-ts reads of each app (slimApp): the text and parsed objects of one stretch are garbage
 * before the next is parsed, so neither the whole text nor the whole parsed document ever
 * lives in memory at once. undefined when the text isn't laid out as Marathon lays it out,
 * does not parse or holds an app that isn't valid: the caller parses the whole text, which
 * gives the exact error.
 */
export function slimAppsDocument(bytes: Buffer): AppsDocument | undefined {
  const chunks = appChunks(bytes);
  const fromChunks = chunks ? slimAppsOf(bytes, chunks) : 'unparsable';
  if (fromChunks !== 'unparsable') return fromChunks === 'invalid' ? undefined : fromChunks;
  // A guessed boundary was wrong (or the text is broken): split exactly, app by app.
  const spans = appSpans(bytes);
  const fromSpans = spans ? slimAppsOf(bytes, spans) : 'unparsable';
  return typeof fromSpans === 'string' ? undefined : fromSpans;
}

/** The apps of each range (a comma-separated list of apps), checked and slimmed, or why not. */
function slimAppsOf(bytes: Buffer, ranges: number[]): AppsDocument | 'unparsable' | 'invalid' {
  const apps: MarathonApp[] = [];
  for (let k = 0; k < ranges.length; k += 2) {
    let list: unknown[];
    try {
      list = JSON.parse(`[${bytes.toString('utf8', ranges[k], ranges[k + 1])}]`) as unknown[];
    } catch {
      return 'unparsable';
    }
    for (let i = 0; i < list.length; i++) {
      const app = list[i];
      if (!validateApp(app) || (app as MarathonApp).id === '') return 'invalid';
      apps.push(slimApp(app as MarathonApp));
    }
  }
  return { apps };
}
