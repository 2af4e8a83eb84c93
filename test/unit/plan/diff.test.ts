import { describe, expect, it } from 'vitest';
import type { LbModel } from '../../../src/model/types.js';
import { model, server, service } from '../../helpers/models.js';
import { addressOf, describeDiff, diffModels, isEmptyDiff, type ModelDiff } from '../../../src/plan/diff.js';

const EMPTY: ModelDiff = { addedBackends: [], removedBackends: [], changedBackends: [], servers: [] };

const a1 = server('10.0.0.1', 31000);
const a2 = server('10.0.0.2', 31000);
const a3 = server('10.0.0.3', 31000);

describe('addressOf', () => {
  it('is ip:port', () => expect(addressOf({ ip: '10.1.2.3', port: 8080 })).toBe('10.1.2.3:8080'));
});

describe('diffModels', () => {
  const cases: [string, LbModel, LbModel, ModelDiff][] = [
    ['identical models', model(service('web', [a1, a2])), model(service('web', [a1, a2])), EMPTY],
    ['both empty', model(), model(), EMPTY],
    ['a backend added', model(service('web', [a1])), model(service('api', [a2]), service('web', [a1])), { ...EMPTY, addedBackends: ['api'] }],
    ['a backend removed', model(service('api', [a2]), service('web', [a1])), model(service('web', [a1])), { ...EMPTY, removedBackends: ['api'] }],
    [
      'a backend renamed is one removed and one added',
      model(service('old', [a1])),
      model(service('new', [a1])),
      { ...EMPTY, addedBackends: ['new'], removedBackends: ['old'] },
    ],
    ['a setting changed (balance)', model(service('web', [a1])), model(service('web', [a1], { balance: 'leastconn' })), { ...EMPTY, changedBackends: ['web'] }],
    ['a setting changed (vhosts)', model(service('web', [a1])), model(service('web', [a1], { vhosts: ['a.test'] })), { ...EMPTY, changedBackends: ['web'] }],
    ['a setting changed (service port)', model(service('web', [a1])), model(service('web', [a1], { servicePort: 10001 })), { ...EMPTY, changedBackends: ['web'] }],
    ['sourceAppIds alone is not a settings change', model(service('web', [a1])), model(service('web', [a1], { sourceAppIds: ['/web-blue', '/web-green'] })), EMPTY],
    ['a server added', model(service('web', [a1])), model(service('web', [a1, a2])), { ...EMPTY, servers: [{ backend: 'web', added: [a2], removed: [], changed: [] }] }],
    ['a server removed', model(service('web', [a1, a2])), model(service('web', [a1])), { ...EMPTY, servers: [{ backend: 'web', added: [], removed: [a2], changed: [] }] }],
    [
      'a server replaced by another address',
      model(service('web', [a1, a2])),
      model(service('web', [a1, a3])),
      { ...EMPTY, servers: [{ backend: 'web', added: [a3], removed: [a2], changed: [] }] },
    ],
    [
      'ready → drain',
      model(service('web', [a1, a2])),
      model(service('web', [a1, { ...a2, state: 'drain' }])),
      { ...EMPTY, servers: [{ backend: 'web', added: [], removed: [], changed: [{ before: a2, after: { ...a2, state: 'drain' } }] }] },
    ],
    [
      'drain → ready',
      model(service('web', [{ ...a1, state: 'drain' }])),
      model(service('web', [a1])),
      { ...EMPTY, servers: [{ backend: 'web', added: [], removed: [], changed: [{ before: { ...a1, state: 'drain' }, after: a1 }] }] },
    ],
    [
      'check port set',
      model(service('web', [a1])),
      model(service('web', [{ ...a1, checkPort: 31001 }])),
      { ...EMPTY, servers: [{ backend: 'web', added: [], removed: [], changed: [{ before: a1, after: { ...a1, checkPort: 31001 } }] }] },
    ],
    [
      'check port changed',
      model(service('web', [{ ...a1, checkPort: 31001 }])),
      model(service('web', [{ ...a1, checkPort: 31002 }])),
      { ...EMPTY, servers: [{ backend: 'web', added: [], removed: [], changed: [{ before: { ...a1, checkPort: 31001 }, after: { ...a1, checkPort: 31002 } }] }] },
    ],
    ['same address, only task id differs: no change', model(service('web', [a1])), model(service('web', [{ ...a1, taskId: 'other' }])), EMPTY],
    ['server order alone: no change', model(service('web', [a1, a2])), model(service('web', [a2, a1])), EMPTY],
    [
      'settings and servers of one backend both change',
      model(service('web', [a1])),
      model(service('web', [a1, a2], { sticky: true })),
      { ...EMPTY, changedBackends: ['web'], servers: [{ backend: 'web', added: [a2], removed: [], changed: [] }] },
    ],
    [
      'servers of an added backend are not a server delta',
      model(),
      model(service('web', [a1, a2])),
      { ...EMPTY, addedBackends: ['web'] },
    ],
    [
      'deltas listed backend by backend',
      model(service('api', [a1]), service('web', [a2])),
      model(service('api', []), service('web', [a2, a3])),
      {
        ...EMPTY,
        servers: [
          { backend: 'api', added: [], removed: [a1], changed: [] },
          { backend: 'web', added: [a3], removed: [], changed: [] },
        ],
      },
    ],
  ];

  it.each(cases)('%s', (_name, prev, next, want) => {
    const d = diffModels(prev, next);
    expect(d).toEqual(want);
    expect(isEmptyDiff(d)).toBe(JSON.stringify(want) === JSON.stringify(EMPTY));
  });

  it('does not modify its inputs', () => {
    const prev = model(service('web', [a1, a2]));
    const next = model(service('web', [a2, a3], { balance: 'source' }), service('api', [a1]));
    const [p, n] = [structuredClone(prev), structuredClone(next)];
    diffModels(prev, next);
    expect(prev).toEqual(p);
    expect(next).toEqual(n);
  });
});

