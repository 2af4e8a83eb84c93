import type { Options } from 'yargs';
import { MlbError } from '../errors.js';
import { DEFAULTS, type Settings } from '../settings.js';

/** How to reach Marathon: shared by every command that talks to it. */
export const MARATHON_AUTH_OPTIONS = {
  'marathon-auth-credential-file': { type: 'string', describe: 'file holding user:password for Basic auth, read again at each request' },
  'auth-credentials': { type: 'string', describe: 'user:password for Basic auth (shows in ps: prefer --marathon-auth-credential-file, which wins when both are given)' },
  'dcos-token-file': { type: 'string', describe: 'file holding a DC/OS token (Authorization: token=...), read again at each request (a rotated token is picked up)' },
  'marathon-ca-cert': { type: 'string', describe: 'CA bundle for an https Marathon' },
} as const satisfies Record<string, Options>;

/** marathon-lb's flags and mlb-ts's own, shared by every command that renders. */
export const RENDER_OPTIONS = {
  marathon: { alias: 'm', type: 'string', array: true, describe: 'Marathon base URL(s), tried in order; or a file with a /v2/apps?embed=apps.tasks body', default: [...DEFAULTS.marathon] },
  // One value per --group, as marathon-lb's `append`: a word after it is an argument, not a group.
  group: { type: 'string', describe: "one value per --group, repeatable (or comma-separated): only apps whose HAPROXY_GROUP (or HAPROXY_{n}_GROUP) matches; '*' = all (required)" },
  'health-check': { alias: 'H', type: 'boolean', default: false, describe: 'only tasks whose Marathon health checks all report alive' },
  'strict-mode': { type: 'boolean', default: false, describe: 'service ports are off unless HAPROXY_{n}_ENABLED=true' },
  'haproxy-map': { type: 'boolean', default: false, describe: 'route vhosts and app ids through domain2backend.map / app2backend.map' },
  'haproxy-config': { type: 'string', default: DEFAULTS.haproxyConfig, describe: 'where the config lives; the map files sit beside it' },
  'ssl-certs': { type: 'string', default: DEFAULTS.sslCerts.join(','), describe: 'certificates for the :443 frontend, comma-separated' },
  templates: { type: 'string', describe: 'template overrides: NAME.hbs (Handlebars) or NAME (marathon-lb format); default ./templates if present' },
  'disable-label-templates': { type: 'boolean', default: false, describe: 'ignore per-app HAPROXY_{n}_<TEMPLATE> labels' },
  'dont-bind-http-https': { type: 'boolean', default: false, describe: 'no :80 / :443 frontends' },
  'group-https-by-vhost': { type: 'boolean', default: false, describe: "marathon-lb's SNI-grouped https frontend" },
  'min-serv-port-ip-per-task': { type: 'number', default: DEFAULTS.minServPortIpPerTask, describe: 'lowest service port given to IP-per-task apps that declare none; 0 with a max of 0: none given (such ports are not served unless HAPROXY_{n}_PORT sets one)' },
  'max-serv-port-ip-per-task': { type: 'number', default: DEFAULTS.maxServPortIpPerTask, describe: 'highest such port; 0 with a min of 0: none given' },
  ...MARATHON_AUTH_OPTIONS,
  'haproxy-socket': { type: 'string', default: DEFAULTS.haproxySocket, describe: 'admin (runtime API) socket the rendered config declares' },
  listen: { type: 'string', default: DEFAULTS.listen, describe: "mlb-ts's own HTTP endpoints (health, metrics, config, signals); '' = off" },
  ipvs: { type: 'boolean', default: false, describe: 'also render VIP_n labels into IPVS outputs' },
  'http-port': { type: 'number', default: DEFAULTS.ports.http, describe: 'port of the vhost frontend' },
  'https-port': { type: 'number', default: DEFAULTS.ports.https, describe: 'port of the TLS vhost frontend' },
  'appid-port': { type: 'number', default: DEFAULTS.ports.appId, describe: 'port of the X-Marathon-App-Id frontend' },
  'stats-port': { type: 'number', default: DEFAULTS.ports.stats, describe: 'port of the stats listener' },
  'hard-stop-after': { type: 'string', default: DEFAULTS.hardStopAfter, describe: 'how long an old HAProxy worker may finish its connections after a reload' },
  'spare-slots': { type: 'number', default: DEFAULTS.spareSlots, describe: 'disabled server slots per backend that runtime updates fill without a reload' },
  'log-level': { type: 'string', default: DEFAULTS.logLevel, describe: "debug, info, warn, error; marathon-lb's DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET too (any case: WARNING = warn, CRITICAL = error, NOTSET = debug); the daemon's JSON log, and the stderr lines of one-shot mode, render, --dry-run and vips (warn hides the info lines, error the warnings)" },
} as const satisfies Record<string, Options>;

