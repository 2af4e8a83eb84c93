import { spareSlotName } from '../render/haproxy-config.js';
import type { LbModel, Server } from '../model/types.js';
import { addressOf } from './diff.js';

/** A slot's admin state: serving, or in maintenance (a removed task, or a spare slot never used). */
export type SlotState = 'ready' | 'maint';

/** One `server` line of the running HAProxy, and what it currently points at. */
export interface Slot {
  name: string;
  /** ip:port, or undefined for a spare slot never used. */
  addr?: string;
  state: SlotState;
  /** Its weight now (`show servers state`'s srv_uweight): 0 while its task drains. */
  weight: number;
  /**
   * The weight its config line gave it (srv_iweight). In a backend with a static balance
   * algorithm (static-rr, map-based hashing) HAProxy refuses any runtime weight but 0 and this one.
   */
  initialWeight: number;
  checkPort?: number;
  /** Its line has no health check (Server.unchecked); the runtime API can't add one, nor take a checked line's away. */
  unchecked?: true;
}

/** The servers of the running HAProxy, backend by backend, as the runtime API left them. */
export type Live = Map<string, Slot[]>;

/**
 * The weight a server's line in the rendered config gives it, which a reload loads: `weight 0`
 * for a draining task (TASK_KILLING, or the older side of a blue/green deploy), else none,
 * i.e. HAProxy's default 1 (render/haproxy-config.ts, serverLines). The runtime API sets the
 * same, so a slot serves alike whether a reload or a runtime update put its task there.
 */
export function serverWeight(sv: Pick<Server, 'state'>): number {
  return sv.state === 'drain' ? 0 : 1;
}

/** Spare slots render through the same server line, `disabled`, with no weight. */
const SPARE_WEIGHT = 1;