describe('isEmptyDiff', () => {
  it.each([
    ['nothing', EMPTY, true],
    ['an added backend', { ...EMPTY, addedBackends: ['x'] }, false],
    ['a removed backend', { ...EMPTY, removedBackends: ['x'] }, false],
    ['a changed backend', { ...EMPTY, changedBackends: ['x'] }, false],
    ['a server delta', { ...EMPTY, servers: [{ backend: 'x', added: [a1], removed: [], changed: [] }] }, false],
  ] as [string, ModelDiff, boolean][])('%s → %s', (_name, d, want) => expect(isEmptyDiff(d)).toBe(want));
});

describe('describeDiff', () => {
  const delta = (backend: string, added: number, removed: number, changed: number) => ({
    backend,
    added: Array.from({ length: added }, (_, i) => server('10.1.0.1', 1000 + i)),
    removed: Array.from({ length: removed }, (_, i) => server('10.2.0.1', 1000 + i)),
    changed: Array.from({ length: changed }, (_, i) => ({ before: server('10.3.0.1', 1000 + i), after: server('10.3.0.1', 1000 + i, { state: 'drain' }) })),
  });
  it.each([
    ['nothing', EMPTY, 'no model change'],
    ['one added', { ...EMPTY, addedBackends: ['a'] }, 'backends added: a'],
    ['three added: all listed', { ...EMPTY, addedBackends: ['a', 'b', 'c'] }, 'backends added: a, b, c'],
    ['four added: truncated after 3', { ...EMPTY, addedBackends: ['a', 'b', 'c', 'd'] }, 'backends added: a, b, c and 1 more'],
    ['six removed: truncated after 3', { ...EMPTY, removedBackends: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'backends removed: a, b, c and 3 more'],
    ['changed settings', { ...EMPTY, changedBackends: ['x', 'y'] }, 'backend settings changed: x, y'],
    ['server counts summed over backends', { ...EMPTY, servers: [delta('a', 2, 1, 0), delta('b', 1, 0, 3)] }, 'servers +3 -1 ~3 in a, b'],
    [
      'server backends truncated after 3',
      { ...EMPTY, servers: [delta('a', 1, 0, 0), delta('b', 1, 0, 0), delta('c', 0, 1, 0), delta('d', 0, 0, 1), delta('e', 1, 0, 0)] },
      'servers +3 -1 ~1 in a, b, c and 2 more',
    ],
    [
      'every part, in order, separated by "; "',
      { addedBackends: ['n'], removedBackends: ['o'], changedBackends: ['c'], servers: [delta('s', 1, 1, 1)] },
      'backends added: n; backends removed: o; backend settings changed: c; servers +1 -1 ~1 in s',
    ],
  ] as [string, ModelDiff, string][])('%s', (_name, d, want) => expect(describeDiff(d)).toBe(want));

  it('describes what diffModels found', () => {
    const d = diffModels(model(service('web', [a1, a2])), model(service('web', [a1, { ...a2, state: 'drain' }, a3])));
    expect(describeDiff(d)).toBe('servers +1 -0 ~1 in web');
  });
});