/** Flags of the long-running and one-shot modes. */
export const RUN_OPTIONS = {
  'dry-run': { alias: ['d', 'dry'], type: 'boolean', default: false, describe: 'render and print haproxy.cfg to stdout; write nothing, reload nothing' },
  sse: { alias: 's', type: 'boolean', default: false, describe: "follow Marathon's event stream" },
  command: { alias: 'c', type: 'string', describe: 'reload command (a shell command line); without it mlb-ts reloads the HAProxy it supervises' },
  'reload-interval': { type: 'number', default: DEFAULTS.reloadInterval, describe: 'least seconds between two reloads; changes inside it coalesce' },
  'max-reload-retries': { type: 'number', default: DEFAULTS.maxReloadRetries, describe: 'retries of a failed reload (0.2 s doubling, at most 5 s): in the daemon within one sync (failed syncs are then retried with backoff, at most 10 s apart, until one succeeds), in one-shot mode before it exits 1; -1 (marathon-lb: forever) = the default' },
  'max-backoff': { type: 'number', default: DEFAULTS.maxBackoff, describe: 'cap (seconds) of the event-stream reconnect backoff' },
  'archive-versions': { type: 'number', default: DEFAULTS.archiveVersions, describe: 'earlier configs kept beside the live one' },
  'skip-validation': { type: 'boolean', default: false, describe: "don't run haproxy -c before install" },
  'haproxy-bin': { type: 'string', default: DEFAULTS.haproxyBin, describe: 'HAProxy binary used to validate and, without --command, to run' },
  'master-socket': { type: 'string', default: DEFAULTS.masterSocket, describe: 'master CLI of the HAProxy that mlb-ts starts and reloads' },
  'resync-interval': { type: 'number', default: DEFAULTS.resyncInterval, describe: 'seconds between periodic full resyncs (in case an event was lost)' },
  'debounce-ms': { type: 'number', default: DEFAULTS.debounceMs, describe: 'quiet time after the last event before a sync' },
  'stall-timeout': { type: 'number', default: DEFAULTS.stallTimeout, describe: 'seconds without a byte (keep-alives included) before the event stream is reconnected' },
  'ipvs-apply-command': { type: 'string', describe: "with --ipvs: command run with the incremental rules file on stdin when the VIP set changes (e.g. 'ipvsadm -R'; ipvsadm-restore would clear the table first)" },
} as const satisfies Record<string, Options>;

type Argv = Record<string, unknown>;

/**
 * The run-only flags as `render` and `vips` take them: hidden, without defaults, so that a
 * daemon's command line with `render --out DIR` added still works, and each one given is named
 * as ignored (runOnlyNotes) instead of refused.
 */
export const RUN_ONLY_ACCEPTED: Record<keyof typeof RUN_OPTIONS, Options> = Object.fromEntries(
  Object.entries(valuesRequired(RUN_OPTIONS)).map(([k, o]) => [k, { ...withoutDefault(o), hidden: true }]),
) as Record<keyof typeof RUN_OPTIONS, Options>;

/** One line per run-only flag given to `mlb-ts <command>`, which only renders. */
export function runOnlyNotes(argv: Argv, command: string): string[] {
  return Object.keys(RUN_OPTIONS)
    .filter((k) => argv[k] !== undefined)
    .map((k) => `--${k} is ignored by mlb-ts ${command}, which only renders (no HAProxy run, no reload, no event stream)`);
}