/** The layout a reload of this model creates: its servers, then the spare slots. */
export function liveAfterReload(model: LbModel, spareSlots: number): Live {
  const live: Live = new Map();
  for (const s of model.services) {
    const slots: Slot[] = s.servers.map((sv) => {
      const weight = serverWeight(sv);
      return { name: sv.name, addr: addressOf(sv), state: 'ready', weight, initialWeight: weight, ...(sv.checkPort !== undefined ? { checkPort: sv.checkPort } : {}), ...(sv.unchecked ? { unchecked: true } : {}) };
    });
    for (let i = 1; i <= spareSlots; i++) slots.push({ name: spareSlotName(i), state: 'maint', weight: SPARE_WEIGHT, initialWeight: SPARE_WEIGHT });
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

/** Points `slot` at `sv`: address, check port and weight first, then `ready`, so it never serves half set. */
function fill(backend: string, slot: Slot, sv: Server, commands: string[]): void {
  if (slot.addr !== addressOf(sv)) {
    commands.push(`set server ${backend}/${slot.name} addr ${sv.ip} port ${sv.port}`);
    slot.addr = addressOf(sv);
  }
  if (sv.checkPort !== undefined && slot.checkPort !== sv.checkPort) {
    commands.push(`set server ${backend}/${slot.name} check-port ${sv.checkPort}`);
    slot.checkPort = sv.checkPort;
  }
  const weight = serverWeight(sv);
  if (slot.weight !== weight) {
    commands.push(`set server ${backend}/${slot.name} weight ${weight}`);
    slot.weight = weight;
  }
  setState(backend, slot, 'ready', commands);
}

/**
 * Runtime-API commands that bring the running servers to `next`, when only servers changed
 * (the caller checked that nothing else did). New tasks fill free slots (a slot that held
 * the same address first, so a returning task keeps its slot; else one loaded with a weight
 * other than 0, which even a static balance algorithm lets them have), removed ones go to
 * `maint` (their connections finish; no new ones). A slot's weight is the one a reload of the
 * rendered config would give its task: a task that starts or stops draining gets
 * `set server … weight`, as does a task put in a slot loaded with another weight. Not enough
 * free slots in a backend: a reload, with that reason. Pure.
 *
 * `bestEffort` (while a reload waits for its turn): tasks that find no free slot are left for
 * the reload, and the rest still goes through (drains, removals, the tasks that fit).
 *
 * Make before break, backend by backend: servers come up (new tasks in slots that were already
 * free, returning ones, weights raised) before any goes down (drained or removed), and only then
 * do slots freed in this same plan take new tasks. New ready tasks pick slots before new draining
 * ones. A rolling restart (old tasks draining, new ones starting) never leaves a backend without
 * a server between two commands while a slot free before it is left for each new ready task.
 */
export function planServerChanges(live: Live, next: LbModel, opts: { bestEffort?: boolean } = {}): RuntimePlan {
  const out = cloneLive(live);
  const commands: string[] = [];
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const s of next.services) {
    const slots = out.get(s.backend);
    if (!slots) {
      if (opts.bestEffort) continue;
      return { kind: 'reload', reason: `backend ${s.backend} is new` };
    }
    const up: string[] = [];
    const down: string[] = [];
    const refill: string[] = [];
    const wanted = new Map(s.servers.map((sv) => [addressOf(sv), sv]));
    const freedNow = new Set<Slot>();
    for (const slot of slots) {
      if (slot.state !== 'maint' && slot.addr && !wanted.has(slot.addr)) {
        setState(s.backend, slot, 'maint', down);
        freedNow.add(slot);
        removed++;
      }
    }
    const byAddr = new Map(slots.filter((sl) => sl.addr).map((sl) => [sl.addr as string, sl]));
    const pending: Server[] = [];
    for (const sv of s.servers) {
      const slot = byAddr.get(addressOf(sv));
      // A task served unchecked (or one that is checked, on an unchecked line): only a reload writes that line.
      const needsLine = slot ? !!slot.unchecked !== !!sv.unchecked : !!sv.unchecked;
      if (needsLine) {
        if (opts.bestEffort) continue;
        return { kind: 'reload', reason: `${s.backend}/${slot?.name ?? sv.name} is ${sv.unchecked ? 'served without' : 'served with'} a health check now` };
      }
      if (!slot) {
        pending.push(sv);
        continue;
      }
      const was = { state: slot.state, weight: slot.weight };
      fill(s.backend, slot, sv, was.state === 'ready' && serverWeight(sv) < was.weight ? down : up);
      if (was.state === 'maint') added++;
      else if (was.weight !== slot.weight) changed++;
    }
    const isFree = (sl: Slot) => sl.state === 'maint' && !sl.unchecked && !(sl.addr && wanted.has(sl.addr));
    // Slots free before this plan first: one freed by it can only serve after its old task went down.
    const free = [...slots.filter((sl) => isFree(sl) && !freedNow.has(sl)), ...slots.filter((sl) => isFree(sl) && freedNow.has(sl))];
    if (pending.length > free.length && !opts.bestEffort) {
      return { kind: 'reload', reason: `no free server slot in ${s.backend} (${pending.length} new, ${free.length} free)` };
    }
    // Ready tasks choose first (a draining one takes no traffic: it must not take the slot one that serves needs).
    const placed = [...pending.filter((p) => serverWeight(p) !== 0), ...pending.filter((p) => serverWeight(p) === 0)].slice(0, free.length);
    for (const sv of placed) {
      const [slot] = free.splice(slotFor(sv, free, freedNow), 1) as [Slot];
      fill(s.backend, slot, sv, freedNow.has(slot) ? refill : up);
    }
    added += placed.length;
    commands.push(...up, ...down, ...refill);
  }
  return { kind: 'runtime', commands, live: out, summary: `servers +${added} -${removed} ~${changed}` };
}

/**
 * Where in `free` (slots free before this plan first, then those it freed) a new task goes. A ready
 * one: the first loaded with a weight other than 0 (a static balance algorithm refuses any other
 * runtime weight but 0 and the loaded one), else the first. A draining one (weight 0, which every
 * slot takes): a slot freed by this plan, else one loaded at weight 0, else the first.
 */
function slotFor(sv: Server, free: Slot[], freedNow: ReadonlySet<Slot>): number {
  if (serverWeight(sv) !== 0) return Math.max(0, free.findIndex((sl) => sl.initialWeight !== 0));
  const freed = free.findIndex((sl) => freedNow.has(sl));
  if (freed >= 0) return freed;
  const zero = free.findIndex((sl) => sl.initialWeight === 0);
  return Math.max(0, zero);
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
