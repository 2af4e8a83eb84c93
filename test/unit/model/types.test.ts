import { describe, expect, it } from 'vitest';
import { warningLine } from '../../../src/model/types.js';

describe('warningLine', () => {
  it.each([
    { case: 'plain', w: { code: 'W_X', appId: '/a', message: 'why' }, line: 'W_X: app /a: why' },
    { case: 'with a label', w: { code: 'E_LABEL_INVALID', appId: '/a', label: 'HAPROXY_0_PORT', message: 'why' }, line: 'E_LABEL_INVALID: app /a HAPROXY_0_PORT: why' },
    { case: 'a line break in the input it quotes stays on one line', w: { code: 'E_HOST_UNRESOLVED', appId: '/a', message: 'agent host bad\nhost does not resolve' }, line: 'E_HOST_UNRESOLVED: app /a: agent host bad\\nhost does not resolve' },
    { case: 'in an app id too, and other control characters', w: { code: 'E_APP_ID_INVALID', appId: '/a\r\u2028b\u0000', message: 'x\ty' }, line: 'E_APP_ID_INVALID: app /a\\r\\u2028b\\u0000: x\\ty' },
  ])('$case', ({ w, line }) => {
    expect(warningLine(w)).toBe(line);
    expect(warningLine(w)).not.toMatch(/[\n\r\u2028]/);
  });
});
