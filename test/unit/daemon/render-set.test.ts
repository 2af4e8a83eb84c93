import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { marathonSourceOf } from '../../../src/daemon/render-set.js';

const dir = mkdtempSync(join(tmpdir(), 'mlb-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('marathonSourceOf: credentials files', () => {
  it.each<[string, 'dcosTokenFile' | 'authCredentialFile', 'token' | 'basic', string, string]>([
    ['a DC/OS token rotated under a running daemon', 'dcosTokenFile', 'token', 'tok1\n', 'tok2\n'],
    ['a Basic credential file whose password changed', 'authCredentialFile', 'basic', 'marathon:one\n', 'marathon:two\n'],
  ])('%s: the next request sends the new one', (name, flag, key, before, after) => {
    const file = join(dir, name.replace(/\W+/g, '-'));
    writeFileSync(file, before);
    const source = marathonSourceOf({ marathon: ['http://127.0.0.1:1'], [flag]: file });
    expect(source.auth?.[key]).toBe(before.trim());
    writeFileSync(file, after);
    expect(source.auth?.[key]).toBe(after.trim());
    // What the daemon does with it: a copy of the source keeps reading the file.
    expect({ ...source, signal: AbortSignal.timeout(1000) }.auth?.[key]).toBe(after.trim());
  });

  it('a file that is unreadable at start is a usage error then', () => {
    expect(() => marathonSourceOf({ marathon: ['http://127.0.0.1:1'], dcosTokenFile: join(dir, 'missing') })).toThrow(/E_USAGE|cannot read --dcos-token-file/);
  });
});
