import { writeFileSync, renameSync } from 'node:fs';
import { MlbError } from '../errors.js';
import { socketCommand } from './socket.js';

/** What HAProxy's CLI says when a command did not do what was asked. */
const FAILURE = /no such|unknown|invalid|require|not found|can't|cannot|error|failed|denied|not allowed|not enabled|expects|can only be|garbage/i;

/**
 * Runs runtime-API commands on the admin socket, a batch per connection (`;`-separated).
 * Throws E_RUNTIME naming the first command HAProxy refused.
 */
export async function runCommands(socket: string, commands: string[], batch = 40): Promise<void> {
  for (let i = 0; i < commands.length; i += batch) {
    const chunk = commands.slice(i, i + batch);
    const out = await socketCommand(socket, chunk.join(';'));
    const bad = out.split('\n').find((l) => FAILURE.test(l));
    if (bad) throw new MlbError('E_RUNTIME', `HAProxy refused a runtime command (${bad.trim()}) in: ${chunk.join('; ').slice(0, 300)}`);
  }
}

/**
 * Saves `show servers state` for the next worker to load (load-server-state-from-file):
 * health and weights survive the reload. Servers an operator or mlb-ts put in maintenance
 * or drain are left out, so the new config decides their state.
 */
export async function saveServerState(socket: string, stateFile: string): Promise<void> {
  const text = await socketCommand(socket, 'show servers state');
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('# be_id'));
  if (!/^\d+\s*$/.test(lines[0] ?? '') || header < 0) throw new MlbError('E_RUNTIME', `unexpected 'show servers state' answer: ${text.slice(0, 120)}`);
  const cols = (lines[header] as string).replace(/^#\s*/, '').split(/\s+/);
  const admin = cols.indexOf('srv_admin_state');
  const kept = lines.slice(header + 1).filter((l) => l.trim() && Number(l.split(/\s+/)[admin] ?? 0) === 0);
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, [lines[0], lines[header], ...kept].join('\n') + '\n');
  renameSync(tmp, stateFile);
}
