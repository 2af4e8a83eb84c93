import { describe, expect, it } from 'vitest';
import {
  assertSingleLine,
  longestPathPrefix,
  isIpLiteral,
  isIpv4,
  isIpv6,
  isUnspecifiedIp,
  LabelValueError,
  parseAuth,
  parseBalance,
  parseBindAddr,
  parseBool,
  parseInteger,
  parseList,
  parseMode,
  parseNetworks,
  parsePort,
  parsePortIndex,
  parsePathPrefixes,
  parseTimestamp,
  parseUrlPath,
  parseVhosts,
  vhostsWithPort,
  parseAppId,
  parseWord,
  parseWords,
} from '../../../../src/model/labels/values.js';

/** Values every parser must refuse: they would end the config line or start a comment. */
const INJECTIONS: [string, string][] = [
  ['LF', 'a\nb'],
  ['CR', 'a\rb'],
  ['CRLF', 'a\r\nfrontend x'],
  ['vertical tab', 'a\vb'],
  ['form feed', 'a\fb'],
  ['NEL', 'a\u0085b'],
  ['line separator', 'a\u2028b'],
  ['paragraph separator', 'a\u2029b'],
  ['NUL', 'a\u0000b'],
  ['BEL', 'a\u0007b'],
  ['ESC', 'a\u001bb'],
  ['DEL', 'a\u007fb'],
];

/** A value each parser accepts, with `X` where an injection is spliced in. */
const PARSERS: [string, (raw: string) => unknown, string][] = [
  ['parseBool', parseBool, 'trXue'],
  ['parseInteger', parseInteger, '1X2'],
  ['parsePort', parsePort, '80X80'],
  ['parsePortIndex', parsePortIndex, '1X'],
  ['parseMode', parseMode, 'htXtp'],
  ['parseList', parseList, 'a,Xb'],
  ['parseVhosts', parseVhosts, 'a.example.cXom'],
  ['parseUrlPath', parseUrlPath, '/aXb'],
  ['parsePathPrefixes', parsePathPrefixes, '-i /a /bX'],
  ['parseWord', parseWord, '/etc/sXsl.pem'],
  ['parseAppId', parseAppId, '/shXop'],
  ['parseWords', parseWords, 'accept-proxy Xv4v6'],
  ['parseBalance', parseBalance, 'leastXconn'],
  ['parseAuth', parseAuth, 'realm:uXser:$6$salt$hash'],
  ['parseNetworks', parseNetworks, '10.0.0.0/8 X'],
  ['parseBindAddr', parseBindAddr, '127.0.0.1X'],
  ['parseTimestamp', parseTimestamp, '2026-11-01TX10:00:00Z'],
];

const BALANCE_COUNT = 'has a count HAProxy refuses: uri len/depth and random(N) take 1 to 2147483647';
const BALANCE_FORMS = 'is not a balance algorithm HAProxy takes: roundrobin, static-rr, leastconn, first, source, uri [whole|path-only|len N|depth N], url_param NAME [check_post], hdr(NAME) [use_domain_only], random[(N)], rdp-cookie[(NAME)], hash EXPR';

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LabelValueError);
    return (e as Error).message;
  }
  throw new Error('expected a LabelValueError');
}

describe('assertSingleLine', () => {
  it.each(INJECTIONS)('rejects a %s', (_name, raw) => {
    expect(() => assertSingleLine(raw)).toThrow(LabelValueError);
  });

  it.each([['tab', 'a\tb'], ['plain', 'a b c'], ['unicode letters', 'café ünïcödé'], ['empty', '']])('accepts %s', (_name, raw) => {
    expect(() => assertSingleLine(raw)).not.toThrow();
  });

  it("rejects '#' unless allowed", () => {
    expect(reasonOf(() => assertSingleLine('a#b'))).toMatch(/comment/);
    expect(() => assertSingleLine('a#b', true)).not.toThrow();
    expect(reasonOf(() => assertSingleLine('a\n#b', true))).toMatch(/line break/);
  });

  it('names the reason', () => {
    expect(reasonOf(() => assertSingleLine('a\nb'))).toBe('contains a line break, which would inject config');
    expect(reasonOf(() => assertSingleLine('a\u0001b'))).toBe('contains a control character');
  });
});

