import { readFileSync } from 'node:fs';
import { isDirectory } from '../io/files.js';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { errorLine, isMlbError, MlbError } from '../errors.js';
import { compatNotes, IGNORED_MARATHON_LB_OPTIONS, lastOf, RENDER_OPTIONS, RUN_ONLY_ACCEPTED, RUN_OPTIONS, runOnlyNotes, settingsFrom, valuesRequired } from './options.js';
import { dryRunCommand, oneShotCommand, renderCommand } from './render.js';
import { ZDD_IGNORED_WHY, ZDD_OPTIONS } from './zdd-options.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** ./templates when it is a directory (a file of that name is not the default's business). */
function defaultTemplatesDir(): string | undefined {
  const dir = join(process.cwd(), 'templates');
  return isDirectory(dir) ? dir : undefined;
}

type Args = Record<string, unknown>;

interface Subcommand {
  name: string;
  describe: string;
  builder: (y: Argv) => Argv;
  run: (argv: Args) => Promise<number> | number;
  /** The command's own ignored marathon-lb flags and why (see compatNotes). */
  ignored?: Record<string, string>;
  /** It only renders: the run-only flags are accepted and named as ignored (runOnlyNotes). */
  rendersOnly?: boolean;
}

const renderFlags = (y: Argv) => y.options(valuesRequired(RENDER_OPTIONS)).options(IGNORED_MARATHON_LB_OPTIONS) as unknown as Argv;
const renderOnlyFlags = (y: Argv) => renderFlags(y).options(RUN_ONLY_ACCEPTED) as unknown as Argv;

/** Words the command takes none of (`render … extra`, or after `--`): E_USAGE, as in the default mode. */
function refuseStray(argv: Args, command: string): void {
  const stray = ((argv._ as unknown[] | undefined) ?? []).map(String);
  if (stray.length > 0) throw new MlbError('E_USAGE', `unexpected argument: ${stray.join(' ')} (mlb-ts ${command} takes options only)`);
}

/** --out DIR: a directory, not '' (which would be the current one). */
function outFlag(argv: Args): string {
  const out = lastOf(argv.out);
  if (typeof out !== 'string' || out.trim() === '') throw new MlbError('E_USAGE', '--out needs a directory');
  return out;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'render',
    describe: 'render every output into --out DIR; reload nothing',
    builder: (y) => renderOnlyFlags(y).option('out', { type: 'string', demandOption: true, requiresArg: true, describe: 'output directory' }) as unknown as Argv,
    rendersOnly: true,
    run: (argv) => {
      refuseStray(argv, 'render');
      return renderCommand(settingsFrom(argv, { requireGroup: true, templatesDefault: defaultTemplatesDir() }), outFlag(argv));
    },
  },
  {
    name: 'vips',
    describe: 'print the VIPs of VIP_n port labels (every app; --group does not filter): name, address, protocol, backends with weights',
    builder: (y) => renderOnlyFlags(y).option('json', { type: 'boolean', default: false, describe: 'print the model as vips.json' }) as unknown as Argv,
    rendersOnly: true,
    run: async (argv) => (await import('./vips.js')).vipsCommand(settingsFrom(argv, { requireGroup: false, templatesDefault: defaultTemplatesDir() }), { json: argv.json === true }),
  },
  {
    name: 'demo',
    describe: 'a fake Marathon with the example apps, a real HAProxy and the daemon, and a short tour of what mlb-ts does',
    builder: (y) =>
      y
        .option('dir', { type: 'string', default: 'mlb-ts-demo', describe: 'where the demo writes haproxy.cfg, sockets and logs' })
        .option('keep-running', { type: 'boolean', default: false, describe: 'stay up after the tour (Ctrl-C stops)' })
        .option('http-port', { type: 'number', default: 10080 })
        .option('https-port', { type: 'number', default: 10443 })
        .option('appid-port', { type: 'number', default: 19091 })
        .option('stats-port', { type: 'number', default: 19090 })
        .option('listen', { type: 'string', default: '127.0.0.1:19095' })
        .option('haproxy-bin', { type: 'string', default: 'haproxy' }) as unknown as Argv,
    run: async (argv) => {
      const { runDemo } = await import('../demo/tour.js');
      const flag = (k: string) => lastOf(argv[k]);
      return runDemo({
        dir: String(flag('dir')),
        keepRunning: argv['keep-running'] === true,
        ports: { http: Number(flag('http-port')), https: Number(flag('https-port')), appId: Number(flag('appid-port')), stats: Number(flag('stats-port')) },
        listen: String(flag('listen')),
        haproxyBin: String(flag('haproxy-bin')),
      });
    },
  },
  {
    name: 'zdd',
    describe: 'blue/green deploy through Marathon with zero failed requests: start the app of --json in the other colour, shift traffic step by step, drain and kill the old tasks, delete the old app',
    builder: (y) => y.options(ZDD_OPTIONS) as unknown as Argv,
    run: async (argv) => (await import('./zdd.js')).zddCommand(argv),
    ignored: ZDD_IGNORED_WHY,
  },
  {
    name: 'labels',
    describe: 'print the label reference (generated from the label registry)',
    builder: (y) => y.option('markdown', { type: 'boolean', default: false, describe: 'as a Markdown table' }).option('templates', { type: 'boolean', default: false, describe: 'list the templates instead' }) as unknown as Argv,
    run: async (argv) => (await import('./labels.js')).labelsCommand({ markdown: argv.markdown === true, templates: argv.templates === true }),
  },
];

