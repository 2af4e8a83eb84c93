import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { errorLine, isMlbError, MlbError } from '../errors.js';
import { IGNORED_MARATHON_LB_OPTIONS, RENDER_OPTIONS, RUN_OPTIONS, settingsFrom } from './options.js';
import { labelsCommand } from './labels.js';
import { dryRunCommand, oneShotCommand, renderCommand } from './render.js';
import { vipsCommand } from './vips.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultTemplatesDir(): string | undefined {
  return existsSync(join(process.cwd(), 'templates')) ? join(process.cwd(), 'templates') : undefined;
}

/** Sets process.exitCode: 0 ok, 1 failure, 2 usage. */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const run = (fn: () => Promise<number> | number) => async () => {
    try {
      code = await fn();
    } catch (e) {
      process.stderr.write(`mlb-ts: ${errorLine(e)}\n`);
      code = isMlbError(e) && e.code === 'E_USAGE' ? 2 : 1;
    }
  };
  const renderFlags = <T>(y: Argv<T>) => y.options(RENDER_OPTIONS).options(IGNORED_MARATHON_LB_OPTIONS);
  const parser = yargs(args)
    .scriptName('mlb-ts')
    .usage('$0 [command] [options]\n\nA load-balancer updater for Marathon: HAPROXY_* labels → haproxy.cfg, hitless reloads, named VIPs.')
    .command(
      '$0',
      "one-shot: fetch apps, render, write haproxy.cfg (+ maps), validate, reload; with --sse follow Marathon's events; with --dry-run print the config",
      (y) => renderFlags(y).options(RUN_OPTIONS),
      (argv) => {
        const settings = () => settingsFrom(argv, { requireGroup: true, templatesDefault: defaultTemplatesDir() });
        return run(async () => {
          if (argv['dry-run']) return dryRunCommand(settings());
          if (argv.sse) {
            const { daemonCommand } = await import('./daemon.js');
            return daemonCommand(settings());
          }
          return oneShotCommand(settings());
        })();
      },
    )
    .command(
      'render',
      'render every output into --out DIR; reload nothing',
      (y) => renderFlags(y).option('out', { type: 'string', demandOption: true, describe: 'output directory' }),
      (argv) => run(() => renderCommand(settingsFrom(argv, { requireGroup: true, templatesDefault: defaultTemplatesDir() }), String(argv.out)))(),
    )
    .command(
      'vips',
      'print the VIPs of VIP_n port labels (every app; --group does not filter): name, address, protocol, backends with weights',
      (y) => renderFlags(y).option('json', { type: 'boolean', default: false, describe: 'print the model as vips.json' }),
      (argv) => run(() => vipsCommand(settingsFrom(argv, { requireGroup: false, templatesDefault: defaultTemplatesDir() }), { json: argv.json === true }))(),
    )
    .command(
      'demo',
      'a fake Marathon with the example apps, a real HAProxy and the daemon, and a short tour of what mlb-ts does',
      (y) =>
        y
          .option('dir', { type: 'string', default: 'mlb-ts-demo', describe: 'where the demo writes haproxy.cfg, sockets and logs' })
          .option('keep-running', { type: 'boolean', default: false, describe: 'stay up after the tour (Ctrl-C stops)' })
          .option('http-port', { type: 'number', default: 10080 })
          .option('https-port', { type: 'number', default: 10443 })
          .option('appid-port', { type: 'number', default: 19091 })
          .option('stats-port', { type: 'number', default: 19090 })
          .option('listen', { type: 'string', default: '127.0.0.1:19095' })
          .option('haproxy-bin', { type: 'string', default: 'haproxy' }),
      (argv) =>
        run(async () => {
          const { runDemo } = await import('../demo/tour.js');
          return runDemo({
            dir: String(argv.dir),
            keepRunning: argv['keep-running'] === true,
            ports: { http: Number(argv['http-port']), https: Number(argv['https-port']), appId: Number(argv['appid-port']), stats: Number(argv['stats-port']) },
            listen: String(argv.listen),
            haproxyBin: String(argv['haproxy-bin']),
          });
        })(),
    )
    .command(
      'labels',
      'print the label reference (generated from the label registry)',
      (y) => y.option('markdown', { type: 'boolean', default: false, describe: 'as a Markdown table' }).option('templates', { type: 'boolean', default: false, describe: 'list the templates instead' }),
      (argv) => run(() => labelsCommand({ markdown: argv.markdown === true, templates: argv.templates === true }))(),
    )
    .strict()
    .version(version())
    .help()
    .alias('help', 'h')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new MlbError('E_USAGE', msg);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    process.stderr.write(`mlb-ts: ${errorLine(e)}\n`);
    process.stderr.write("Try 'mlb-ts --help'.\n");
    return 2;
  }
  return code;
}