describe('every parser rejects what would break out of its config line', () => {
  for (const [name, parse, template] of PARSERS) {
    it(`${name}: accepts its sample, rejects every injection and '#'`, () => {
      expect(() => parse(template.replace('X', ''))).not.toThrow();
      for (const [, injected] of [...INJECTIONS, ['hash', '#'] as const]) {
        expect(() => parse(template.replace('X', injected)), JSON.stringify(injected)).toThrow(LabelValueError);
      }
    });
  }
});

describe('parseBool', () => {
  it.each([
    ['true', true], ['TRUE', true], ['True', true], ['t', true], ['T', true], ['yes', true], ['YES', true], ['Yes', true],
    ['y', true], ['Y', true], [' true ', true], ['\ttrue', true],
    ['false', false], ['f', false], ['no', false], ['n', false], ['1', false], ['0', false], ['', false], ['on', false],
    ['truee', false], ['yess', false], ['tru', false], ['enabled', false], ['true false', false],
  ])('%j → %s', (raw, expected) => {
    expect(parseBool(raw)).toBe(expected);
  });
});

describe('parseInteger', () => {
  it.each([['0', 0], ['7', 7], ['-3', -3], [' 12 ', 12], ['007', 7]])('%j → %d', (raw, n) => {
    expect(parseInteger(raw)).toBe(n);
  });
  it.each(['', 'abc', '1.5', '1e3', '+1', '0x10', '1 2', '--1'])('rejects %j', (raw) => {
    expect(reasonOf(() => parseInteger(raw))).toBe('is not an integer');
  });
});

describe('parsePort', () => {
  it.each([['1', 1], ['80', 80], ['10000', 10000], ['65535', 65535], [' 443 ', 443], ['0080', 80]])('%j → %d', (raw, n) => {
    expect(parsePort(raw)).toBe(n);
  });
  it.each([
    ['0', 'is not a port number (1-65535)'],
    ['65536', 'is not a port number (1-65535)'],
    ['99999999', 'is not a port number (1-65535)'],
    ['-1', 'is not a port number'],
    ['abc', 'is not a port number'],
    ['', 'is not a port number'],
    ['80.5', 'is not a port number'],
    ['80 81', 'is not a port number'],
    ['+80', 'is not a port number'],
    ['1e3', 'is not a port number'],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parsePort(raw))).toBe(reason);
  });
});

describe('parsePortIndex', () => {
  it.each([['0', 0], ['3', 3], [' 2 ', 2]])('%j → %d', (raw, n) => {
    expect(parsePortIndex(raw)).toBe(n);
  });
  it.each(['-1', 'one', '', '1.0', '1 2'])('rejects %j', (raw) => {
    expect(reasonOf(() => parsePortIndex(raw))).toBe('is not a port index');
  });
});

describe('parseAppId', () => {
  it.each([['/shop', '/shop'], [' /team/api ', '/team/api'], ['x'.repeat(1000), 'x'.repeat(1000)], ['/café/ünïcode', '/café/ünïcode'], ['/gu\u200cl/te\u200dst', '/gu\u200cl/te\u200dst']])('%j → %j', (raw, id) => {
    expect(parseAppId(raw)).toBe(id);
  });
  it.each([
    ['/two words', 'is not a single word'],
    ['/qu"ote', 'is not a single word'],
    ['', 'is not a single word'],
    ['x'.repeat(1001), 'is longer than 1000 characters'],
    ['/shop\u202e', 'contains an invisible character (U+202E)'],
    ['/sh\u200bop', 'contains an invisible character (U+200B)'],
    ['/shop\u2066x', 'contains an invisible character (U+2066)'],
    ['/shop\u0085x', 'contains a line break, which would inject config'],
    ['/shop\u009bx', 'contains an invisible character (U+009B)'],
  ])('rejects %j: %s', (raw, reason) => {
    expect(reasonOf(() => parseAppId(raw))).toBe(reason);
  });
});

