import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonObject } from '../../../src/io/json-object-file.js';
import { readServedLabels, servedLabelsContent, servedLabelsPathOf } from '../../../src/io/served-labels-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mlb-served-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('served-labels.json', () => {
  it('sits beside the config; what is written reads back the same, in app id order', () => {
    const path = servedLabelsPathOf(join(dir, 'haproxy.cfg'));
    expect(path).toBe(join(dir, 'served-labels.json'));
    const served = new Map([
      ['/web', { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test' }, ports: [0, 1] }],
      ['/api', { labels: {}, ports: [0] }],
    ]);
    writeJsonObject(path, servedLabelsContent(served));
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')) as object)).toEqual(['/api', '/web']);
    expect(readServedLabels(path)).toEqual({ served: new Map([...served].sort()) });
  });

  it.each<[string, string | undefined, number, boolean]>([
    ['missing: nothing, no error', undefined, 0, false],
    ['not JSON: nothing, an error to log', '{', 0, true],
    ['an array: nothing, an error', '[]', 0, true],
    ['entries without labels or integer ports are skipped', '{"/a":{"labels":{},"ports":[0]},"/b":{"labels":{},"ports":["0"]},"/c":{"ports":[0]},"/d":null}', 1, false],
  ])('%s', (name, content, n, error) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    if (content !== undefined) writeFileSync(path, content);
    const read = readServedLabels(path);
    expect(read.served.size).toBe(n);
    expect(read.error !== undefined).toBe(error);
  });
});
