import { MlbError } from '../errors.js';
import { blamedSections } from '../haproxy/attribute.js';
import { validationError } from '../haproxy/install.js';
import type { Validation } from '../haproxy/validate.js';
import type { MarathonApp } from '../marathon/types.js';
import type { RenderResult } from './render-set.js';

/** A render of some apps and HAProxy's verdict on it. */
export interface Checked {
  result: RenderResult;
  validation: Validation;
}

/**
 * A valid render without the apps HAProxy refuses (`first`, of all `apps`, was refused with
 * `error`): first the apps feeding the sections its alerts blame (by line number or proxy
 * name), a few rounds; then bisection over the rest. `drop` hears of each app left out, with
 * HAProxy's reason. E_HAPROXY_INVALID if even that does not give a valid config. The caller has
 * checked that a config without any app passes.
 */
export async function dropBrokenApps(
  apps: readonly MarathonApp[],
  first: RenderResult,
  error: MlbError,
  check: (apps: MarathonApp[]) => Promise<Checked>,
  drop: (appId: string, reason: string) => void,
): Promise<RenderResult> {
  const excluded = new Set<string>();
  const kept = (only?: string[]) => apps.filter((a) => !excluded.has(a.id) && (!only || only.includes(a.id)));
  const exclude = (id: string, reason: string) => {
    if (excluded.has(id)) return;
    excluded.add(id);
    drop(id, reason);
  };
  let current = first;
  let reason = error.message;
  for (let round = 0; round < 5; round++) {
    const blamed = blamedSections([reason], current.rendered.config);
    const culprits = current.model.services.filter((s) => blamed.has(s.backend) || blamed.has(`user_${s.backend}`)).flatMap((s) => s.sourceAppIds);
    if (culprits.length === 0) break;
    for (const a of culprits) exclude(a, ownReason(reason, a, current));
    const next = await check(kept());
    if (next.validation.ok) return next.result;
    current = next.result;
    reason = validationError(next.validation).message;
  }
  const candidates = [...new Set(current.model.services.flatMap((s) => s.sourceAppIds))].sort();
  const bad = await findBroken(candidates, [], async (keep) => (await check(kept(keep))).validation.ok);
  for (const a of bad) exclude(a, reason);
  const final = await check(kept());
  if (!final.validation.ok) throw validationError(final.validation);
  return final.result;
}

/**
 * Of a refusal that blames several apps, the alerts that name this app's sections (its
 * frontends, backends and userlists), so each app's line says what is wrong with it; the
 * whole refusal when none does.
 */
function ownReason(reason: string, appId: string, render: RenderResult): string {
  const [prefix, alerts] = splitRefusal(reason);
  const sections = new Set(render.model.services.filter((s) => s.sourceAppIds.includes(appId)).flatMap((s) => [s.backend, `user_${s.backend}`]));
  const own = alerts.filter((a) => [...blamedSections([a], render.rendered.config)].some((name) => sections.has(name)));
  return own.length > 0 && own.length < alerts.length ? `${prefix}${own.join(' | ')}` : reason;
}

/** validationError's message as its prefix and its alerts. */
function splitRefusal(reason: string): [string, string[]] {
  const at = reason.indexOf(': ');
  return at < 0 ? ['', [reason]] : [reason.slice(0, at + 2), reason.slice(at + 2).split(' | ')];
}

/** E_HAPROXY_INVALID for a config HAProxy refuses even without apps: no app is to blame. */
export function refusedWithoutApps(none: Validation): MlbError {
  return new MlbError('E_HAPROXY_INVALID', `no app is to blame, HAProxy refuses the config even without any (flags, global templates): ${validationError(none).message}`);
}

/**
 * Bisection: the members of `candidates` that make the config invalid, given a good `base`.
 * `knownToFail`: the caller already saw base + candidates fail (no need to check again).
 */
export async function findBroken(candidates: string[], base: string[], ok: (apps: string[]) => Promise<boolean>, knownToFail = false): Promise<string[]> {
  if (candidates.length === 0) return [];
  if (!knownToFail && (await ok([...base, ...candidates]))) return [];
  if (candidates.length === 1) return candidates;
  const mid = Math.ceil(candidates.length / 2);
  const left = candidates.slice(0, mid);
  const right = candidates.slice(mid);
  const badLeft = await findBroken(left, base, ok);
  const goodLeft = left.filter((a) => !badLeft.includes(a));
  // All of the left half is good: base + left + right is the set that failed, so right has the culprit.
  const badRight = await findBroken(right, [...base, ...goodLeft], ok, badLeft.length === 0);
  return [...badLeft, ...badRight];
}