describe('parseMode', () => {
  it.each([['http', 'http'], ['HTTP', 'http'], [' tcp ', 'tcp'], ['Tcp', 'tcp']])('%j → %s', (raw, mode) => {
    expect(parseMode(raw)).toBe(mode);
  });
  it.each(['udp', 'health', '', 'http tcp', 'https'])('rejects %j', (raw) => {
    expect(reasonOf(() => parseMode(raw))).toMatch(/is not a mode/);
  });
});

describe('parseList', () => {
  it.each([
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    [' a , b ,, c ', ['a', 'b', 'c']],
    ['', []],
    [',', []],
  ])('%j → %j', (raw, list) => {
    expect(parseList(raw)).toEqual(list);
  });
});

describe('parseVhosts', () => {
  it.each([
    ['example.com', ['example.com']],
    ['Example.COM', ['example.com']],
    ['a.example.com, b.example.com', ['a.example.com', 'b.example.com']],
    ['A.example.com,a.example.com', ['a.example.com']],
    ['*.example.com', ['*.example.com']],
    ['localhost', ['localhost']],
    ['my_host.example.com', ['my_host.example.com']],
    ['x-1.example.com.', ['x-1.example.com.']],
    ['10.0.0.1', ['10.0.0.1']],
    // marathon-lb apps list host:port entries: the host routes (the caller warns that the port is ignored)
    ['pre1,pre2,pre1:9000', ['pre1', 'pre2']],
    ['a.example.com:80', ['a.example.com']],
  ])('%j → %j', (raw, hosts) => {
    expect(parseVhosts(raw)).toEqual(hosts);
  });

  it.each([
    ['pre1,pre2,pre1:9000', ['pre1:9000']],
    ['a.com', []],
    ['a.com:1,b.com:65535', ['a.com:1', 'b.com:65535']],
  ])('vhostsWithPort(%j) = %j', (raw, ported) => {
    expect(vhostsWithPort(raw)).toEqual(ported);
  });
  it.each([
    ['', 'names no host'],
    [' , ', 'names no host'],
    ['-a.example.com', "'-a.example.com' is not a host name"],
    ['a-.example.com', "'a-.example.com' is not a host name"],
    ['a..example.com', "'a..example.com' is not a host name"],
    ['a example.com', "'a example.com' is not a host name"],
    ['a.example.com:http', "'a.example.com:http' is not a host name"],
    ['a.example.com:123456', "'a.example.com:123456' is not a host name"],
    ['*', "'*' is not a host name"],
    ['a.*.example.com', "'a.*.example.com' is not a host name"],
    ['café.example.com', "'café.example.com' is not a host name"],
    ['a.com,b/c.com', "'b/c.com' is not a host name"],
    ['"a.com"', `'"a.com"' is not a host name`],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parseVhosts(raw))).toBe(reason);
  });
});

describe('parseUrlPath', () => {
  it.each([['/', '/'], ['/api', '/api'], [' /api/v1/ ', '/api/v1/'], ['/a-b_c.d~e%20', '/a-b_c.d~e%20']])('%j → %j', (raw, path) => {
    expect(parseUrlPath(raw)).toBe(path);
  });
  it.each([
    ['api', "does not start with '/'"],
    ['', "does not start with '/'"],
    ['/a b', 'contains a space, quote or backslash'],
    ['/a"b', 'contains a space, quote or backslash'],
    ["/a'b", 'contains a space, quote or backslash'],
    ['/a\\b', 'contains a space, quote or backslash'],
    ['/a\tb', 'contains a space, quote or backslash'],
    ['/a^b', "contains '^', which a URL path can't (percent-encode it: %5E)"],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parseUrlPath(raw))).toBe(reason);
  });
});

