import { describe, expect, it } from 'vitest';
import { heapIsOurs, keepYoungGenerationSmall } from '../../../src/io/heap.js';

// The flag itself is checked on the built bin (test/integration/cli-bin.test.ts); setting it here would tune the test runner's V8.
describe('keepYoungGenerationSmall', () => {
  it('leaves V8 alone in a process that is not mlb-ts’s own (tests, embedding)', () => {
    expect(keepYoungGenerationSmall('20.20.2')).toBe(false);
  });

  it.each(['22.11.0', '24.1.0', '18.20.0'])('leaves V8 alone on Node %s, whose flags were not measured', (version) => {
    heapIsOurs();
    expect(keepYoungGenerationSmall(version)).toBe(false);
  });
});
