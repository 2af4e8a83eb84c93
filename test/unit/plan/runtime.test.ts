import { describe, expect, it } from 'vitest';
import { configuredServers } from '../../../src/haproxy/server-state.js';
import { readDefaultTemplates } from '../../../src/io/templates.js';
import type { LbModel, Server } from '../../../src/model/types.js';
import { renderConfig } from '../../../src/render/haproxy-config.js';
import { TemplateSet } from '../../../src/render/templates.js';
import { model, server, service } from '../../helpers/models.js';
import { configSkeleton, liveAfterReload, type Live, mapCommands, planServerChanges, type RuntimePlan, serverWeight, type Slot, type SlotState } from '../../../src/plan/runtime.js';
import { renderOptions } from '../../helpers/render.js';

const a1 = server('10.0.0.1', 31000);
const a2 = server('10.0.0.2', 31000);
const a3 = server('10.0.0.3', 31000);
const a4 = server('10.0.0.4', 31000);

/** What HAProxy does with the commands: the slots as `show servers state` would then show them. */
function applyCommands(live: Live, commands: string[]): Live {
  const out: Live = new Map([...live].map(([b, slots]) => [b, slots.map((s) => ({ ...s }))]));
  for (const c of commands) {
    const m = /^set server ([^/]+)\/(\S+) (addr (\S+) port (\d+)|check-port (\d+)|state (ready|maint)|weight (\d+))$/.exec(c);
    if (!m) throw new Error(`not a runtime command this test knows: ${c}`);
    const slot = out.get(m[1] as string)?.find((s) => s.name === m[2]);
    if (!slot) throw new Error(`no slot ${m[1]}/${m[2]} for: ${c}`);
    if (m[4]) slot.addr = `${m[4]}:${m[5]}`;
    else if (m[6]) slot.checkPort = Number(m[6]);
    else if (m[7]) slot.state = m[7] as SlotState;
    else slot.weight = Number(m[8]);
  }
  return out;
}

function runtimePlan(p: RuntimePlan): Extract<RuntimePlan, { kind: 'runtime' }> {
  if (p.kind !== 'runtime') throw new Error(`expected a runtime plan, got a reload: ${p.reason}`);
  return p;
}

const spare = (i: number, over: Partial<Slot> = {}): Slot => ({ name: `mlb_spare_${i}`, state: 'maint', weight: 1, initialWeight: 1, ...over });
/** The slot a reload gives `sv` (ready, weight 1), with changes. */
const slotOf = (sv: Server, over: Partial<Slot> = {}): Slot => ({ name: sv.name, addr: `${sv.ip}:${sv.port}`, state: 'ready', weight: 1, initialWeight: 1, ...over });
/** The slot of a task loaded draining: `weight 0` on its line. */
const loadedDraining = (sv: Server, over: Partial<Slot> = {}): Slot => slotOf(sv, { weight: 0, initialWeight: 0, ...over });

describe('liveAfterReload', () => {
  it('lists each backend: its servers in model order (a draining one ready at weight 0), then mlb_spare_1..N in maint', () => {
    const live = liveAfterReload(model(service('api', [a2, { ...a1, state: 'drain', checkPort: 31005 }]), service('web', [])), 3);
    expect([...live.keys()]).toEqual(['api', 'web']);
    expect(live.get('api')).toEqual([
      { name: a2.name, addr: '10.0.0.2:31000', state: 'ready', weight: 1, initialWeight: 1 },
      { name: a1.name, addr: '10.0.0.1:31000', state: 'ready', weight: 0, initialWeight: 0, checkPort: 31005 },
      spare(1),
      spare(2),
      spare(3),
    ]);
    expect(live.get('web')).toEqual([spare(1), spare(2), spare(3)]);
  });

  it('no spare slots: only the servers', () => {
    expect(liveAfterReload(model(service('web', [a1])), 0).get('web')).toEqual([{ name: a1.name, addr: '10.0.0.1:31000', state: 'ready', weight: 1, initialWeight: 1 }]);
  });

  it('each slot has the weight the rendered server line gives it (the default templates)', () => {
    const m = model(service('web_10000', [a1, { ...a2, state: 'drain' }, { ...a3, checkPort: 31009 }, { ...a4, state: 'drain', checkPort: 31009 }]));
    const config = renderConfig(m, new TemplateSet(readDefaultTemplates()), renderOptions({ sslCerts: [], dontBindHttpHttps: true, spareSlots: () => 2 })).config;
    const rendered = configuredServers(config);
    const slots = liveAfterReload(m, 2).get('web_10000') as Slot[];
    expect(slots.map((sl) => [sl.name, rendered.get(`web_10000/${sl.name}`)?.weight])).toEqual(slots.map((sl) => [sl.name, sl.initialWeight]));
    expect(slots.map((sl) => sl.weight)).toEqual([1, 0, 1, 0, 1, 1]);
    expect([a1, { ...a2, state: 'drain' as const }].map(serverWeight)).toEqual([1, 0]);
  });

  it('a task served unchecked has an unchecked slot', () => {
    expect(liveAfterReload(model(service('web', [{ ...a1, unchecked: true }])), 1).get('web')).toEqual([slotOf(a1, { unchecked: true }), spare(1)]);
  });

  it('planning the same model against it changes nothing', () => {
    const m = model(service('web', [a1, { ...a2, state: 'drain', checkPort: 9 }]));
    const p = runtimePlan(planServerChanges(liveAfterReload(m, 2), m));
    expect(p.commands).toEqual([]);
    expect(p.summary).toBe('servers +0 -0 ~0');
  });
});