describe('parsePathPrefixes (HAPROXY_{n}_PATH: the arguments of path_beg)', () => {
  it.each([
    ['/', '/'],
    ['/api', '/api'],
    [' /api/v1/ ', '/api/v1/'],
    ['/v1 /v2', '/v1 /v2'],
    ['-i /multiple /paths', '-i /multiple /paths'],
    ['  -i   /a\t/b  ', '-i /a /b'],
    ['/a-b_c.d~e%20', '/a-b_c.d~e%20'],
  ])('%j → %j', (raw, path) => {
    expect(parsePathPrefixes(raw)).toBe(path);
  });
  it.each([
    ['', "has no path (a path starts with '/')"],
    ['-i', "has no path (a path starts with '/')"],
    ['api', "'api' does not start with '/'"],
    ['/a api', "'api' does not start with '/'"],
    ['-m /a', "'-m' does not start with '/'"],
    ['/a -i', "'-i' does not start with '/'"],
    ['/a"b', `'/a"b' contains a quote or backslash`],
    ["/a'b", `'/a'b' contains a quote or backslash`],
    ['/a\\b', `'/a\\b' contains a quote or backslash`],
    ['/a#b', "contains '#', which would start a comment"],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parsePathPrefixes(raw))).toBe(reason);
  });
});

describe('longestPathPrefix', () => {
  it.each<[string | undefined, number]>([
    [undefined, 0],
    ['', 0],
    ['/', 1],
    ['/api', 4],
    ['/a /abc/def', 8],
    ['-i /abc /a', 4],
  ])('%j → %d', (path, n) => {
    expect(longestPathPrefix(path)).toBe(n);
  });
});

describe('parseWord', () => {
  it.each([['/etc/ssl/a.pem', '/etc/ssl/a.pem'], [' word ', 'word']])('%j → %j', (raw, word) => {
    expect(parseWord(raw)).toBe(word);
  });
  it.each(['', '  ', 'two words', 'a"b', "a'b", 'a\\b'])('rejects %j', (raw) => {
    expect(reasonOf(() => parseWord(raw))).toBe('is not a single word');
  });
});

describe('parseWords', () => {
  it.each([
    ['accept-proxy', 'accept-proxy'],
    ['  ssl   crt /x.pem\tv4v6 ', 'ssl crt /x.pem v4v6'],
    ['', ''],
  ])('%j → %j', (raw, words) => {
    expect(parseWords(raw)).toBe(words);
  });
  it.each(['accept-proxy "x', "alpn 'h2", 'a\\b'])('rejects %j: HAProxy would read the quote or backslash', (raw) => {
    expect(reasonOf(() => parseWords(raw))).toBe('contains a quote or backslash');
  });
});

describe('parseBalance', () => {
  it.each([
    ['roundrobin', 'roundrobin'],
    ['static-rr', 'static-rr'],
    ['leastconn', 'leastconn'],
    ['first', 'first'],
    ['source', 'source'],
    ['uri', 'uri'],
    ['uri whole', 'uri whole'],
    ['url_param userid', 'url_param userid'],
    ['hdr(host)', 'hdr(host)'],
    ['hdr(User-Agent)  use_domain_only', 'hdr(User-Agent) use_domain_only'],
    ['random', 'random'],
    ['random(2)', 'random(2)'],
    ['rdp-cookie', 'rdp-cookie'],
    ['rdp-cookie(mstshash)', 'rdp-cookie(mstshash)'],
    ['hash req.cookie(id)', 'hash req.cookie(id)'],
    ['hash path,lower', 'hash path,lower'],
    ['uri len 12 depth 3', 'uri len 12 depth 3'],
    ['uri len 2147483647', 'uri len 2147483647'],
    ['random(2147483647)', 'random(2147483647)'],
    ['uri depth 1', 'uri depth 1'],
    ['uri path-only', 'uri path-only'],
    ['url_param userid check_post 64', 'url_param userid check_post 64'],
    [' leastconn ', 'leastconn'],
  ])('%j → %j', (raw, balance) => {
    expect(parseBalance(raw)).toBe(balance);
  });
  it.each([
    ['', BALANCE_FORMS],
    ['round-robin', BALANCE_FORMS],
    ['LEASTCONN', BALANCE_FORMS],
    ['weighted', BALANCE_FORMS],
    ['(x)', BALANCE_FORMS],
    // what HAProxy 2.6 refuses: an algorithm's missing or extra arguments
    ['hdr', BALANCE_FORMS],
    ['hdr(', BALANCE_FORMS],
    ['hdr()', BALANCE_FORMS],
    ['rdp-cookie(', BALANCE_FORMS],
    ['url_param', BALANCE_FORMS],
    ['random(abc)', BALANCE_FORMS],
    ['leastconn(5)', BALANCE_FORMS],
    ['roundrobin extra', BALANCE_FORMS],
    ['uri bogus', BALANCE_FORMS],
    ['uri len', BALANCE_FORMS],
    ['hash', BALANCE_FORMS],
    ['hdr("host)', 'contains a quote or backslash'],
    // counts HAProxy 2.6 refuses ('expects a positive integer', 'number of draws must be at least 1')
    ['random(0)', BALANCE_COUNT],
    ['random(2147483648)', BALANCE_COUNT],
    ['uri len 0', BALANCE_COUNT],
    ['uri depth 0', BALANCE_COUNT],
    ['uri len 4294967296', BALANCE_COUNT],
    ['uri whole len 12 depth 0', BALANCE_COUNT],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parseBalance(raw))).toBe(reason);
  });
});

