import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppInput, FakeMarathon } from '../../../src/demo/fake-marathon.js';
import { errorLine } from '../../../src/errors.js';
import { scaleApp } from '../../../src/zdd/marathon.js';
import { fakeHost } from '../../helpers/dns.js';
import { rejection } from '../../helpers/models.js';
import { freePort } from '../../helpers/ports.js';

const withUser = (url: string, userinfo = 'alice:s3cret') => url.replace('http://', `http://${userinfo}@`);

let authed: FakeMarathon;
let broken: Server;
let brokenUrl: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  authed = await FakeMarathon.start({ credentials: 'alice:s3cret', redirect: true, stagingMs: 10, apps: [{ id: '/web', instances: 1, portDefinitions: [{ port: 10001 }] } as AppInput] });
  broken = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(500, { 'Content-Type': 'application/json', Connection: 'close' });
    res.end('{"message":"oops"}');
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', () => r()));
  brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await authed?.close();
  const closed = new Promise<void>((r) => broken.close(() => r()));
  broken.closeAllConnections();
  await closed;
});

describe('zdd writes to Marathon with user:password in the --marathon URL', () => {
  it("sent as Basic auth, kept across the follower's redirect to the leader", async () => {
    expect(await scaleApp({ urls: [withUser(authed.followerUrl as string)] }, '/web', 2)).toBe('done');
    await authed.waitFor(() => authed.tasks('/web').length === 2, 5000);
  });

  it.each<[string, () => Promise<string[]>, string, (port: string) => string]>([
    ['an HTTP error', async () => [withUser(brokenUrl)], 'E_MARATHON_HTTP', () => `E_MARATHON_HTTP: scale /web to 3: PUT ${brokenUrl}/v2/apps/web answered HTTP 500: oops`],
    [
      'no Marathon answers',
      async () => [withUser(`http://127.0.0.1:${await freePort()}`)],
      'E_MARATHON_UNREACHABLE',
      (port) => `E_MARATHON_UNREACHABLE: PUT /v2/apps/web: no Marathon answered (http://127.0.0.1:${port}/v2/apps/web: connect ECONNREFUSED 127.0.0.1:${port})`,
    ],
  ])('%s: the message shows the URL without user:password', async (_name, urls, code, line) => {
    const given = await urls();
    const e = await rejection(scaleApp({ urls: given }, '/web', 3));
    expect(e.code).toBe(code);
    expect(errorLine(e)).toBe(line(new URL(given[0] as string).port));
  });

  it('the Basic auth header carries the decoded user:password', async () => {
    seen.length = 0;
    await rejection(scaleApp({ urls: [withUser(brokenUrl, 'bob:p%40ss%2Fw%3Ard')] }, '/web', 3));
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('bob:p@ss/w:rd').toString('base64')}`);
  });

  it('a host name whose every address refuses (an AggregateError): the message names each refusal', async () => {
    const port = await freePort();
    const restore = fakeHost('marathon.test', ['127.0.0.1', '127.0.0.2']);
    try {
      const e = await rejection(scaleApp({ urls: [`http://marathon.test:${port}`] }, '/web', 3));
      expect(e.message).toBe(`PUT /v2/apps/web: no Marathon answered (http://marathon.test:${port}/v2/apps/web: connect ECONNREFUSED 127.0.0.1:${port}, connect ECONNREFUSED 127.0.0.2:${port})`);
    } finally {
      restore();
    }
  });
});