describe('planServerChanges', () => {
  interface Case {
    name: string;
    live: Live;
    next: LbModel;
    commands: string[];
    summary: string;
    /** Slots of `web` afterwards, when worth spelling out. */
    slots?: Slot[];
  }
  const twoPlusTwo = () => liveAfterReload(model(service('web', [a1, a2])), 2);
  const cases: Case[] = [
    {
      name: 'a new server fills the first free spare slot',
      live: twoPlusTwo(),
      next: model(service('web', [a1, a2, a3])),
      commands: ['set server web/mlb_spare_1 addr 10.0.0.3 port 31000', 'set server web/mlb_spare_1 state ready'],
      summary: 'servers +1 -0 ~0',
      slots: [
        slotOf(a1),
        slotOf(a2),
        spare(1, { addr: '10.0.0.3:31000', state: 'ready' }),
        spare(2),
      ],
    },
    {
      name: 'two new servers fill both spare slots, in order',
      live: twoPlusTwo(),
      next: model(service('web', [a1, a2, a3, a4])),
      commands: [
        'set server web/mlb_spare_1 addr 10.0.0.3 port 31000',
        'set server web/mlb_spare_1 state ready',
        'set server web/mlb_spare_2 addr 10.0.0.4 port 31000',
        'set server web/mlb_spare_2 state ready',
      ],
      summary: 'servers +2 -0 ~0',
    },
    {
      name: 'a removed server goes to maint (its connections finish)',
      live: twoPlusTwo(),
      next: model(service('web', [a1])),
      commands: [`set server web/${a2.name} state maint`],
      summary: 'servers +0 -1 ~0',
      slots: [slotOf(a1), slotOf(a2, { state: 'maint' }), spare(1), spare(2)],
    },
    {
      name: 'a returning address reuses its old slot, not a spare one',
      live: new Map([['web', [slotOf(a1), spare(1), spare(2, { addr: '10.0.0.3:31000' })]]]),
      next: model(service('web', [a1, a3])),
      commands: ['set server web/mlb_spare_2 state ready'],
      summary: 'servers +1 -0 ~0',
    },
    {
      name: 'a removed server coming back: its own slot again, no addr change',
      live: new Map([['web', [slotOf(a1), slotOf(a2, { state: 'maint' }), spare(1)]]]),
      next: model(service('web', [a1, a2])),
      commands: [`set server web/${a2.name} state ready`],
      summary: 'servers +1 -0 ~0',
    },
    {
      name: 'a slot remembered for a returning address is not given to a new one',
      live: new Map([['web', [slotOf(a2, { state: 'maint' }), spare(1)]]]),
      next: model(service('web', [a3, a2])),
      commands: [`set server web/${a2.name} state ready`, 'set server web/mlb_spare_1 addr 10.0.0.3 port 31000', 'set server web/mlb_spare_1 state ready'],
      summary: 'servers +2 -0 ~0',
    },
    {
      name: 'ready → drain: weight 0, as the rendered config has it (not `state drain`)',
      live: twoPlusTwo(),
      next: model(service('web', [a1, { ...a2, state: 'drain' }])),
      commands: [`set server web/${a2.name} weight 0`],
      summary: 'servers +0 -0 ~1',
      slots: [slotOf(a1), slotOf(a2, { weight: 0 }), spare(1), spare(2)],
    },
    {
      name: 'drain → ready, loaded draining (weight 0 on its line): weight 1',
      live: liveAfterReload(model(service('web', [{ ...a1, state: 'drain' }])), 1),
      next: model(service('web', [a1])),
      commands: [`set server web/${a1.name} weight 1`],
      summary: 'servers +0 -0 ~1',
      slots: [loadedDraining(a1, { weight: 1 }), spare(1)],
    },
    {
      name: 'drain → ready, drained at runtime: weight 1',
      live: new Map([['web', [slotOf(a1, { weight: 0 }), spare(1)]]]),
      next: model(service('web', [a1])),
      commands: [`set server web/${a1.name} weight 1`],
      summary: 'servers +0 -0 ~1',
    },
    {
      name: 'a removed draining task: maint, its weight stays 0',
      live: liveAfterReload(model(service('web', [a1, { ...a2, state: 'drain' }])), 1),
      next: model(service('web', [a1])),
      commands: [`set server web/${a2.name} state maint`],
      summary: 'servers +0 -1 ~0',
      slots: [slotOf(a1), loadedDraining(a2, { state: 'maint' }), spare(1)],
    },
    {
      name: 'a new task in a slot loaded draining (no spare slot left): weight 1 before ready',
      live: new Map([['web', [loadedDraining(a1, { state: 'maint' }), loadedDraining(a2, { state: 'maint' })]]]),
      next: model(service('web', [a3])),
      commands: [`set server web/${a1.name} addr 10.0.0.3 port 31000`, `set server web/${a1.name} weight 1`, `set server web/${a1.name} state ready`],
      summary: 'servers +1 -0 ~0',
      slots: [loadedDraining(a1, { addr: '10.0.0.3:31000', weight: 1 }), loadedDraining(a2, { state: 'maint' })],
    },
    {
      name: 'a task back, ready, at the address of a slot loaded draining: that slot, weight 1',
      live: new Map([['web', [loadedDraining(a1, { state: 'maint' }), spare(1)]]]),
      next: model(service('web', [a1])),
      commands: [`set server web/${a1.name} weight 1`, `set server web/${a1.name} state ready`],
      summary: 'servers +1 -0 ~0',
    },
    {
      name: 'new ready tasks take slots loaded at weight 1 first (a static balance algorithm refuses weight 1 on the others)',
      live: new Map([['web', [loadedDraining(a1, { state: 'maint' }), slotOf(a2, { state: 'maint' }), loadedDraining(server('10.0.0.9', 31000), { state: 'maint' }), spare(1)]]]),
      next: model(service('web', [a3, a4, server('10.0.0.5', 31000)])),
      commands: [
        `set server web/${a2.name} addr 10.0.0.3 port 31000`,
        `set server web/${a2.name} state ready`,
        'set server web/mlb_spare_1 addr 10.0.0.4 port 31000',
        'set server web/mlb_spare_1 state ready',
        `set server web/${a1.name} addr 10.0.0.5 port 31000`,
        `set server web/${a1.name} weight 1`,
        `set server web/${a1.name} state ready`,
      ],
      summary: 'servers +3 -0 ~0',
    },
    {
      name: 'a new draining task takes the first free slot, at weight 0',
      live: new Map([['web', [slotOf(a1), loadedDraining(a2, { state: 'maint' }), spare(1)]]]),
      next: model(service('web', [a1, { ...a3, state: 'drain' }])),
      commands: [`set server web/${a2.name} addr 10.0.0.3 port 31000`, `set server web/${a2.name} state ready`],
      summary: 'servers +1 -0 ~0',
      slots: [slotOf(a1), loadedDraining(a2, { addr: '10.0.0.3:31000' }), spare(1)],
    },
    {
      name: 'a check port set on a running server',
      live: twoPlusTwo(),
      next: model(service('web', [a1, { ...a2, checkPort: 31009 }])),
      commands: [`set server web/${a2.name} check-port 31009`],
      summary: 'servers +0 -0 ~0',
    },
    {
      name: 'a new server with a check port and in drain',
      live: twoPlusTwo(),
      next: model(service('web', [a1, a2, { ...a3, checkPort: 31001, state: 'drain' }])),
      commands: ['set server web/mlb_spare_1 addr 10.0.0.3 port 31000', 'set server web/mlb_spare_1 check-port 31001', 'set server web/mlb_spare_1 weight 0', 'set server web/mlb_spare_1 state ready'],
      summary: 'servers +1 -0 ~0',
    },
    {
      name: 'no spare slots: a replaced server frees the slot its successor takes',
      live: liveAfterReload(model(service('web', [a1, a2])), 0),
      next: model(service('web', [a1, a3])),
      commands: [`set server web/${a2.name} state maint`, `set server web/${a2.name} addr 10.0.0.3 port 31000`, `set server web/${a2.name} state ready`],
      summary: 'servers +1 -1 ~0',
      slots: [slotOf(a1), slotOf(a2, { addr: '10.0.0.3:31000' })],
    },
    {
      name: 'a rolling restart: the new tasks come up in spare slots before the old ones drain',
      live: twoPlusTwo(),
      next: model(service('web', [{ ...a1, state: 'drain' }, { ...a2, state: 'drain' }, a3, a4])),
      commands: [
        'set server web/mlb_spare_1 addr 10.0.0.3 port 31000',
        'set server web/mlb_spare_1 state ready',
        'set server web/mlb_spare_2 addr 10.0.0.4 port 31000',
        'set server web/mlb_spare_2 state ready',
        `set server web/${a1.name} weight 0`,
        `set server web/${a2.name} weight 0`,
      ],
      summary: 'servers +2 -0 ~2',
    },
    {
      name: 'every task replaced: the new ones take the spare slots, not the slots freed, and come up first',
      live: twoPlusTwo(),
      next: model(service('web', [a3, a4])),
      commands: [
        'set server web/mlb_spare_1 addr 10.0.0.3 port 31000',
        'set server web/mlb_spare_1 state ready',
        'set server web/mlb_spare_2 addr 10.0.0.4 port 31000',
        'set server web/mlb_spare_2 state ready',
        `set server web/${a1.name} state maint`,
        `set server web/${a2.name} state maint`,
      ],
      summary: 'servers +2 -2 ~0',
    },
    {
      name: 'a new draining task and a new ready one: the ready one takes the slot loaded at weight 1, the draining one the slot loaded at 0 (no weight a static algorithm refuses)',
      live: liveAfterReload(model(service('web', [{ ...a1, state: 'drain' }])), 1),
      next: model(service('web', [{ ...a3, state: 'drain' }, a2])),
      commands: [
        'set server web/mlb_spare_1 addr 10.0.0.2 port 31000',
        'set server web/mlb_spare_1 state ready',
        `set server web/${a1.name} state maint`,
        `set server web/${a1.name} addr 10.0.0.3 port 31000`,
        `set server web/${a1.name} state ready`,
      ],
      summary: 'servers +2 -1 ~0',
    },
    {
      name: 'a new draining task does not take the only spare slot from a new ready one',
      live: liveAfterReload(model(service('web', [a1, a2])), 1),
      next: model(service('web', [{ ...server('10.0.0.5', 31000), state: 'drain' }, a3])),
      commands: [
        'set server web/mlb_spare_1 addr 10.0.0.3 port 31000',
        'set server web/mlb_spare_1 state ready',
        `set server web/${a1.name} state maint`,
        `set server web/${a2.name} state maint`,
        `set server web/${a1.name} addr 10.0.0.5 port 31000`,
        `set server web/${a1.name} weight 0`,
        `set server web/${a1.name} state ready`,
      ],
      summary: 'servers +2 -2 ~0',
    },
    {
      name: 'several backends, each planned on its own',
      live: liveAfterReload(model(service('api', [a1]), service('web', [a2])), 1),
      next: model(service('api', []), service('web', [a2, a3])),
      commands: [`set server api/${a1.name} state maint`, 'set server web/mlb_spare_1 addr 10.0.0.3 port 31000', 'set server web/mlb_spare_1 state ready'],
      summary: 'servers +1 -1 ~0',
    },
    {
      name: 'a backend of the live set missing from the model is left alone',
      live: liveAfterReload(model(service('api', [a1]), service('web', [a2])), 1),
      next: model(service('web', [a2])),
      commands: [],
      summary: 'servers +0 -0 ~0',
    },
  ];

  it.each(cases)('$name', ({ live, next, commands, summary, slots }) => {
    const before = structuredClone(live);
    const p = runtimePlan(planServerChanges(live, next));
    expect(p.commands).toEqual(commands);
    expect(p.summary).toBe(summary);
    if (slots) expect(p.live.get('web')).toEqual(slots);
    // The plan leaves its input alone…
    expect(live).toEqual(before);
    // …and what it returns is what its commands do to the running HAProxy.
    expect(p.live).toEqual(applyCommands(live, p.commands));
    // Once applied, the same model needs nothing more.
    expect(runtimePlan(planServerChanges(p.live, next)).commands).toEqual([]);
  });

  /** Whether some slot of `backend` takes new requests: ready, with a weight above 0. */
  const serving = (live: Live, backend: string) => (live.get(backend) ?? []).some((sl) => sl.state === 'ready' && sl.weight > 0);

  it.each([
    ['a rolling restart', twoPlusTwo(), model(service('web', [{ ...a1, state: 'drain' }, { ...a2, state: 'drain' }, a3, a4]))],
    ['every task replaced, spare slots free', twoPlusTwo(), model(service('web', [a3, a4]))],
    ['one task replaced, no spare slot', liveAfterReload(model(service('web', [a1, a2])), 0), model(service('web', [a1, a3]))],
    ['a drain and a new task, one spare slot', liveAfterReload(model(service('web', [a1])), 1), model(service('web', [{ ...a1, state: 'drain' }, a2]))],
    ['scale down to one', twoPlusTwo(), model(service('web', [a2]))],
    ['a new draining and a new ready task, the old ones gone', liveAfterReload(model(service('web', [a1, a2])), 1), model(service('web', [{ ...server('10.0.0.5', 31000), state: 'drain' }, a3]))],
  ])('make before break (%s): a backend serving before and after serves after every command', (_name, live, next) => {
    const p = runtimePlan(planServerChanges(live, next));
    expect(serving(live, 'web') && serving(p.live, 'web')).toBe(true);
    for (let k = 0; k <= p.commands.length; k++) expect(serving(applyCommands(live, p.commands.slice(0, k)), 'web'), `after ${k} of ${p.commands.join('; ')}`).toBe(true);
  });

  it.each([
    ['more new servers than spare slots', twoPlusTwo(), model(service('web', [a1, a2, a3, a4, server('10.0.0.5', 31000)])), 'no free server slot in web (3 new, 2 free)'],
    ['no spare slots at all', liveAfterReload(model(service('web', [a1])), 0), model(service('web', [a1, a2])), 'no free server slot in web (1 new, 0 free)'],
    ['a new backend', liveAfterReload(model(service('web', [a1])), 4), model(service('api', [a2]), service('web', [a1])), 'backend api is new'],
    ['a new task served unchecked (its check port missing): spare slots are checked', liveAfterReload(model(service('web', [a1])), 4), model(service('web', [a1, { ...a2, unchecked: true }])), `web/${a2.name} is served without a health check now`],
    ['a task on an unchecked line replaced by a checked one at the same address', liveAfterReload(model(service('web', [a1, { ...a2, unchecked: true }])), 4), model(service('web', [a1, a2])), `web/${a2.name} is served with a health check now`],
    ['the only free slot is an unchecked line: a checked task does not take it', new Map([['web', [slotOf(a1), slotOf(a2, { state: 'maint', unchecked: true })]]]), model(service('web', [a1, a3])), 'no free server slot in web (1 new, 0 free)'],
  ])('reload: %s', (_name, live, next, reason) => {
    const before = structuredClone(live);
    expect(planServerChanges(live, next)).toEqual({ kind: 'reload', reason });
    expect(live).toEqual(before);
  });

  it.each([
    ['more new servers than spare slots: the ready ones that fit, the old ones drain', twoPlusTwo(), model(service('web', [{ ...a1, state: 'drain' }, { ...a2, state: 'drain' }, a3, a4, server('10.0.0.5', 31000)])), ['10.0.0.3:31000', '10.0.0.4:31000'], 'servers +2 -0 ~2'],
    ['the old ones gone, no spare slot: they leave, the new ones take their slots', liveAfterReload(model(service('web', [a1, a2])), 0), model(service('web', [a3, a4, server('10.0.0.5', 31000)])), ['10.0.0.3:31000', '10.0.0.4:31000'], 'servers +2 -2 ~0'],
    ['a new backend is left for the reload', liveAfterReload(model(service('web', [a1])), 4), model(service('api', [a2]), service('web', [a1, a3])), ['10.0.0.1:31000', '10.0.0.3:31000'], 'servers +1 -0 ~0'],
    ['a task served unchecked is left for the reload; a checked one takes a slot', liveAfterReload(model(service('web', [a1])), 4), model(service('web', [a1, { ...a2, unchecked: true }, a3])), ['10.0.0.1:31000', '10.0.0.3:31000'], 'servers +1 -0 ~0'],
  ])('bestEffort (a reload waits): %s', (_name, live, next, ready, summary) => {
    const p = runtimePlan(planServerChanges(live, next, { bestEffort: true }));
    expect(p.summary).toBe(summary);
    const serving = (p.live.get('web') ?? []).filter((sl) => sl.state === 'ready' && sl.weight > 0).map((sl) => sl.addr);
    expect(serving.sort()).toEqual(ready);
    expect(p.live.has('api')).toBe(false);
  });

  it('a sequence of plans keeps the slots consistent: scale up, down, up again', () => {
    let live = liveAfterReload(model(service('web', [a1])), 3);
    const steps: [Server[], string][] = [
      [[a1, a2, a3], 'servers +2 -0 ~0'],
      [[a1], 'servers +0 -2 ~0'],
      [[a1, a3, a4], 'servers +2 -0 ~0'],
    ];
    for (const [servers, summary] of steps) {
      const p = runtimePlan(planServerChanges(live, model(service('web', servers))));
      expect(p.summary).toBe(summary);
      expect(p.live).toEqual(applyCommands(live, p.commands));
      live = p.live;
    }
    // a3 came back into the slot it had; a4 took the first free one (a2's, a2 being gone).
    expect(live.get('web')).toEqual([
      slotOf(a1),
      spare(1, { addr: '10.0.0.4:31000', state: 'ready' }),
      spare(2, { addr: '10.0.0.3:31000', state: 'ready' }),
      spare(3),
    ]);
  });
});

