import { describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { isTransient } from '../../../src/zdd/run.js';

describe('isTransient: what a deploy waits out instead of stopping half-way', () => {
  it.each<[string, unknown, boolean]>([
    ['no Marathon answered', new MlbError('E_MARATHON_UNREACHABLE', 'no Marathon answered (http://m:8080: connect ECONNREFUSED)'), true],
    ['a 503 (a leader election)', new MlbError('E_MARATHON_HTTP', 'no Marathon gave its apps (http://m:8080: http://m:8080/v2/apps?embed=apps.tasks answered HTTP 503)'), true],
    ['a 502 from a proxy', new MlbError('E_MARATHON_HTTP', 'http://m/v2/apps answered HTTP 502'), true],
    ['a 401', new MlbError('E_MARATHON_HTTP', 'http://m/v2/apps answered HTTP 401 (credentials missing or refused: …)'), false],
    ['a 404', new MlbError('E_MARATHON_HTTP', 'http://m/v2/apps answered HTTP 404'), false],
    ['not a Marathon document', new MlbError('E_INPUT_NOT_MARATHON', 'x is not a Marathon apps document'), false],
    ['another error', new Error('boom'), false],
  ])('%s → %s', (_name, e, transient) => {
    expect(isTransient(e)).toBe(transient);
  });
});