describe('parseAuth', () => {
  it.each([
    ['realm:user:$6$salt$hash', { realm: 'realm', user: 'user', password: '$6$salt$hash' }],
    ['My Realm:bob:$5$abc$def', { realm: 'My Realm', user: 'bob', password: '$5$abc$def' }],
    ['r:u:pa:ss:word', { realm: 'r', user: 'u', password: 'pa:ss:word' }],
  ])('%j → %j', (raw, auth) => {
    expect(parseAuth(raw)).toEqual(auth);
  });
  it.each([
    ['realm-only', "is not 'realm:user:encrypted-password'"],
    ['realm:user', "is not 'realm:user:encrypted-password'"],
    ['realm:user:', "is not 'realm:user:encrypted-password'"],
    [':user:pw', "is not 'realm:user:encrypted-password'"],
    ['realm::pw', "is not 'realm:user:encrypted-password'"],
    ['',  "is not 'realm:user:encrypted-password'"],
    ['re"alm:user:pw', "realm contains a quote, backslash or '$'"],
    ['re\\alm:user:pw', "realm contains a quote, backslash or '$'"],
    // in double quotes HAProxy expands ${VARIABLES}
    ['${HOME}:user:pw', "realm contains a quote, backslash or '$'"],
    ['realm:us er:pw', 'user or password contains a space, quote or backslash'],
    ['realm:user:p w', 'user or password contains a space, quote or backslash'],
    ['realm:user:p\tw', 'user or password contains a space, quote or backslash'],
    ["realm:bob:p'x", 'user or password contains a space, quote or backslash'],
    ['realm:b"ob:px', 'user or password contains a space, quote or backslash'],
    ['realm:bob:p\\x', 'user or password contains a space, quote or backslash'],
    ['realm:user:$6$a#b', "contains '#', which would start a comment"],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parseAuth(raw))).toBe(reason);
  });
});

describe('IP literals', () => {
  it.each([
    ['0.0.0.0', true], ['10.0.0.1', true], ['255.255.255.255', true], ['192.168.1.10', true],
    ['256.0.0.1', false], ['1.2.3', false], ['1.2.3.4.5', false], ['01.2.3.4', false], ['1.2.3.4 ', false], ['a.b.c.d', false], ['', false],
  ])('isIpv4(%j) = %s', (s, ok) => {
    expect(isIpv4(s)).toBe(ok);
  });

  it.each([
    ['::', true], ['::1', true], ['fe80::1', true], ['2001:db8::', true], ['2001:DB8:0:0:8:800:200C:417A', true],
    ['1:2:3:4:5:6:7:8', true], ['1::8', true], ['::ffff:10.0.0.1', true], ['64:ff9b::192.0.2.33', true], ['1:2:3:4:5:6:1.2.3.4', true],
    ['1:2:3', false], ['1:2:3:4:5:6:7', false], ['1:2:3:4:5:6:7:8:9', false], ['1::2::3', false], [':::', false], ['1:::2', false],
    [':1:2:3:4:5:6:7', false], ['1:2:3:4:5:6:7:', false], ['12345::', false], ['g::1', false], ['fe80::1%eth0', false],
    ['1.2.3.4::', false], ['::1.2.3.4:5', false], ['1:2:3:4:5:6:7:1.2.3.4', false], ['::1.2.3', false], ['10.0.0.1', false], ['', false],
  ])('isIpv6(%j) = %s', (s, ok) => {
    expect(isIpv6(s)).toBe(ok);
  });

  it.each([['10.0.0.1', true], ['::1', true], ['example.com', false], ['10.0.0.0/8', false]])('isIpLiteral(%j) = %s', (s, ok) => {
    expect(isIpLiteral(s)).toBe(ok);
  });
});

