import { writeFileSync, renameSync } from 'node:fs';
import { MlbError } from '../errors.js';
import { type ConfiguredServers, serverStateFile } from './server-state.js';
import { socketCommand } from './socket.js';

/** What HAProxy's CLI says when a command did not do what was asked. */
const FAILURE = /no such|unknown|invalid|require|not found|can't|cannot|error|failed|denied|not allowed|not enabled|expects|can only be|garbage/i;

/**
 * Where runtime commands go: an admin socket, or a master CLI, which hands each command to a
 * worker — the current one (`@1`), or the one whose pid is given (`@!pid`). The master CLI is
 * the way in when the admin socket file is gone: reloads pass the worker's socket on, they
 * don't bind the path again.
 */
export type RuntimeRoute = string | { masterSocket: string; worker?: number };

/** Errors of a socket nobody listens on (or no socket at all): nothing was sent. */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES']);

/**
 * Sends `commands` (`;`-separated, one connection) and returns HAProxy's answer. Throws
 * E_RUNTIME_UNREACHABLE when the socket can't be reached (nothing was sent), else E_RUNTIME.
 */
export async function sendCommands(route: RuntimeRoute, commands: string[], timeoutMs?: number): Promise<string> {
  const socket = typeof route === 'string' ? route : route.masterSocket;
  const prefix = typeof route === 'string' ? '' : route.worker === undefined ? '@1 ' : `@!${route.worker} `;
  return socketCommand(socket, commands.map((c) => prefix + c).join(';'), timeoutMs).catch((e: unknown) => {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    if (code && UNREACHABLE.has(code)) throw new MlbError('E_RUNTIME_UNREACHABLE', `${socket} can't be reached (${code}); no command sent`, { cause: e });
    throw e;
  });
}

/**
 * Runs runtime-API commands, a batch per connection. Throws E_RUNTIME_UNREACHABLE when the
 * socket can't be reached before anything was sent, else E_RUNTIME naming the first command
 * HAProxy refused.
 */
export async function runCommands(route: RuntimeRoute, commands: string[], batch = 40): Promise<void> {
  for (let i = 0; i < commands.length; i += batch) {
    const chunk = commands.slice(i, i + batch);
    const out = await sendCommands(route, chunk).catch((e: unknown) => {
      // Once a batch went through, a lost socket is a failure like any other.
      throw i > 0 && e instanceof MlbError && e.code === 'E_RUNTIME_UNREACHABLE' ? new MlbError('E_RUNTIME', e.message, { cause: e }) : e;
    });
    const bad = out.split('\n').find((l) => FAILURE.test(l));
    if (bad) throw new MlbError('E_RUNTIME', `HAProxy refused a runtime command (${bad.trim()}) in: ${chunk.join('; ').slice(0, 300)}`);
  }
}

/**
 * Saves `show servers state` for the next worker to load (load-server-state-from-file):
 * health and check state survive the reload. Servers an operator or mlb-ts put in maintenance
 * or drain are left out, so the new config decides their state; with `next`, the servers of
 * the config that worker loads, so are the ones it has elsewhere or not at all, and weights
 * are the config's (see serverStateFile).
 */
export async function saveServerState(route: RuntimeRoute, stateFile: string, next?: ConfiguredServers): Promise<void> {
  const text = await sendCommands(route, ['show servers state']);
  const file = serverStateFile(text, next);
  if (file === undefined) throw new MlbError('E_RUNTIME', `unexpected 'show servers state' answer: ${text.slice(0, 120)}`);
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, file);
  renameSync(tmp, stateFile);
}