/** marathon-lb flags accepted so its command lines keep working; they change nothing here. */
export const IGNORED_MARATHON_LB_OPTIONS = {
  'syslog-socket': { type: 'string', hidden: true },
  'log-format': { type: 'string', hidden: true },
  'lru-cache-capacity': { type: 'number', hidden: true },
  'marathon-lb-group': { type: 'string', hidden: true },
  'dcos-auth-credentials': { type: 'string', hidden: true },
  'skip-config-cleanup': { type: 'boolean', hidden: true },
} as const satisfies Record<string, Options>;

/** Why each ignored flag changes nothing, or what to use instead: the note printed when it is given. */
const IGNORED_WHY: Record<keyof typeof IGNORED_MARATHON_LB_OPTIONS, string> = {
  'syslog-socket': 'the daemon logs JSON lines to stdout',
  'log-format': 'logs are JSON lines; --log-level sets the level',
  'lru-cache-capacity': 'mlb-ts keeps no such cache',
  'marathon-lb-group': '--group selects the apps',
  'dcos-auth-credentials': 'mlb-ts does not log in with a service account: put a DC/OS token in a file and pass --dcos-token-file',
  'skip-config-cleanup': 'with --sse, the apps whose config HAProxy rejects are always left out and the rest applied',
};

/**
 * One line per marathon-lb flag given that mlb-ts ignores (each once, however often given),
 * and one for --auth-credentials when the credential file overrides it. `why`: a command's own
 * ignored flags and reasons (mlb-ts zdd: zdd.py's logging flags), over the common ones.
 */
export function compatNotes(argv: Argv, why: Record<string, string> = {}): string[] {
  const reasons: Record<string, string> = { ...IGNORED_WHY, ...why };
  const notes = Object.keys(reasons)
    .filter((k) => argv[k] !== undefined)
    .map((k) => `--${k} is accepted for marathon-lb compatibility and ignored (${reasons[k]})`);
  if (str(argv, 'auth-credentials') !== undefined && str(argv, 'marathon-auth-credential-file') !== undefined) {
    notes.push('--auth-credentials is ignored: --marathon-auth-credential-file is given and wins, as in marathon-lb');
  }
  return notes;
}

