import { spareSlotName } from '../render/haproxy-config.js';
import type { LbModel, Server } from '../model/types.js';
import { addressOf } from './diff.js';

export type SlotState = 'ready' | 'drain' | 'maint';

/** One `server` line of the running HAProxy, and what it currently points at. */
export interface Slot {
  name: string;
  /** ip:port, or undefined for a spare slot never used. */
  addr?: string;
  state: SlotState;
  checkPort?: number;
}

/** The servers of the running HAProxy, backend by backend, as the runtime API left them. */
export type Live = Map<string, Slot[]>;

/** The layout a reload of this model creates: its servers, then the spare slots. */
export function liveAfterReload(model: LbModel, spareSlots: number): Live {
  const live: Live = new Map();
  for (const s of model.services) {
    const slots: Slot[] = s.servers.map((sv) => ({ name: sv.name, addr: addressOf(sv), state: sv.state, ...(sv.checkPort !== undefined ? { checkPort: sv.checkPort } : {}) }));
    for (let i = 1; i <= spareSlots; i++) slots.push({ name: spareSlotName(i), state: 'maint' });
    live.set(s.backend, slots);
  }
  return live;
}

export type RuntimePlan =
  | { kind: 'runtime'; commands: string[]; live: Live; summary: string }
  | { kind: 'reload'; reason: string };

function cloneLive(live: Live): Live {
  return new Map([...live].map(([b, slots]) => [b, slots.map((s) => ({ ...s }))]));
}

function setState(backend: string, slot: Slot, state: SlotState, commands: string[]): void {
  if (slot.state === state) return;
  slot.state = state;
  commands.push(`set server ${backend}/${slot.name} state ${state}`);
}

function fill(backend: string, slot: Slot, sv: Server, commands: string[]): void {
  if (slot.addr !== addressOf(sv)) {
    commands.push(`set server ${backend}/${slot.name} addr ${sv.ip} port ${sv.port}`);
    slot.addr = addressOf(sv);
  }
  if (sv.checkPort !== undefined && slot.checkPort !== sv.checkPort) {
    commands.push(`set server ${backend}/${slot.name} check-port ${sv.checkPort}`);
    slot.checkPort = sv.checkPort;
  }
  setState(backend, slot, sv.state, commands);
}

/**
 * Runtime-API commands that bring the running servers to `next`, when only servers changed
 * (the caller checked that nothing else did). New tasks fill free slots (a slot that held
 * the same address first, so a returning task keeps its slot), removed ones go to `maint`
 * (their connections finish; no new ones), state changes become `set server … state`.
 * Not enough free slots in a backend: a reload, with that reason. Pure.
 */
export function planServerChanges(live: Live, next: LbModel): RuntimePlan {
  const out = cloneLive(live);
  const commands: string[] = [];
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const s of next.services) {
    const slots = out.get(s.backend);
    if (!slots) return { kind: 'reload', reason: `backend ${s.backend} is new` };
    const wanted = new Map(s.servers.map((sv) => [addressOf(sv), sv]));
    for (const slot of slots) {
      if (slot.state !== 'maint' && slot.addr && !wanted.has(slot.addr)) {
        setState(s.backend, slot, 'maint', commands);
        removed++;
      }
    }
    const byAddr = new Map(slots.filter((sl) => sl.addr).map((sl) => [sl.addr as string, sl]));
    const pending: Server[] = [];
    for (const sv of s.servers) {
      const slot = byAddr.get(addressOf(sv));
      if (!slot) {
        pending.push(sv);
        continue;
      }
      const was = slot.state;
      fill(s.backend, slot, sv, commands);
      if (was === 'maint') added++;
      else if (was !== slot.state) changed++;
    }
    const free = slots.filter((sl) => sl.state === 'maint' && !(sl.addr && wanted.has(sl.addr)));
    if (pending.length > free.length) {
      return { kind: 'reload', reason: `no free server slot in ${s.backend} (${pending.length} new, ${free.length} free)` };
    }
    pending.forEach((sv, i) => fill(s.backend, free[i] as Slot, sv, commands));
    added += pending.length;
  }
  return { kind: 'runtime', commands, live: out, summary: `servers +${added} -${removed} ~${changed}` };
}

/** `add map` / `del map` / `set map` commands turning one map file's text into another's. */
export function mapCommands(path: string, before: string, after: string): string[] {
  const parse = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const));
  const a = parse(before);
  const b = parse(after);
  const cmds: string[] = [];
  for (const k of a.keys()) if (!b.has(k)) cmds.push(`del map ${path} ${k}`);
  for (const [k, v] of b) {
    if (!a.has(k)) cmds.push(`add map ${path} ${k} ${v}`);
    else if (a.get(k) !== v) cmds.push(`set map ${path} ${k} ${v}`);
  }
  return cmds;
}

/** The config without its server lines: equal skeletons mean only servers (or map entries) changed. */
export function configSkeleton(config: string): string {
  return config
    .split('\n')
    .filter((l) => !SERVER_LINE.test(l))
    .join('\n');
}

const SERVER_LINE = /^\s+server\s/;