/** The default mode: one-shot, --sse daemon, or --dry-run. */
async function runDefault(argv: Args): Promise<number> {
  // A command name after the options (`--group external labels`): yargs knows it, the default mode doesn't.
  const stray = ((argv._ as unknown[] | undefined) ?? []).map(String);
  if (stray.length > 0) throw new MlbError('E_USAGE', `unexpected argument: ${stray.join(' ')} (a command comes first: mlb-ts ${stray[0]} …)`);
  const settings = () => settingsFrom(argv, { requireGroup: true, templatesDefault: defaultTemplatesDir() });
  if (argv['dry-run']) return dryRunCommand(settings());
  if (argv.sse) {
    const { daemonCommand } = await import('./daemon.js');
    return daemonCommand(settings());
  }
  return oneShotCommand(settings());
}

const ABOUT = 'A load-balancer updater for Marathon: HAPROXY_* labels → haproxy.cfg, hitless reloads, named VIPs.';

/**
 * A subcommand gets a parser of its own (no yargs command routing, which builds the whole
 * help text on every run); the top-level parser lists the subcommands for --help.
 */
function parserFor(args: string[], sub: Subcommand | undefined): Argv {
  const base = (y: Argv) =>
    y
      .strict()
      .version(version())
      .help()
      .alias('help', 'h')
      .wrap(Math.min(120, process.stdout.columns || 100))
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new MlbError('E_USAGE', msg);
      });
  if (sub) return base(sub.builder(yargs(args.slice(1)).scriptName(`mlb-ts ${sub.name}`).usage(`$0 [options]\n\n${sub.describe}`)));
  let top = renderFlags(yargs(args))
    .options(valuesRequired(RUN_OPTIONS))
    .scriptName('mlb-ts')
    .usage(`$0 [command] [options]\n\n${ABOUT}\n\nWithout a command: one-shot (fetch apps, render, write haproxy.cfg (+ maps), validate, reload); with --sse follow Marathon's events; with --dry-run print the config.`) as unknown as Argv;
  for (const c of SUBCOMMANDS) top = top.command(c.name, c.describe);
  return base(top);
}

/** marathon-lb's --longhelp (its help with the template reference) is --help here; after `--` it is an argument. */
function withLonghelp(args: string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => (a === '--longhelp' && (end < 0 || i < end) ? '--help' : a));
}

/** Runs the command line; returns the exit code: 0 ok, 1 failure, 2 usage. */
export async function main(rawArgs: string[]): Promise<number> {
  const args = withLonghelp(rawArgs);
  const sub = SUBCOMMANDS.find((c) => c.name === args[0]);
  let argv: Args;
  try {
    argv = (await parserFor(args, sub).parseAsync()) as Args;
  } catch (e) {
    // yargs's own complaints (a flag without its value) are usage errors too; one line, as every error.
    process.stderr.write(`mlb-ts: ${errorLine(isMlbError(e) ? e : new MlbError('E_USAGE', e instanceof Error ? e.message : String(e)))} (try 'mlb-ts ${sub ? `${sub.name} ` : ''}--help')\n`);
    return 2;
  }
  if (argv.help || argv.version) return 0;
  // stderr: stdout carries only what the command prints (--dry-run's config).
  const notes = [...compatNotes(argv, sub?.ignored), ...(sub?.rendersOnly ? runOnlyNotes(argv, sub.name) : [])];
  for (const note of notes) process.stderr.write(`mlb-ts: note: ${note}\n`);
  try {
    return await (sub ? sub.run(argv) : runDefault(argv));
  } catch (e) {
    process.stderr.write(`mlb-ts: ${errorLine(e)}\n`);
    return isMlbError(e) && e.code === 'E_USAGE' ? 2 : 1;
  }
}
