import { readFileSync } from 'node:fs';
import { MlbError } from '../errors.js';
import { lookup } from 'node:dns/promises';
import { authCredentialsFlag, lastOf, numberFlag, str } from './options.js';
import { marathonSourceOf } from '../daemon/render-set.js';
import { asAppsDocument } from '../marathon/schema.js';
import { DEFAULTS } from '../settings.js';
import type { LbSource } from '../zdd/lb.js';
import { type AppDefinition, checkStep, type InterruptedChoice } from '../zdd/plan.js';
import { runZdd } from '../zdd/run.js';

export { ZDD_IGNORED_WHY, ZDD_OPTIONS } from './zdd-options.js';

/** Port of an http(s) URL, explicit or the scheme's. */
function hostPortOf(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

/**
 * --marathon-lb URL → stats URLs: `URL/haproxy?stats;csv` for every address of its host, as
 * zdd.py watches each marathon-lb behind the name. An unresolvable name is E_USAGE, except in a
 * dry run (which only reports how many load balancers it would watch): the one URL then.
 */
export async function marathonLbStatsUrls(raw: string, dryRun: boolean): Promise<string[]> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new MlbError('E_USAGE', `--marathon-lb must be an http(s) URL such as http://marathon-lb:9090 (got ${JSON.stringify(raw)})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MlbError('E_USAGE', `--marathon-lb must be an http(s) URL such as http://marathon-lb:9090 (got ${JSON.stringify(raw)})`);
  const base = u.pathname.replace(/\/+$/, '');
  const statsUrl = (host: string) => `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${host}:${hostPortOf(u)}${base}/haproxy?stats;csv`;
  const name = u.hostname.replace(/^\[(.*)\]$/, '$1');
  let addrs: string[];
  try {
    addrs = [...new Set((await lookup(name, { all: true, family: name.includes(':') ? 6 : 4 })).map((a) => a.address))];
  } catch (e) {
    if (dryRun) return [statsUrl(u.hostname)];
    throw new MlbError('E_USAGE', `--marathon-lb: cannot resolve ${name}`, { cause: e });
  }
  return addrs.map((a) => statsUrl(a.includes(':') ? `[${a}]` : a));
}

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
  const dryRun = argv['dry-run'] === true;
  const marathonLb: string[] = [];
  for (const raw of strings(argv, 'marathon-lb')) marathonLb.push(...(await marathonLbStatsUrls(raw, dryRun)));
  const lbs: LbSource[] = [
    ...strings(argv, 'haproxy-socket').map((path): LbSource => ({ kind: 'socket', path })),
    ...strings(argv, 'haproxy-master-socket').map((path): LbSource => ({ kind: 'master', path })),
    ...[...new Set([...strings(argv, 'lb-stats-url'), ...marathonLb])].map((url): LbSource => ({ kind: 'url', url })),
  ];
  const stepGiven = lastOf(argv.step);
  const hook = str(argv, 'pre-kill-hook');
  const drain = argv['drain-timeout'] === undefined ? undefined : numberFlag(argv, 'drain-timeout', 0);
  // zdd.py's default, 0, means none given.
  const newInstances = lastOf(argv['new-instances']) === 0 ? undefined : count(argv, 'new-instances', 1);
  const targetInstances = count(argv, 'target', 1);
  const choice = choiceOf(argv);
  const opts = {
    lbs,
    dryRun,
    initialInstances: count(argv, 'initial-instances', 1) ?? 1,
    ...(stepGiven !== undefined ? { step: checkStep(Number(stepGiven)) } : {}),
    ...(hook !== undefined ? { preKillHook: hook } : {}),
    stepDelayMs: numberFlag(argv, 'step-delay', 0) * 1000,
    maxWaitMs: numberFlag(argv, 'max-wait', 0) * 1000,
    pollMs: numberFlag(argv, 'poll-interval', 0.05) * 1000,
    ...(drain !== undefined ? { drainTimeoutMs: drain * 1000 } : {}),
    ...(targetInstances !== undefined ? { targetInstances } : {}),
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
