import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonObject } from '../../../src/io/json-object-file.js';
import { keptLabelsContent, keptLabelsPathOf, readKeptLabels } from '../../../src/io/kept-labels-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mlb-kept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kept-labels.json', () => {
  it('sits beside the config; what is written reads back the same, in app id order', () => {
    const path = keptLabelsPathOf(join(dir, 'haproxy.cfg'));
    expect(path).toBe(join(dir, 'kept-labels.json'));
    const kept = new Map([
      ['/b', { labels: { HAPROXY_GROUP: 'external' }, refused: '{"HAPROXY_GROUP":"external","HAPROXY_0_BACKEND_HEAD":"x"}' }],
      ['/a', { labels: {}, refused: '{}' }],
    ]);
    writeJsonObject(path, keptLabelsContent(kept));
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')) as object)).toEqual(['/a', '/b']);
    expect(readKeptLabels(path)).toEqual({ kept: new Map([...kept].sort()) });
  });

  it.each<[string, string | undefined, number, boolean]>([
    ['missing: nothing kept, no error', undefined, 0, false],
    ['not JSON: nothing kept, an error to log', '{', 0, true],
    ['an array: nothing kept, an error', '[]', 0, true],
    ['entries without labels or refused text are skipped', '{"/a":{"labels":{},"refused":"{}"},"/b":{"labels":[]},"/c":null}', 1, false],
  ])('%s', (name, content, n, error) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    if (content !== undefined) writeFileSync(path, content);
    const read = readKeptLabels(path);
    expect(read.kept.size).toBe(n);
    expect(read.error !== undefined).toBe(error);
  });
});
