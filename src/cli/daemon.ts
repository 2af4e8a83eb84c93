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
  // Signals are handled from the start: during start() a SIGTERM's default action would kill
  // mlb-ts and leave the HAProxy it just spawned running; daemon.stop() waits for start() instead.
  let requestStop: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((r) => (requestStop = r)).then(async (signal) => {
    log.info({ signal }, 'stopping');
    await daemon.stop();
    await endpoints?.close();
    log.info('stopped');
    return 0;
  });
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'full resync requested');
    daemon.markDirty('sighup', true);
  });
  process.on('SIGUSR1', () => {
    log.info({ signal: 'SIGUSR1' }, 'reload requested');
    daemon.requestReload('sigusr1');
  });
  // HAProxy's own reload signal, sent to mlb-ts by habit: a reload too, not the default action (exit, leaving HAProxy unsupervised).
  process.on('SIGUSR2', () => {
    log.info({ signal: 'SIGUSR2' }, 'reload requested (SIGUSR2 is taken as SIGUSR1)');
    daemon.requestReload('sigusr1');
  });
  try {
    if (s.listen) endpoints = await startEndpoints(s.listen, daemon, reloader, log);
    await daemon.start();
  } catch (e) {
    if (daemon.isStopped) return stopped;
    log.error({ err: errorLine(e) }, 'cannot start');
    await endpoints?.close();
    await reloader.stop().catch(() => undefined);
    return 1;
  }
  if (daemon.isStopped) return stopped;
  log.info({ listen: endpoints?.address, config: resolve(s.haproxyConfig), reloader: reloader.kind, groups: s.groups }, 'mlb-ts running');
  return stopped;
}
