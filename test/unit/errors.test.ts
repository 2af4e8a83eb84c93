import { describe, expect, it } from 'vitest';
import { causeOf, errorLine, MlbError } from '../../src/errors.js';

/** What Node 20 throws when every address of a host name refuses the connection. */
function refusedEverywhere(port: number, ...ips: string[]): AggregateError {
  const errors = ips.map((ip) => Object.assign(new Error(`connect ECONNREFUSED ${ip}:${port}`), { code: 'ECONNREFUSED' }));
  return Object.assign(new AggregateError(errors, ''), { code: 'ECONNREFUSED' });
}

const withCode = <E extends Error>(e: E, code: string): E => Object.assign(e, { code });

describe('causeOf', () => {
  it.each<[string, unknown, string]>([
    ['an error: its message', new Error('connect ECONNREFUSED 127.0.0.1:1'), 'connect ECONNREFUSED 127.0.0.1:1'],
    ['a message over several lines: one line', new Error('first\n   second\nthird'), 'first second third'],
    ['an AggregateError without a message: its errors', refusedEverywhere(1, '127.0.0.1', '127.0.0.2'), 'connect ECONNREFUSED 127.0.0.1:1, connect ECONNREFUSED 127.0.0.2:1'],
    ['an AggregateError with a message: the message', new AggregateError([new Error('a')], 'all failed'), 'all failed'],
    ['an AggregateError in an AggregateError', new AggregateError([new AggregateError([new Error('a'), new Error('b')], ''), new Error('c')], ''), 'a, b, c'],
    ['an AggregateError whose errors say nothing: its code', withCode(new AggregateError([new Error('')], ''), 'ETIMEDOUT'), 'ETIMEDOUT'],
    ['an AggregateError with no errors and no code', new AggregateError([], ''), 'connection failed'],
    ['an error without a message: its code', withCode(new Error(''), 'EPIPE'), 'EPIPE'],
    ['an error without a message or code: its name', new TypeError(''), 'TypeError'],
    ['an MlbError: its message, without the code', new MlbError('E_MARATHON_HTTP', 'http://m/v2/apps answered HTTP 500'), 'http://m/v2/apps answered HTTP 500'],
    ['a string', 'stream closed', 'stream closed'],
    ['not an error at all', 42, '42'],
  ])('%s', (_name, e, want) => expect(causeOf(e)).toBe(want));
});

describe('errorLine', () => {
  it.each<[string, unknown, string]>([
    ['code, message and cause', new MlbError('E_INPUT_UNREADABLE', 'cannot read /x', { cause: new Error("ENOENT: no such file or directory, open '/x'") }), "E_INPUT_UNREADABLE: cannot read /x: ENOENT: no such file or directory, open '/x'"],
    ['an AggregateError cause says what refused', new MlbError('E_RUNTIME', 'http://lb:9090: no answer', { cause: refusedEverywhere(9090, '127.0.0.1', '127.0.0.2') }), 'E_RUNTIME: http://lb:9090: no answer: connect ECONNREFUSED 127.0.0.1:9090, connect ECONNREFUSED 127.0.0.2:9090'],
    ['a cause that is no Error is left out', new MlbError('E_ZDD', 'stuck', { cause: 'why' }), 'E_ZDD: stuck'],
    ['no MlbError: the cause alone', refusedEverywhere(1, '127.0.0.1'), 'connect ECONNREFUSED 127.0.0.1:1'],
    ['one line', new MlbError('E_HAPROXY_INVALID', 'refused:\n  [ALERT] line 3'), 'E_HAPROXY_INVALID: refused: [ALERT] line 3'],
    ['a cause the message already says is not said again', new MlbError('E_TEMPLATE_INVALID', 'template X from t (marathon-lb): single } at offset 2', { cause: new Error('single } at offset 2') }), 'E_TEMPLATE_INVALID: template X from t (marathon-lb): single } at offset 2'],
    ['nor one the message says over several lines', new MlbError('E_RUNTIME', 'a:\n  b', { cause: new Error('a: b') }), 'E_RUNTIME: a: b'],
    ['a carriage return, NUL or U+2028 it quotes is escaped, not printed', new MlbError('E_TEMPLATE_INVALID', 'template X: near "}\r  mode\u0000\u2028"'), 'E_TEMPLATE_INVALID: template X: near "}\\r  mode\\u0000\\u2028"'],
  ])('%s', (_name, e, want) => expect(errorLine(e)).toBe(want));
});
