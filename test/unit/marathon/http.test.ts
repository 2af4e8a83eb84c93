import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { displayUrl, type HttpAuth, httpCall, requestTarget } from '../../../src/marathon/http.js';

describe('displayUrl', () => {
  it.each([
    ['http://marathon:8080', 'http://marathon:8080'],
    ['http://alice:s3cret@marathon:8080', 'http://marathon:8080'],
    ['https://alice:s3cret@marathon:8443/service/marathon/v2/apps?embed=apps.tasks', 'https://marathon:8443/service/marathon/v2/apps?embed=apps.tasks'],
    ['HTTP://alice@marathon', 'HTTP://marathon'],
    ['http://:s3cret@marathon', 'http://marathon'],
    ['http://alice:p@ss@marathon:8080/x', 'http://marathon:8080/x'],
    ['http://alice:p%40ss@marathon:8080', 'http://marathon:8080'],
    ['http://marathon:8080/v2/apps?user=a@b', 'http://marathon:8080/v2/apps?user=a@b'],
    ['http://marathon:8080/a@b', 'http://marathon:8080/a@b'],
    ['/etc/apps@1.json', '/etc/apps@1.json'],
    ['file:///tmp/a@b.json', 'file:///tmp/a@b.json'],
  ])('%s → %s', (url, want) => expect(displayUrl(url)).toBe(want));
});

describe('requestTarget', () => {
  it.each<[string, string, HttpAuth | undefined, string, HttpAuth | undefined]>([
    ['no user:password: as given', 'http://m:8080/v2/apps', { token: 't' }, 'http://m:8080/v2/apps', { token: 't' }],
    ['no user:password, no auth', 'http://m:8080/v2/apps', undefined, 'http://m:8080/v2/apps', undefined],
    ["the URL's user:password becomes Basic auth", 'http://alice:s3cret@m:8080/v2/apps', undefined, 'http://m:8080/v2/apps', { basic: 'alice:s3cret' }],
    ['percent-encoding decoded', 'http://al%20ice:p%40ss%2Fw%3Ard@m/', undefined, 'http://m/', { basic: 'al ice:p@ss/w:rd' }],
    ['a stray % taken as written', 'http://alice:100%zz@m/', undefined, 'http://m/', { basic: 'alice:100%zz' }],
    ['a user without a password', 'http://alice@m/', {}, 'http://m/', { basic: 'alice:' }],
    ['an explicit Basic auth (credential file) wins', 'http://alice:s3cret@m/', { basic: 'bob:other' }, 'http://m/', { basic: 'bob:other' }],
    ['a token is kept (and sent instead of Basic auth)', 'http://alice:s3cret@m/', { token: 't' }, 'http://m/', { token: 't', basic: 'alice:s3cret' }],
  ])('%s', (_name, url, auth, wantUrl, wantAuth) => {
    const t = requestTarget(new URL(url), auth);
    expect(t.url.toString()).toBe(wantUrl);
    expect(t.auth).toEqual(wantAuth);
  });
});

describe('httpCall deadline', () => {
  /** A server on loopback that answers 200 and then sends one byte every 50 ms, for at most 10 s. */
  async function dripServer(): Promise<{ url: string; close: () => Promise<void> }> {
    const timers = new Set<NodeJS.Timeout>();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let n = 0;
      const t = setInterval(() => {
        if (++n > 200) {
          clearInterval(t);
          res.end();
        } else res.write(' ');
      }, 50);
      timers.add(t);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/`,
      close: () =>
        new Promise((r) => {
          for (const t of timers) clearInterval(t);
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }

  it('an answer that trickles in (never silent long enough to time out) still ends at the deadline', async () => {
    const drip = await dripServer();
    try {
      const t0 = Date.now();
      await expect(httpCall(drip.url, { timeoutMs: 300, deadlineMs: 600 })).rejects.toThrow(/no complete answer within 600 ms/);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await drip.close();
    }
  });
});

describe('httpCall on a kept-alive connection the server has just closed', () => {
  /** A server that, on the second request a connection carries, closes it without an answer (an idle-timeout race). */
  async function closingServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
    let requests = 0;
    const perSocket = new WeakMap<object, number>();
    const server = createServer((req, res) => {
      requests++;
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n > 1) return void req.socket.destroy();
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' }).end(`{"n":${requests}}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/v2/apps`, requests: () => requests, close: () => new Promise((r) => server.close(() => r())) };
  }

  it('a GET is sent again once, on a new connection', async () => {
    const s = await closingServer();
    try {
      expect(JSON.parse((await httpCall(s.url)).body.toString())).toEqual({ n: 1 });
      // The agent reuses the first connection; the server drops it: sent again on a new one.
      expect(JSON.parse((await httpCall(s.url)).body.toString())).toEqual({ n: 3 });
      expect(s.requests()).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('a POST is not sent twice', async () => {
    const s = await closingServer();
    try {
      await httpCall(s.url, { method: 'POST', body: {} });
      await expect(httpCall(s.url, { method: 'POST', body: {} })).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(s.requests()).toBe(2);
    } finally {
      await s.close();
    }
  });
});
