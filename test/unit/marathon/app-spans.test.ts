import { describe, expect, it } from 'vitest';
import { appChunks, appSpans } from '../../../src/marathon/app-spans.js';
import { slimAppsDocument } from '../../../src/marathon/schema.js';

function appsOf(text: string): unknown[] | undefined {
  const bytes = Buffer.from(text);
  const spans = appSpans(bytes);
  if (!spans) return undefined;
  const out: unknown[] = [];
  for (let i = 0; i < spans.length; i += 2) out.push(JSON.parse(bytes.toString('utf8', spans[i], spans[i + 1])));
  return out;
}

const tricky = [
  { id: '/a', labels: { HAPROXY_0_VHOST: 'a.example.com', NOTE: 'braces } ] { [ and "quotes" \\" \\\\' } },
  { id: '/b\\"c', tasks: [{ id: 't1', ports: [31000, 31001] }, { id: 't2', ipAddresses: [{ ipAddress: '10.0.0.1' }] }] },
  { id: '/ünïcode/☃', labels: { X: '\u2028 line separator, \\u escapes \u0001' } },
  { id: '/empty-containers', labels: {}, tasks: [], container: null },
];

describe('appSpans', () => {
  it.each<[string, string]>([
    ['compact', JSON.stringify({ apps: tricky })],
    ['pretty-printed', JSON.stringify({ apps: tricky }, null, 2)],
    ['with tabs and CRLF', JSON.stringify({ apps: tricky }, null, '\t').replace(/\n/g, '\r\n')],
    ['with space around everything', ` \n{ "apps" :\t[ ${tricky.map((a) => JSON.stringify(a)).join(' ,\n ')} ] }\n\n`],
  ])('finds every app of a %s document', (_name, text) => {
    expect(appsOf(text)).toEqual(tricky);
  });

  it('finds no app in an empty list', () => {
    expect(appSpans(Buffer.from('{"apps":[]}'))).toEqual([]);
    expect(appSpans(Buffer.from('{ "apps" : [ ] }'))).toEqual([]);
  });

  it.each<[string, string]>([
    ['another key first', '{"version":1,"apps":[]}'],
    ['another key after', '{"apps":[{"id":"/a"}],"x":1}'],
    ['an element that is not an object', '{"apps":[{"id":"/a"},7]}'],
    ['no apps key', '{"app":{"id":"/a"}}'],
    ['an array', '[{"id":"/a"}]'],
    ['apps that is not an array', '{"apps":{"id":"/a"}}'],
    ['a missing comma', '{"apps":[{"id":"/a"} {"id":"/b"}]}'],
    ['a trailing comma', '{"apps":[{"id":"/a"},]}'],
    ['an unclosed app', '{"apps":[{"id":"/a"'],
    ['an unclosed list', '{"apps":[{"id":"/a"}'],
    ['an unterminated string', '{"apps":[{"id":"/a}]}'],
    ['trailing text', '{"apps":[]} x'],
    ['a byte order mark', '\uFEFF{"apps":[]}'],
    ['empty text', ''],
  ])('gives up on %s (the caller parses the whole text)', (_name, text) => {
    expect(appSpans(Buffer.from(text))).toBeUndefined();
  });
});

/** A compact document of `n` apps of about 1 KB each (several 256 KB stretches). */
function bigDoc(n: number, taskId: (app: number, t: number) => string = (a, t) => `app-${a}.task-${t}`) {
  return {
    apps: Array.from({ length: n }, (_, a) => ({
      id: `/team-${a % 7}/app-${a}`,
      labels: { HAPROXY_GROUP: 'external', NOTE: `"quoted" },{"id":"/not-a-boundary ${a}` },
      tasks: Array.from({ length: 3 }, (_, t) => ({ id: taskId(a, t), host: `10.0.${a % 250}.${t}`, ports: [31000 + t], state: 'TASK_RUNNING', padding: 'x'.repeat(200) })),
    })),
  };
}

function chunkedApps(text: string): unknown[] | undefined {
  const bytes = Buffer.from(text);
  const chunks = appChunks(bytes);
  if (!chunks) return undefined;
  const out: unknown[] = [];
  for (let i = 0; i < chunks.length; i += 2) out.push(...(JSON.parse(`[${bytes.toString('utf8', chunks[i], chunks[i + 1])}]`) as unknown[]));
  return out;
}

describe('appChunks', () => {
  it('cuts a large compact document into stretches of whole apps, in order', () => {
    const doc = bigDoc(2000);
    const text = JSON.stringify(doc);
    const chunks = appChunks(Buffer.from(text)) ?? [];
    expect(chunks.length / 2).toBeGreaterThan(4);
    expect(chunkedApps(text)).toEqual(doc.apps);
  });

  it.each<[string, string, number]>([
    ['an empty list', '{"apps":[]}', 0],
    ['an empty list with space', '{ "apps" : [ ] }\n', 0],
    ['a pretty-printed document (no cut is found: one stretch)', JSON.stringify(bigDoc(300), null, 1), 1],
    ['a small document', JSON.stringify({ apps: tricky }), 1],
  ])('%s', (_name, text, stretches) => {
    expect((appChunks(Buffer.from(text)) ?? []).length / 2).toBe(stretches);
    expect(chunkedApps(text)).toEqual((JSON.parse(text) as { apps: unknown[] }).apps);
  });

  it.each<[string, string]>([
    ['another key first', '{"version":1,"apps":[]}'],
    ['no apps key', '{"app":{"id":"/a"}}'],
    ['not ending in ]}', '{"apps":[{"id":"/a"}],"x":1}x'],
  ])('gives up on %s', (_name, text) => {
    expect(appChunks(Buffer.from(text))).toBeUndefined();
  });
});

describe('slimAppsDocument', () => {
  it('reads a large document whole, in order', () => {
    const doc = bigDoc(2000);
    expect(slimAppsDocument(Buffer.from(JSON.stringify(doc)))?.apps.map((a) => a.id)).toEqual(doc.apps.map((a) => a.id));
  });

  it('still reads every app when a guessed cut falls inside an app (task ids with a slash)', () => {
    const doc = bigDoc(2000, (a, t) => `/weird/task-${a}-${t}`);
    const text = JSON.stringify(doc);
    const bytes = Buffer.from(text);
    const chunks = appChunks(bytes) ?? [];
    // at least one cut lands between two tasks: that stretch does not parse
    const broken = [];
    for (let i = 0; i < chunks.length; i += 2) {
      try {
        JSON.parse(`[${bytes.toString('utf8', chunks[i], chunks[i + 1])}]`);
      } catch {
        broken.push(i);
      }
    }
    expect(broken.length).toBeGreaterThan(0);
    expect(slimAppsDocument(bytes)?.apps.map((a) => a.tasks?.map((t) => t.id))).toEqual(doc.apps.map((a) => a.tasks.map((t) => t.id)));
  });
});