describe('parseNetworks', () => {
  it.each([
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
    ['192.168.0.0/16  172.16.0.0/12\t127.0.0.1/32', ['192.168.0.0/16', '172.16.0.0/12', '127.0.0.1/32']],
    ['::1', ['::1']],
    ['fd00::/8', ['fd00::/8']],
    ['2001:db8::/128', ['2001:db8::/128']],
    ['10.0.0.0/8 fd00::/8', ['10.0.0.0/8', 'fd00::/8']],
  ])('%j → %j', (raw, nets) => {
    expect(parseNetworks(raw)).toEqual(nets);
  });
  it.each([
    ['', 'names no network'],
    ['  ', 'names no network'],
    ['10.0.0.0/33', "'10.0.0.0/33' is not an IP address or CIDR"],
    ['fd00::/129', "'fd00::/129' is not an IP address or CIDR"],
    ['10.0.0.0/', "'10.0.0.0/' is not an IP address or CIDR"],
    ['10.0.0.0/8/8', "'10.0.0.0/8/8' is not an IP address or CIDR"],
    ['10.0.0.0/-1', "'10.0.0.0/-1' is not an IP address or CIDR"],
    ['10.0.0.256', "'10.0.0.256' is not an IP address or CIDR"],
    ['example.com', "'example.com' is not an IP address or CIDR"],
    ['10.0.0.0/8,10.1.0.0/16', "'10.0.0.0/8,10.1.0.0/16' is not an IP address or CIDR"],
    ['1:2:3/64', "'1:2:3/64' is not an IP address or CIDR"],
    ['10.0.0.1 all', "'all' is not an IP address or CIDR"],
  ])('rejects %j', (raw, reason) => {
    expect(reasonOf(() => parseNetworks(raw))).toBe(reason);
  });
});

describe('parseBindAddr', () => {
  it.each([['*', '*'], ['0.0.0.0', '0.0.0.0'], [' 127.0.0.1 ', '127.0.0.1'], ['::', '::'], ['::1', '::1'], ['lb.example.com', 'lb.example.com'], ['localhost', 'localhost']])(
    '%j → %j',
    (raw, addr) => {
      expect(parseBindAddr(raw)).toBe(addr);
    },
  );
  it.each(['', '10.0.0.1:80', '1:2:3', 'a b', '-host', 'host-', 'ipv4@10.0.0.1', '*.*', '10.0.0.0/8', '10.0.0.256', '10.0.1', '1234'])('rejects %j', (raw) => {
    expect(reasonOf(() => parseBindAddr(raw))).toBe('is not a bind address');
  });
});

describe('parseTimestamp', () => {
  it('trims and keeps the text', () => {
    expect(parseTimestamp(' 2026-11-01T10:00:00Z ')).toBe('2026-11-01T10:00:00Z');
  });
});

describe('isUnspecifiedIp: the "any" address in every spelling', () => {
  it.each(['0.0.0.0', '::', '::0', '0::', '0:0:0:0:0:0:0:0', '0000::0000', '::0.0.0.0', '0:0:0:0:0:0:0.0.0.0', '::ffff:0.0.0.0', '::FFFF:0:0', '0:0:0:0:0:ffff:0:0'])('%s is', (ip) => {
    expect(isUnspecifiedIp(ip)).toBe(true);
  });
  it.each(['10.0.0.1', '0.0.0.1', '127.0.0.1', '::1', 'fe80::', '::ffff:10.0.0.1', '::ffff:0:1', 'ffff::', '0:0:0:0:ffff:0:0:0', '1::0.0.0.0', 'agent-1', '0', '00.0.0.0'])('%s is not', (ip) => {
    expect(isUnspecifiedIp(ip)).toBe(false);
  });
});
