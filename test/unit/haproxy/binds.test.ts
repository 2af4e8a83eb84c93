import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { takenBinds, tcpBinds, tryListen } from '../../../src/haproxy/binds.js';
import { freePorts } from '../../helpers/ports.js';

describe('tcpBinds', () => {
  it.each([
    ['an IPv4 address', 'frontend web_1\n  bind 127.0.0.1:10000\n', [{ section: 'web_1', host: '127.0.0.1', port: 10000, addr: '127.0.0.1:10000' }]],
    ['wildcards', 'frontend a\n  bind *:80\n  bind :81\nlisten b\n  bind 0.0.0.0:9090\n', [
      { section: 'a', host: '0.0.0.0', port: 80, addr: '*:80' },
      { section: 'a', host: '0.0.0.0', port: 81, addr: ':81' },
      { section: 'b', host: '0.0.0.0', port: 9090, addr: '0.0.0.0:9090' },
    ]],
    ['IPv6 and address prefixes', 'frontend a\n  bind :::443 v4v6 ssl crt /x.pem\n  bind ipv4@10.0.0.1:82\n  bind ipv6@:83\n', [
      { section: 'a', host: '::', port: 443, addr: ':::443' },
      { section: 'a', host: '10.0.0.1', port: 82, addr: 'ipv4@10.0.0.1:82' },
      { section: 'a', host: '::', port: 83, addr: 'ipv6@:83' },
    ]],
    ['a list of addresses on one line', 'frontend a\n  bind 127.0.0.1:84,127.0.0.2:85\n', [
      { section: 'a', host: '127.0.0.1', port: 84, addr: '127.0.0.1:84' },
      { section: 'a', host: '127.0.0.2', port: 85, addr: '127.0.0.2:85' },
    ]],
    ['what is not one TCP address is left out', 'frontend a\n  bind /run/x.sock\n  bind unix@/run/y.sock\n  bind abns@z\n  bind 127.0.0.1:90-99\n  bind myhost:80\n  bind "${ADDR}:80"\n', []],
    ['binds outside frontends and listens (a backend, global) are left out', 'global\n  bind 1.2.3.4:1\nbackend b\n  bind 1.2.3.4:2\n', []],
  ])('%s', (_name, config, want) => {
    expect(tcpBinds(config)).toEqual(want);
  });
});

describe('takenBinds', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  it('new ports another process listens on, by section; free ones and those of the running config are not', async () => {
    const [taken, free, own] = (await freePorts(3)) as [number, number, number];
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: taken, exclusive: true }, r));
    // `own` stands for a port the running HAProxy holds: never probed, so never blamed
    const ownHolder = createServer();
    servers.push(ownHolder);
    await new Promise<void>((r) => ownHolder.listen({ host: '127.0.0.1', port: own, exclusive: true }, r));
    const running = `frontend old_1\n  bind 127.0.0.1:${own}\n`;
    const config = `frontend old_1\n  bind 127.0.0.1:${own}\nfrontend clash_2\n  bind 127.0.0.1:${taken}\nfrontend fine_3\n  bind 127.0.0.1:${free}\n`;
    const got = await takenBinds(config, running);
    expect([...got.keys()]).toEqual(['clash_2']);
    expect(got.get('clash_2')).toMatch(new RegExp(`cannot bind 127\\.0\\.0\\.1:${taken} .*EADDRINUSE`));
    // the probe let go of the free port
    expect(await tryListen('127.0.0.1', free)).toBeUndefined();
  });
});
