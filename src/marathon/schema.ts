import { MlbError } from '../errors.js';
import { validate, validateApp, type ValidateFunction } from '../../generated/apps-validator.js';
import { appSpans } from './app-spans.js';
import type { AppsDocument, MarathonApp, Task } from './types.js';

export { appsDocumentSchema } from './apps-schema.js';

/**
 * Only what mlb-ts relies on is constrained; everything else Marathon sends passes through,
 * so a newer Marathon with extra fields is still accepted. The validators are generated from
 * the schema ahead of time (scripts/gen-validator.mjs), so no schema compiles at start.
 */

function notMarathon(source: string, where: string): MlbError {
  return new MlbError('E_INPUT_NOT_MARATHON', `${source} is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): ${where}`);
}

function firstError(v: ValidateFunction, prefix: string): string {
  const err = v.errors?.[0];
  return err ? `${prefix}${err.instancePath || (prefix ? '' : '/')} ${err.message ?? ''}`.trim() : 'unknown';
}

/** The document as Marathon apps, or E_INPUT_NOT_MARATHON naming the first offending path. */
export function asAppsDocument(doc: unknown, source: string): AppsDocument {
  if (!validate(doc)) throw notMarathon(source, firstError(validate, ''));
  const empty = (doc as AppsDocument).apps.findIndex((a) => a.id === '');
  if (empty >= 0) throw notMarathon(source, `/apps/${empty}/id is empty`);
  return doc as AppsDocument;
}

/**
 * The app with only what mlb-ts reads (the fields of types.ts): env, command, constraints,
 * versionInfo… are dropped. Written out field by field, so every slim app and task has one
 * shape.
 */
export function slimApp(app: MarathonApp): MarathonApp {
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
 * Parses and validates an apps document app by app, keeping only what mlb-ts reads of each
 * (slimApp): the text and parsed objects of one app are garbage before the next is parsed,
 * so neither the whole text nor the whole parsed document ever lives in memory at once. undefined when the text isn't laid out as
 * Marathon lays it out or does not parse: parse it whole, for the exact error.
 */
export function slimAppsDocument(bytes: Buffer, source: string): AppsDocument | undefined {
  const spans = appSpans(bytes);
  if (!spans) return undefined;
  const apps: MarathonApp[] = new Array(spans.length / 2);
  for (let k = 0; k < spans.length; k += 2) {
    let app: unknown;
    try {
      app = JSON.parse(bytes.toString('utf8', spans[k], spans[k + 1]));
    } catch {
      return undefined;
    }
    const index = k / 2;
    if (!validateApp(app)) throw notMarathon(source, firstError(validateApp, `/apps/${index}`));
    if ((app as MarathonApp).id === '') throw notMarathon(source, `/apps/${index}/id is empty`);
    apps[index] = slimApp(app as MarathonApp);
  }
  return { apps };
}