describe('mapCommands', () => {
  it.each([
    ['identical', 'a.test web_1\n', 'a.test web_1\n', []],
    ['both empty', '', '', []],
    ['an entry added', 'a.test web_1\n', 'a.test web_1\nb.test api_2\n', ['add map /m.map b.test api_2']],
    ['an entry removed', 'a.test web_1\nb.test api_2\n', 'b.test api_2\n', ['del map /m.map a.test']],
    ['a value changed', 'a.test web_1\n', 'a.test web_2\n', ['set map /m.map a.test web_2']],
    ['from nothing', '', 'a.test web_1\n', ['add map /m.map a.test web_1']],
    ['to nothing', 'a.test web_1\n', '', ['del map /m.map a.test']],
    ['blank lines ignored', '\na.test web_1\n\n', 'a.test web_1', []],
    ['a value with spaces is kept whole', 'k v1\n', 'k v 2\n', ['set map /m.map k v 2']],
    ['deletes first, then adds and sets in the new order', 'x 1\ny 2\nz 3\n', 'w 0\ny 9\nz 3\n', ['del map /m.map x', 'add map /m.map w 0', 'set map /m.map y 9']],
  ])('%s', (_name, before, after, want) => expect(mapCommands('/m.map', before, after)).toEqual(want));
});

