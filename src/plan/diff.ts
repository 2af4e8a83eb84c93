import type { LbModel, Server, Service } from '../model/types.js';

export interface ServerDelta {
  backend: string;
  added: Server[];
  removed: Server[];
  /** Same address, different state (ready ⇄ drain), check port or name (the agent host). */
  changed: { before: Server; after: Server }[];
}

export interface ModelDiff {
  addedBackends: string[];
  removedBackends: string[];
  /** Backends whose settings (anything but the server list) differ. */
  changedBackends: string[];
  servers: ServerDelta[];
}

/**
 * A service's settings as one string: what a reload would change. Its servers, and the apps (and
 * their ports) feeding it, are servers' business; `also`: more fields to leave out.
 */
export function serviceSettings(s: Service, also: readonly (keyof Service)[] = []): string {
  const left: Partial<Record<keyof Service, undefined>> = { servers: undefined, sourceAppIds: undefined, sourcePortIndexes: undefined };
  for (const k of also) left[k] = undefined;
  return JSON.stringify({ ...s, ...left });
}

export function addressOf(s: Pick<Server, 'ip' | 'port'>): string {
  return `${s.ip}:${s.port}`;
}

function serverDelta(backend: string, before: Server[], after: Server[]): ServerDelta | undefined {
  const prev = new Map(before.map((s) => [addressOf(s), s]));
  const next = new Map(after.map((s) => [addressOf(s), s]));
  const added = after.filter((s) => !prev.has(addressOf(s)));
  const removed = before.filter((s) => !next.has(addressOf(s)));
  const changed = after
    .map((a) => ({ before: prev.get(addressOf(a)), after: a }))
    .filter((c): c is { before: Server; after: Server } => c.before !== undefined && (c.before.state !== c.after.state || c.before.checkPort !== c.after.checkPort || c.before.unchecked !== c.after.unchecked || c.before.name !== c.after.name));
  return added.length || removed.length || changed.length ? { backend, added, removed, changed } : undefined;
}

/** What changed between two models, backend by backend. Pure. */
export function diffModels(prev: LbModel, next: LbModel): ModelDiff {
  const before = new Map(prev.services.map((s) => [s.backend, s]));
  const after = new Map(next.services.map((s) => [s.backend, s]));
  const diff: ModelDiff = { addedBackends: [], removedBackends: [], changedBackends: [], servers: [] };
  for (const [name, s] of after) {
    const old = before.get(name);
    if (!old) {
      diff.addedBackends.push(name);
      continue;
    }
    if (serviceSettings(old) !== serviceSettings(s)) diff.changedBackends.push(name);
    const d = serverDelta(name, old.servers, s.servers);
    if (d) diff.servers.push(d);
  }
  for (const name of before.keys()) if (!after.has(name)) diff.removedBackends.push(name);
  return diff;
}

export function isEmptyDiff(d: ModelDiff): boolean {
  return !d.addedBackends.length && !d.removedBackends.length && !d.changedBackends.length && !d.servers.length;
}

/** One line for logs: what changed, as an operator reads it. */
export function describeDiff(d: ModelDiff): string {
  const parts: string[] = [];
  const list = (xs: string[]) => (xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more` : xs.join(', '));
  if (d.addedBackends.length) parts.push(`backends added: ${list(d.addedBackends)}`);
  if (d.removedBackends.length) parts.push(`backends removed: ${list(d.removedBackends)}`);
  if (d.changedBackends.length) parts.push(`backend settings changed: ${list(d.changedBackends)}`);
  const adds = d.servers.reduce((n, s) => n + s.added.length, 0);
  const rems = d.servers.reduce((n, s) => n + s.removed.length, 0);
  const chg = d.servers.reduce((n, s) => n + s.changed.length, 0);
  if (adds || rems || chg) parts.push(`servers +${adds} -${rems} ~${chg} in ${list(d.servers.map((s) => s.backend))}`);
  return parts.join('; ') || 'no model change';
}
