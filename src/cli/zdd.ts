import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { MlbError } from '../errors.js';
import { authCredentialsFlag, lastOf, MARATHON_AUTH_OPTIONS, numberFlag, str } from './options.js';
import { marathonSourceOf } from '../daemon/render-set.js';
import { asAppsDocument } from '../marathon/schema.js';
import { DEFAULTS } from '../settings.js';
import type { LbSource } from '../zdd/lb.js';
import { type AppDefinition, checkStep, type InterruptedChoice } from '../zdd/plan.js';
import { runZdd } from '../zdd/run.js';

/** Flags of `mlb-ts zdd` (marathon-lb's zdd.py names where it had them). */
export const ZDD_OPTIONS = {
  marathon: { alias: 'm', type: 'string', array: true, default: [...DEFAULTS.marathon], describe: 'Marathon base URL(s), tried in order (a file of /v2/apps?embed=apps.tasks works with --dry-run)' },
  json: { type: 'string', demandOption: true, describe: 'the app definition to deploy, with HAPROXY_DEPLOYMENT_GROUP and HAPROXY_DEPLOYMENT_ALT_PORT labels' },
  'haproxy-socket': { type: 'string', array: true, describe: "admin socket of a load balancer whose sessions are watched (`show stat`); repeatable" },
  'haproxy-master-socket': { type: 'string', array: true, describe: 'master CLI of a load balancer: sessions are watched on every worker, old ones still finishing included (servers are drained on the current one); repeatable' },
  'lb-stats-url': { type: 'string', array: true, describe: "a load balancer's stats as CSV, e.g. 'http://lb:9090/haproxy?stats;csv'; repeatable" },
  'dry-run': { alias: 'd', type: 'boolean', default: false, describe: 'print the plan (what would be created, scaled, killed, deleted) and change nothing' },
  'max-wait': { type: 'number', default: 300, describe: 'seconds the whole deploy may take; then exit 1 (the deploy can be resumed or completed)' },
  'step-delay': { type: 'number', default: 5, describe: 'seconds between two steps of the traffic shift' },
  step: { type: 'number', default: 1, describe: 'instances added per step, or a fraction (below 1) of the target' },
  'initial-instances': { type: 'number', default: 1, describe: 'instances the new app starts with' },
  'new-instances': { alias: 'target', type: 'number', describe: "target instances of the new app (default: the live app's)" },
  'drain-timeout': { type: 'number', describe: "seconds to wait for a task's sessions to end before killing it anyway (default: until --max-wait)" },
  'poll-interval': { type: 'number', default: 1, describe: 'seconds between two looks at Marathon' },
  resume: { type: 'boolean', default: false, describe: 'continue an interrupted deploy (two apps in the group)' },
  'complete-cur': { type: 'boolean', default: false, describe: 'finish an interrupted deploy now, keeping the newer app' },
  'complete-prev': { type: 'boolean', default: false, describe: 'roll an interrupted deploy back to the older app' },
  ...MARATHON_AUTH_OPTIONS,
} as const satisfies Record<string, Options>;

type Argv = Record<string, unknown>;

function count(argv: Argv, key: string, min: number): number | undefined {
  const v = lastOf(argv[key]);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new MlbError('E_USAGE', `--${key} must be a whole number ≥ ${min}`);
  return v;
}

function strings(argv: Argv, key: string): string[] {
  return ((argv[key] as string[] | undefined) ?? []).filter((s) => s !== '');
}

function choiceOf(argv: Argv): InterruptedChoice | undefined {
  const chosen = (['resume', 'complete-cur', 'complete-prev'] as const).filter((k) => argv[k] === true);
  if (chosen.length > 1) throw new MlbError('E_USAGE', `--${chosen.join(' and --')} exclude each other`);
  return chosen[0];
}

/** The --json file as one app definition. */
function definitionFrom(path: string): AppDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MlbError('E_INPUT_UNREADABLE', `cannot read ${path}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MlbError('E_INPUT_NOT_JSON', `${path} is not JSON`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MlbError('E_INPUT_NOT_MARATHON', `${path} is not one Marathon app definition`);
  const [def] = asAppsDocument({ apps: [json] }, path).apps;
  return def as AppDefinition;
}

/** `mlb-ts zdd …`: 0 done (or planned), errors thrown (the CLI maps them to 1, or 2 for usage). */
export async function zddCommand(argv: Argv): Promise<number> {
  const lbs: LbSource[] = [
    ...strings(argv, 'haproxy-socket').map((path): LbSource => ({ kind: 'socket', path })),
    ...strings(argv, 'haproxy-master-socket').map((path): LbSource => ({ kind: 'master', path })),
    ...strings(argv, 'lb-stats-url').map((url): LbSource => ({ kind: 'url', url })),
  ];
  const drain = argv['drain-timeout'] === undefined ? undefined : numberFlag(argv, 'drain-timeout', 0);
  const newInstances = count(argv, 'new-instances', 1);
  const choice = choiceOf(argv);
  const opts = {
    lbs,
    dryRun: argv['dry-run'] === true,
    initialInstances: count(argv, 'initial-instances', 1) ?? 1,
    step: checkStep(Number(lastOf(argv.step))),
    stepDelayMs: numberFlag(argv, 'step-delay', 0) * 1000,
    maxWaitMs: numberFlag(argv, 'max-wait', 0) * 1000,
    pollMs: numberFlag(argv, 'poll-interval', 0.05) * 1000,
    ...(drain !== undefined ? { drainTimeoutMs: drain * 1000 } : {}),
    ...(newInstances !== undefined ? { newInstances } : {}),
    ...(choice ? { choice } : {}),
  };
  const source = marathonSourceOf({
    marathon: strings(argv, 'marathon').length ? strings(argv, 'marathon') : [...DEFAULTS.marathon],
    authCredentialFile: str(argv, 'marathon-auth-credential-file'),
    authCredentials: authCredentialsFlag(argv),
    dcosTokenFile: str(argv, 'dcos-token-file'),
    caCert: str(argv, 'marathon-ca-cert'),
  });
  const def = definitionFrom(String(lastOf(argv.json)));
  // The first SIGINT/SIGTERM stops at the next step (undoing a drain whose kill did not
  // happen); a second one ends the process the default way.
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`mlb-ts zdd: ${sig}: stopping at the next step\n`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runZdd(
      { ...opts, source, def, signal: abort.signal },
      {
        progress: (line) => process.stderr.write(`mlb-ts zdd: ${line}\n`),
        result: (text) => process.stdout.write(text),
      },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
