import { describe, expect, it } from 'vitest';
import { appSpans } from '../../../src/marathon/app-spans.js';

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
