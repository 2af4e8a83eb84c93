import { describe, expect, it } from 'vitest';
import { type Blame, droppedPortLine, droppedPortOf, plainApps } from '../../../src/daemon/narrow.js';
import { buildModel, type ModelOptions } from '../../../src/model/build.js';
const CONFIG = ['global', 'frontend shop_10000', '  bind 127.0.0.1:10000 frobnicate', 'backend shop_10000', '  bogus-directive on', '  server a 10.0.0.1:31000'].join('\n');
const cites = (line: number) => `haproxy -c refused the config: [ALERT] parsing [haproxy.cfg:${line}] : trouble`;
const verbatim: Blame = { suspects: 'verbatim', config: CONFIG };

describe('droppedPortOf: which labels a dropped port names', () => {
  const labels = {
    HAPROXY_GROUP: 'external',
    HAPROXY_0_BIND_ADDR: '127.0.0.1',
    HAPROXY_0_BIND_OPTIONS: 'frobnicate',
    HAPROXY_0_BACKEND_HEAD: 'backend {{backend}}\n  bogus-directive on\n',
    HAPROXY_0_PORT: '10000',
    HAPROXY_0_VHOST: 'shop.example.com',
    HAPROXY_1_BIND_OPTIONS: 'other',
  };
  it.each([
    { case: 'a template line HAProxy cites: that template only', reason: cites(5), blame: verbatim, port: 0, label: 'HAPROXY_0_BACKEND_HEAD' },
    { case: 'a bind line HAProxy cites: the labels whose text is in it', reason: cites(3), blame: verbatim, port: 0, label: 'HAPROXY_0_BIND_ADDR, HAPROXY_0_BIND_OPTIONS' },
    { case: 'no line cited: every label written as is', reason: 'proxy shop_10000 has trouble', blame: verbatim, port: 0, label: 'HAPROXY_0_BACKEND_HEAD, HAPROXY_0_BIND_ADDR, HAPROXY_0_BIND_OPTIONS' },
    { case: 'a cited line none of them wrote: every label written as is', reason: cites(6), blame: verbatim, port: 0, label: 'HAPROXY_0_BACKEND_HEAD, HAPROXY_0_BIND_ADDR, HAPROXY_0_BIND_OPTIONS' },
    { case: 'a port another process holds: its PORT label', reason: 'EADDRINUSE', blame: { suspects: 'port' } as Blame, port: 0, label: 'HAPROXY_0_PORT' },
    { case: 'the labels of that port only', reason: 'x', blame: verbatim, port: 1, label: 'HAPROXY_1_BIND_OPTIONS' },
    { case: 'a port without such labels: none named', reason: 'x', blame: verbatim, port: 2, label: undefined },
  ])('$case', ({ reason, blame, port, label }) => {
    const dropped = droppedPortOf('/shop', labels, port, reason, blame);
    expect(dropped).toEqual({ appId: '/shop', portIndex: port, reason, ...(label ? { label } : {}) });
  });

  it('the warning line carries code, app, label and reason', () => {
    expect(droppedPortLine(droppedPortOf('/shop', labels, 0, cites(5), verbatim))).toBe(`E_HAPROXY_INVALID: app /shop HAPROXY_0_BACKEND_HEAD: port 0 dropped: ${cites(5)}`);
    expect(droppedPortLine(droppedPortOf('/shop', {}, 0, 'why', verbatim))).toBe('E_HAPROXY_INVALID: app /shop: port 0 dropped: why');
  });
});

describe('plainApps: the control apps of narrowing', () => {
  it.each<[string, Omit<ModelOptions, 'reservedPorts'>]>([
    ['one group', { groups: ['external'] }],
    ['several groups', { groups: ['internal', 'external'] }],
    ["'*'", { groups: ['*'] }],
    ['--strict-mode and -H', { groups: ['external'], strictMode: true, healthCheck: true }],
  ])('are rendered with %s: an HTTP service with a vhost and a check, a TCP one with a check', (_, opts) => {
    const { model, warnings } = buildModel(plainApps(opts.groups), { ...opts, reservedPorts: [80, 443, 9090, 9091] });
    expect(warnings).toEqual([]);
    expect(model.services.map((s) => [s.mode, s.vhosts, s.healthCheck?.protocol, s.servers.length])).toEqual([
      ['http', ['mlb-ts-check.invalid'], 'http', 1],
      ['tcp', [], 'tcp', 1],
    ]);
  });
});
