import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appsDocumentSchema } from '../../../src/marathon/apps-schema.js';
// @ts-expect-error: a plain .mjs script without types
import { GENERATED, generatedValidator } from '../../../scripts/gen-validator.mjs';

describe('generated/apps-validator.js', () => {
  it('is generated from the current schema (run `npm run gen:validator` after changing it)', () => {
    expect(readFileSync(GENERATED as string, 'utf8')).toBe((generatedValidator as (s: unknown) => string)(appsDocumentSchema));
  });
});
