import { resolve } from 'node:path';
import { errorLine } from '../errors.js';
import { Daemon } from '../daemon/daemon.js';
import { startEndpoints, type Endpoints } from '../daemon/http.js';
import { withPlaceholderCert } from '../io/self-signed.js';
import { createLogger } from '../daemon/log.js';
import { CommandReloader, type Reloader, SupervisedReloader } from '../daemon/reloader.js';
import type { Settings } from '../settings.js';

/**
 * `mlb-ts --sse …`: runs until SIGTERM/SIGINT. SIGHUP = full resync, SIGUSR1 = reload.
 * Exit 0 on a clean stop, 1 if it can't start.
 */
export async function daemonCommand(given: Settings): Promise<number> {
  const log = createLogger(given.logLevel);
  let s: Settings;
  try {
    s = await withPlaceholderCert(given, resolve(given.haproxyConfig), (line) => log.warn(line));
  } catch (e) {
    log.error({ err: errorLine(e) }, 'cannot start');
    return 1;
  }
  const holder: { daemon?: Daemon } = {};
  const reloader: Reloader = s.command ? new CommandReloader(s.command, s.masterSocket) : new SupervisedReloader(s, resolve(s.haproxyConfig), log, () => holder.daemon?.onHaproxyExit());
  const daemon = new Daemon(s, log, reloader);
  holder.daemon = daemon;
  let endpoints: Endpoints | undefined;
  try {
    if (s.listen) endpoints = await startEndpoints(s.listen, daemon, reloader, log);
    await daemon.start();
  } catch (e) {
    log.error({ err: errorLine(e) }, 'cannot start');
    await endpoints?.close();
    await reloader.stop().catch(() => undefined);
    return 1;
  }
  const d = daemon;
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      void d
        .stop()
        .then(() => endpoints?.close())
        .then(() => {
          log.info('stopped');
          done(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'full resync requested');
      d.markDirty('sighup', true);
    });
    process.on('SIGUSR1', () => {
      log.info({ signal: 'SIGUSR1' }, 'reload requested');
      d.requestReload('sigusr1');
    });
    // Only now: a SIGHUP sent on seeing this line would otherwise meet the default action (exit).
    log.info({ listen: endpoints?.address, config: resolve(s.haproxyConfig), reloader: reloader.kind, groups: s.groups }, 'mlb-ts running');
  });
}