describe('configSkeleton', () => {
  const config = [
    'global',
    '  server-state-file /x/haproxy.state',
    'defaults',
    '  default-server init-addr none',
    'backend web_10000',
    '  balance roundrobin',
    '  server web_1 10.0.0.1:31000 id 1 check',
    '\tserver web_2 10.0.0.2:31000 id 2 check',
    '  server-template srv 1-3 10.0.0.9:80',
    '  # server commented 10.0.0.3:1',
    'server notindented 1.2.3.4:5',
    '',
  ].join('\n');

  it('drops only indented `server` lines', () => {
    expect(configSkeleton(config)).toBe(
      [
        'global',
        '  server-state-file /x/haproxy.state',
        'defaults',
        '  default-server init-addr none',
        'backend web_10000',
        '  balance roundrobin',
        '  server-template srv 1-3 10.0.0.9:80',
        '  # server commented 10.0.0.3:1',
        'server notindented 1.2.3.4:5',
        '',
      ].join('\n'),
    );
  });

  it('configs that differ only in servers have equal skeletons; any other change shows', () => {
    const other = config.replace('10.0.0.1:31000 id 1', '10.0.0.7:31000 id 7').replace('  server web_2', '  server web_9');
    expect(configSkeleton(other)).toBe(configSkeleton(config));
    expect(configSkeleton(config.replace('roundrobin', 'leastconn'))).not.toBe(configSkeleton(config));
  });
});