/** A flag given several times counts with its last value, as marathon-lb's argparse has it (yargs gives an array). */
export function lastOf(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Every value of a repeatable string flag (yargs gives one value alone, several as an array). */
export function listOf(v: unknown): string[] {
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

/** A numeric flag (its last value), or E_USAGE. */
export function numberFlag(argv: Argv, key: string, min: number): number {
  const v = lastOf(argv[key]);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new MlbError('E_USAGE', `--${key} must be a number ≥ ${min}`);
  return v;
}

/** A string flag's last value; '' counts as not given. */
export function str(argv: Argv, key: string): string | undefined {
  const v = lastOf(argv[key]);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * --auth-credentials USER:PASSWORD, unless --marathon-auth-credential-file is given (it wins, as
 * in marathon-lb); E_USAGE without the colon. The value is never part of a message.
 */
export function authCredentialsFlag(argv: Argv): string | undefined {
  const v = str(argv, 'auth-credentials');
  if (v === undefined || str(argv, 'marathon-auth-credential-file') !== undefined) return undefined;
  if (!v.includes(':')) throw new MlbError('E_USAGE', '--auth-credentials must be user:password');
  return v;
}

const LOG_LEVELS: Record<string, Settings['logLevel']> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  // marathon-lb's (Python logging) names
  warning: 'warn',
  critical: 'error',
  notset: 'debug',
};

/** --log-level, in any case, marathon-lb's level names included. */
function logLevelFlag(argv: Argv): Settings['logLevel'] {
  const v = (str(argv, 'log-level') ?? DEFAULTS.logLevel).toLowerCase();
  const level = Object.hasOwn(LOG_LEVELS, v) ? LOG_LEVELS[v] : undefined;
  if (!level) throw new MlbError('E_USAGE', "--log-level must be debug, info, warn or error (or marathon-lb's DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET)");
  return level;
}

/**
 * --max-reload-retries. marathon-lb's -1 (retry forever) is the default count: after it the
 * daemon retries the whole sync with backoff, forever, and meanwhile newer apps are fetched, the
 * last good config stays installed and the running services get runtime updates, which a reload
 * retried in place would block; one-shot mode exits 1 (the next run reloads).
 */
function reloadRetriesFlag(argv: Argv): number {
  const v = lastOf(argv['max-reload-retries']);
  if (v === undefined) return DEFAULTS.maxReloadRetries;
  if (v === -1) return DEFAULTS.maxReloadRetries;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MlbError('E_USAGE', '--max-reload-retries must be a number ≥ 0, or -1 (the default: failed syncs are retried until one succeeds)');
  return v;
}

/** The IP-per-task service port range; 0 and 0 (marathon-lb's way) turn automatic ports off. */
function servicePortRange(argv: Argv): { min: number; max: number } {
  const min = numberFlag(argv, 'min-serv-port-ip-per-task', 0);
  const max = numberFlag(argv, 'max-serv-port-ip-per-task', 0);
  if ((min === 0) !== (max === 0)) {
    throw new MlbError('E_USAGE', '--min-serv-port-ip-per-task and --max-serv-port-ip-per-task are both ≥ 1, or both 0 to give IP-per-task apps no automatic service ports');
  }
  if (max < min) throw new MlbError('E_USAGE', '--max-serv-port-ip-per-task is below --min-serv-port-ip-per-task');
  for (const [k, v] of [['min', min], ['max', max]] as const) {
    if (v > 65535 || !Number.isInteger(v)) throw new MlbError('E_USAGE', `--${k}-serv-port-ip-per-task must be a port number (0 to 65535)`);
  }
  return { min, max };
}

/** HAProxy's time format: a number, then us, ms, s, m, h or d (ms when none). */
function hardStopAfterFlag(argv: Argv): string {
  const v = str(argv, 'hard-stop-after') ?? DEFAULTS.hardStopAfter;
  if (!/^\d+(us|ms|s|m|h|d)?$/.test(v)) throw new MlbError('E_USAGE', '--hard-stop-after must be a time in HAProxy\'s format, e.g. 30s, 5m or 1h');
  return v;
}

/** --listen HOST:PORT (or :PORT; port 0: any free one), '' for none. */
function listenFlag(argv: Argv): string {
  const v = lastOf(argv.listen);
  if (typeof v !== 'string') return DEFAULTS.listen;
  const port = /:(\d+)$/.exec(v)?.[1];
  if (v !== '' && (port === undefined || Number(port) > 65535)) throw new MlbError('E_USAGE', "--listen must be HOST:PORT (e.g. 127.0.0.1:9095), or '' for no endpoints");
  return v;
}

/** --marathon, every value kept; an empty one (`-m ''`), or a URL without a host, is E_USAGE. */
function marathonFlag(argv: Argv): string[] {
  const given = argv.marathon as string[] | undefined;
  if (given === undefined) return [...DEFAULTS.marathon];
  // A bare `-m` is an empty list (valuesRequired), `-m ''` an empty value.
  if (given.length === 0 || given.some((m) => typeof m !== 'string' || m.trim() === '')) throw new MlbError('E_USAGE', '--marathon needs a URL or a file path');
  // What the client fetches (isHttpUrl); anything else is a file path, even one named `http:x`.
  for (const m of given) if (/^https?:\/\//i.test(m) && !hasHost(m)) throw new MlbError('E_USAGE', `--marathon ${m} is not a URL with a host (e.g. http://marathon.mesos:8080)`);
  return given;
}

function hasHost(url: string): boolean {
  // As written, not as URL parsing reads it: that takes `http:///x` and `http://\x` for host x.
  if (!/^https?:\/\/[^/\\?#]/i.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/** Most spare slots per backend: their server ids sit above SPARE_ID_BASE, below HAProxy's largest id. */
export const MAX_SPARE_SLOTS = 1000;

function spareSlotsFlag(argv: Argv): number {
  const v = numberFlag(argv, 'spare-slots', 0);
  if (!Number.isInteger(v) || v > MAX_SPARE_SLOTS) throw new MlbError('E_USAGE', `--spare-slots must be a whole number from 0 to ${MAX_SPARE_SLOTS}`);
  return v;
}

/**
 * The options with every flag that takes a value needing one: a bare `--out` or `--spare-slots`
 * would otherwise be '' (the current directory) or the default. `--listen ''` still passes ''.
 */
export function valuesRequired<T extends Record<string, Options>>(options: T): T {
  return Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.type === 'boolean' ? o : o.array ? withoutDefault(o) : { ...o, requiresArg: true }])) as T;
}

/**
 * yargs ignores requiresArg for a repeatable flag and gives a bare one its default: without the
 * default (settingsFrom applies it), a bare `-m` is an empty list, which marathonFlag refuses.
 */
function withoutDefault(o: Options): Options {
  const { default: value, ...rest } = o;
  return value === undefined ? o : { ...rest, defaultDescription: JSON.stringify(value) };
}

function ports(argv: Argv) {
  const p = (k: string) => {
    const v = numberFlag(argv, k, 1);
    if (v > 65535 || !Number.isInteger(v)) throw new MlbError('E_USAGE', `--${k} must be a port number`);
    return v;
  };
  return { http: p('http-port'), https: p('https-port'), appId: p('appid-port'), stats: p('stats-port') };
}

/** Parsed argv → Settings; E_USAGE for what yargs can't check. */
export function settingsFrom(argv: Argv, opts: { requireGroup: boolean; templatesDefault?: string }): Settings {
  const groups = listOf(argv.group).flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean);
  if (opts.requireGroup && groups.length === 0) throw new MlbError('E_USAGE', "--group is required (--group '*' renders every app)");
  const { min, max } = servicePortRange(argv);
  const d = DEFAULTS;
  const has = (k: string) => argv[k] !== undefined;
  return {
    marathon: marathonFlag(argv),
    groups,
    healthCheck: argv['health-check'] === true,
    strictMode: argv['strict-mode'] === true,
    haproxyMap: argv['haproxy-map'] === true,
    haproxyConfig: str(argv, 'haproxy-config') ?? d.haproxyConfig,
    sslCerts: (str(argv, 'ssl-certs') ?? d.sslCerts.join(',')).split(',').map((c) => c.trim()).filter(Boolean),
    ...optional('templatesDir', str(argv, 'templates') ?? opts.templatesDefault),
    labelTemplates: argv['disable-label-templates'] !== true,
    dontBindHttpHttps: argv['dont-bind-http-https'] === true,
    groupHttpsByVhost: argv['group-https-by-vhost'] === true,
    minServPortIpPerTask: min,
    maxServPortIpPerTask: max,
    sse: argv.sse === true,
    ...optional('command', str(argv, 'command')),
    reloadInterval: has('reload-interval') ? numberFlag(argv, 'reload-interval', 0) : d.reloadInterval,
    maxReloadRetries: reloadRetriesFlag(argv),
    maxBackoff: has('max-backoff') ? numberFlag(argv, 'max-backoff', 0.1) : d.maxBackoff,
    archiveVersions: has('archive-versions') ? numberFlag(argv, 'archive-versions', 0) : d.archiveVersions,
    ...optional('authCredentialFile', str(argv, 'marathon-auth-credential-file')),
    ...optional('authCredentials', authCredentialsFlag(argv)),
    ...optional('dcosTokenFile', str(argv, 'dcos-token-file')),
    ...optional('caCert', str(argv, 'marathon-ca-cert')),
    skipValidation: argv['skip-validation'] === true,
    logLevel: logLevelFlag(argv),
    haproxyBin: str(argv, 'haproxy-bin') ?? d.haproxyBin,
    haproxySocket: str(argv, 'haproxy-socket') ?? d.haproxySocket,
    masterSocket: str(argv, 'master-socket') ?? d.masterSocket,
    listen: listenFlag(argv),
    ipvs: argv.ipvs === true,
    ...optional('ipvsApplyCommand', str(argv, 'ipvs-apply-command')),
    ports: ports(argv),
    hardStopAfter: hardStopAfterFlag(argv),
    resyncInterval: has('resync-interval') ? numberFlag(argv, 'resync-interval', 1) : d.resyncInterval,
    debounceMs: has('debounce-ms') ? numberFlag(argv, 'debounce-ms', 0) : d.debounceMs,
    stallTimeout: has('stall-timeout') ? numberFlag(argv, 'stall-timeout', 1) : d.stallTimeout,
    spareSlots: spareSlotsFlag(argv),
  };
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
