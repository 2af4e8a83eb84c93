import { MlbError } from '../errors.js';
import { validate } from '../../generated/apps-validator.js';
import type { AppsDocument } from './types.js';

export { appsDocumentSchema } from './apps-schema.js';

/**
 * Only what mlb-ts relies on is constrained; everything else Marathon sends passes through,
 * so a newer Marathon with extra fields is still accepted. The validator is generated from
 * this schema ahead of time (scripts/gen-validator.mjs), so no schema compiles at start.
 */
/** The document as Marathon apps, or E_INPUT_NOT_MARATHON naming the first offending path. */
export function asAppsDocument(doc: unknown, source: string): AppsDocument {
  const v = validate;
  if (v(doc)) {
    const empty = (doc as AppsDocument).apps.findIndex((a) => a.id === '');
    if (empty < 0) return doc as AppsDocument;
    throw new MlbError('E_INPUT_NOT_MARATHON', `${source} is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): /apps/${empty}/id is empty`);
  }
  const err = v.errors?.[0];
  const where = err ? `${err.instancePath || '/'} ${err.message ?? ''}`.trim() : 'unknown';
  throw new MlbError('E_INPUT_NOT_MARATHON', `${source} is not a Marathon apps document (GET /v2/apps?embed=apps.tasks): ${where}`);
}
