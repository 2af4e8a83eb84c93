import { describe, expect, it } from 'vitest';
import { assignServerIds, backendName, cleanedUp, cleanIdentifier, fnv1a, uniqueAclNames, serverName, SPARE_ID_BASE, stickyCookie, stripSlash } from '../../../src/model/naming.js';

describe('backendName', () => {
  it.each([
    ['/api/pypi', 3141, 'api_pypi_3141'],
    ['/web', 10000, 'web_10000'],
    ['web', 10000, 'web_10000'],
    ['//double/slash', 1, 'double_slash_1'],
    ['/a.b-c_d', 2, 'a.b-c_d_2'],
    ['/team/app with space', 3, 'team_app_with_space_3'],
    ['/ünï/cödé', 4, '_n__c_d__4'],
    ['/x"y#z', 5, 'x_y_z_5'],
  ])('%j on %d → %s', (appId, port, name) => {
    expect(backendName(appId, port)).toBe(name);
  });
});

describe('identifiers', () => {
  it('cleanedUp and cleanIdentifier agree with their regexp definitions on every UTF-16 unit', () => {
    for (let c = 0; c < 0x10000; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      expect(cleanedUp(s)).toBe(s.replace(/[^A-Za-z0-9]/g, '_'));
      expect(cleanIdentifier(s)).toBe(s.replace(/[^A-Za-z0-9_.:-]/g, '_'));
    }
  });

  it.each([
    ['/a/b', 'a/b'],
    ['///a', 'a'],
    ['a/', 'a/'],
  ])('stripSlash(%j) = %j', (s, out) => {
    expect(stripSlash(s)).toBe(out);
  });

  it.each([
    ['abc_XYZ.09:-', 'abc_XYZ.09:-'],
    ['a b/c#d"e', 'a_b_c_d_e'],
    ['a\nb', 'a_b'],
    ['', ''],
    ['-', '-'],
    ['ü', '_'],
    ['a☃b', 'a_b'],
    ['x😀y', 'x__y'],
    ['[[', '__'],
  ])('cleanIdentifier(%j) = %j', (s, out) => {
    expect(cleanIdentifier(s)).toBe(out);
  });

  it.each([
    ['a.example.com', 'a_example_com'],
    ['/group/app', '_group_app'],
    ['A-b:c', 'A_b_c'],
    ['*.wild.com', '__wild_com'],
    ['10.0.0.1', '10_0_0_1'],
    ['fd00::1', 'fd00__1'],
    ['', ''],
    ['___', '___'],
    ['Zz09', 'Zz09'],
    ['@[`{', '____'],
    ['x😀y', 'x__y'],
  ])('cleanedUp(%j) = %j', (s, out) => {
    expect(cleanedUp(s)).toBe(out);
  });

  it.each([
    ['10.0.0.1', '10.0.0.1', 31000, '10_0_0_1_31000'],
    ['agent-1.example.com', '10.0.0.1', 80, 'agent-1_example_com_10_0_0_1_80'],
    ['agent', 'fd00::1', 8080, 'agent_fd00__1_8080'],
  ])('serverName(%j, %j, %d) = %s', (host, ip, port, name) => {
    expect(serverName(host, ip, port)).toBe(name);
  });
});

describe('stickyCookie', () => {
  it.each([
    ['127_0_0_1_31101', '79f4d33539'],
    ['mlb_spare_1', '70a3c13252'],
  ])('%s → %s (the first 10 hex digits of its SHA-1, the value marathon-lb sets)', (name, cookie) => {
    expect(stickyCookie(name)).toBe(cookie);
  });
});

describe('fnv1a', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('%j = %d (published FNV-1a 32-bit vectors)', (s, h) => {
    expect(fnv1a(s)).toBe(h);
  });

  it('is an unsigned 32-bit integer', () => {
    for (const s of ['x', 'agent|10.0.0.1|31000', '∑ unicode']) {
      const h = fnv1a(s);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});

describe('assignServerIds', () => {
  const servers = Array.from({ length: 200 }, (_, i) => ({ host: `agent-${i % 7}`, ip: `10.0.${i % 7}.1`, port: 31000 + i }));

  it('gives ids in 1..SPARE_ID_BASE, unique within the backend', () => {
    const ids = assignServerIds(servers);
    expect(new Set(ids).size).toBe(servers.length);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(SPARE_ID_BASE);
    }
  });

  it("a server's id depends on its host, IP and port only, not on the others", () => {
    const alone = assignServerIds([servers[42]!]);
    const among = assignServerIds(servers)[42];
    expect(among).toBe(alone[0]);
    expect(assignServerIds([servers[42]!])).toEqual(alone);
    expect(alone[0]).toBe((fnv1a('agent-0|10.0.0.1|31042') % SPARE_ID_BASE) + 1);
  });

  it('a collision probes upwards in server order: the first keeps its hash, the next takes hash+1, then hash+2', () => {
    const s = { host: 'agent', ip: '10.0.0.1', port: 31000 };
    const base = (fnv1a('agent|10.0.0.1|31000') % SPARE_ID_BASE) + 1;
    expect(assignServerIds([s, { ...s }, { ...s }])).toEqual([base, base + 1, base + 2]);
  });

  it("a probe that lands on another server's hash moves that server on too", () => {
    // found by search: these two hash to neighbouring ids
    const x = { host: 'agent', ip: '10.0.1.1', port: 13929 };
    const y = { host: 'agent', ip: '10.0.1.1', port: 59423 };
    expect(assignServerIds([x, y])).toEqual([1084801452, 1084801453]);
    expect(assignServerIds([x, { ...x }, y])).toEqual([1084801452, 1084801453, 1084801454]);
  });
});

describe('uniqueAclNames', () => {
  it('cleans each host up', () => {
    expect(uniqueAclNames(['a.example.com', 'b.example.com'])).toEqual(
      new Map([
        ['a.example.com', 'a_example_com'],
        ['b.example.com', 'b_example_com'],
      ]),
    );
  });

  it('hosts that clean up to the same text get distinct names, in sorted order', () => {
    expect(uniqueAclNames(['a.b.com', 'a-b.com', 'a_b.com'])).toEqual(
      new Map([
        ['a-b.com', 'a_b_com'],
        ['a.b.com', 'a_b_com_2'],
        ['a_b.com', 'a_b_com_3'],
      ]),
    );
  });

  it('a host whose own name looks like a suffixed one does not collide', () => {
    const names = uniqueAclNames(['a-b.com', 'a.b.com', 'a.b.com-2']);
    expect(new Set(names.values()).size).toBe(3);
  });

  it('does not depend on input order or duplicates', () => {
    const hosts = ['x.y', 'x-y', 'x_y', 'a.b', 'x.y'];
    expect(uniqueAclNames(hosts)).toEqual(uniqueAclNames([...hosts].reverse()));
    expect(uniqueAclNames(hosts).size).toBe(4);
  });

  it('names stay unique for every host built from a colliding alphabet', () => {
    const alphabet = ['a', '.', '-', '_', '2'];
    const hosts: string[] = [];
    const grow = (prefix: string) => {
      if (prefix.length === 4) return void hosts.push(`h${prefix}`);
      for (const c of alphabet) grow(prefix + c);
    };
    grow('');
    const names = uniqueAclNames(hosts);
    expect(names.size).toBe(alphabet.length ** 4);
    expect(new Set(names.values()).size).toBe(names.size);
    for (const n of names.values()) expect(n).toMatch(/^[A-Za-z0-9_]+$/);
  });
});
