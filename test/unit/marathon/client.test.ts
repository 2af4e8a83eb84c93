import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLine } from '../../../src/errors.js';
import { fakeHost } from '../../helpers/dns.js';
import { rejection } from '../../helpers/models.js';
import { type AppInput, FakeMarathon } from '../../../src/demo/fake-marathon.js';
import { APPS_PATH, authHint, fetchApps, fetchAppsText, isHttpUrl, type MarathonSource } from '../../../src/marathon/client.js';

const tmp = mkdtempSync(join(tmpdir(), 'mlb-ts-client-'));

/** A server that answers every request with `status` and `body`, remembering what it was asked. */
interface Canned {
  url: string;
  requests: { url: string; headers: IncomingHttpHeaders }[];
}
const servers: Server[] = [];
async function canned(status: number, body: string, contentType = 'application/json'): Promise<Canned> {
  const requests: Canned['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    res.writeHead(status, { 'Content-Type': contentType, Connection: 'close' });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const APP: AppInput = { id: '/web', instances: 1, labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port: 10001, name: 'http' }] } as AppInput;
const DOC = JSON.stringify({ apps: [{ id: '/from-file', labels: {}, instances: 0, tasks: [] }] });

let leader: FakeMarathon;
let second: FakeMarathon;
let authed: FakeMarathon;
let dead: string;

beforeAll(async () => {
  leader = await FakeMarathon.start({ apps: [APP], stagingMs: 10 });
  second = await FakeMarathon.start({ apps: [{ ...APP, id: '/second' } as AppInput], stagingMs: 10 });
  authed = await FakeMarathon.start({ apps: [APP], credentials: 'alice:s3cret', redirect: true, stagingMs: 10 });
  // Port 9 (discard): nothing here listens on it, and no test binds it. A port freed for the
  // purpose could be taken meanwhile by a test running beside this one.
  dead = 'http://127.0.0.1:9';
  await Promise.all([leader.settled(), second.settled(), authed.settled()]);
});

afterAll(async () => {
  await Promise.all([leader?.close(), second?.close(), authed?.close()]);
  await Promise.all(
    servers.map((s) => {
      const closed = new Promise<void>((r) => s.close(() => r()));
      s.closeAllConnections();
      return closed;
    }),
  );
  rmSync(tmp, { recursive: true, force: true });
});

const ids = (text: string) => (JSON.parse(text) as { apps: { id: string }[] }).apps.map((a) => a.id);

describe('isHttpUrl', () => {
  it.each([
    ['http://m:8080', true],
    ['HTTPS://m', true],
    ['/etc/apps.json', false],
    ['file:///etc/apps.json', false],
    ['apps.json', false],
  ])('%s → %s', (s, want) => expect(isHttpUrl(s)).toBe(want));
});

describe('fetchAppsText', () => {
  it('a file path: its text, the path as source', async () => {
    const path = join(tmp, 'apps.json');
    writeFileSync(path, DOC);
    expect(await fetchAppsText({ urls: [path] })).toEqual({ bytes: Buffer.from(DOC), source: path });
  });

  it('a file: URL is read as a file', async () => {
    const path = join(tmp, 'apps-url.json');
    writeFileSync(path, DOC);
    expect(await fetchAppsText({ urls: [pathToFileURL(path).href] })).toEqual({ bytes: Buffer.from(DOC), source: path });
  });

  it('a missing file alone → its own E_INPUT_UNREADABLE, the cause in the line', async () => {
    const missing = join(tmp, 'missing.json');
    const e = await rejection(fetchAppsText({ urls: [missing] }));
    expect(e.code).toBe('E_INPUT_UNREADABLE');
    expect(errorLine(e)).toBe(`E_INPUT_UNREADABLE: cannot read ${missing}: ENOENT: no such file or directory, stat '${missing}'`);
  });

  it('a file: URL on another host → E_INPUT_UNREADABLE naming it', async () => {
    const e = await rejection(fetchAppsText({ urls: ['file://otherhost/x.json'] }));
    expect(e.code).toBe('E_INPUT_UNREADABLE');
    expect(errorLine(e)).toMatch(/^E_INPUT_UNREADABLE: cannot read file:\/\/otherhost\/x\.json: File URL host must be "localhost" or empty/);
  });

  // Sources are tried in order (CLI.md): an unreadable file is a failed source like an unreachable URL.
  it.each<[string, (f: { missing: string; file: string }) => string[], string]>([
    ['a missing file, then a URL', (f) => [f.missing, leader.url], '/web'],
    ['a file: URL on another host, then a URL', () => ['file://otherhost/x.json', leader.url], '/web'],
    ['a dead URL, a missing file, then a file', (f) => [dead, f.missing, f.file], '/from-file'],
    ['a missing file, then a file', (f) => [f.missing, f.file], '/from-file'],
  ])('fails over: %s', async (_name, urls, want) => {
    const file = join(tmp, 'failover.json');
    writeFileSync(file, DOC);
    const raw = await fetchAppsText({ urls: urls({ missing: join(tmp, 'missing.json'), file }) });
    expect(ids(raw.bytes.toString())).toEqual([want]);
  });

  it.each<[string, (m: string) => string[], string, RegExp]>([
    ['two missing files', (m) => [m, `${m}.2`], 'E_INPUT_UNREADABLE', /^no --marathon source could be read \((\S+missing\.json): ENOENT: [^;]*'\1'; \1\.2: ENOENT: [^;]*'\1\.2'\)$/],
    ['a dead URL, then a missing file (a file last)', (m) => [dead, m], 'E_INPUT_UNREADABLE', /^no --marathon source could be read \(http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED [^;]+; \S+missing\.json: ENOENT: [^;]+\)$/],
    ['a missing file, then a dead URL (a URL last)', (m) => [m, dead], 'E_MARATHON_UNREACHABLE', /^no --marathon source could be read \(\S+missing\.json: ENOENT: [^;]+; http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED [^;]+\)$/],
    ['a file: URL on another host, then a missing file', (m) => ['file://otherhost/x.json', m], 'E_INPUT_UNREADABLE', /^no --marathon source could be read \(file:\/\/otherhost\/x\.json: File URL host must be [^;]+; \S+missing\.json: ENOENT: [^;]+\)$/],
  ])('none readable (%s): one line listing each failure', async (_name, urls, code, message) => {
    const e = await rejection(fetchAppsText({ urls: urls(join(tmp, 'missing.json')) }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(errorLine(e).split('\n')).toHaveLength(1);
  });

  it('a host name whose every address refuses (an AggregateError): the line names each refusal', async () => {
    const port = Number(new URL(dead).port);
    const restore = fakeHost('marathon.test', ['127.0.0.1', '127.0.0.2']);
    try {
      const e = await rejection(fetchAppsText({ urls: [`http://marathon.test:${port}`] }));
      expect(e.code).toBe('E_MARATHON_UNREACHABLE');
      expect(e.message).toBe(`no Marathon answered (http://marathon.test:${port}: connect ECONNREFUSED 127.0.0.1:${port}, connect ECONNREFUSED 127.0.0.2:${port})`);
    } finally {
      restore();
    }
  });

  it('a URL: GET <base>/v2/apps?embed=apps.tasks, the body as text', async () => {
    const before = leader.requestCount('/v2/apps');
    const raw = await fetchAppsText({ urls: [`${leader.url}/`] });
    expect(raw.source).toBe(`${leader.url}${APPS_PATH}`);
    expect(ids(raw.bytes.toString())).toEqual(['/web']);
    expect((JSON.parse(raw.bytes.toString()) as { apps: { tasks?: unknown[] }[] }).apps[0]?.tasks).toHaveLength(1);
    expect(leader.requestCount('/v2/apps')).toBe(before + 1);
  });

  it('failover order: the first URL that answers wins, later ones are not asked', async () => {
    const before = second.requestCount('/v2/apps');
    expect(ids((await fetchAppsText({ urls: [leader.url, second.url] })).bytes.toString())).toEqual(['/web']);
    expect(second.requestCount('/v2/apps')).toBe(before);
    expect(ids((await fetchAppsText({ urls: [second.url, leader.url] })).bytes.toString())).toEqual(['/second']);
  });

  it('a URL refusing connections: the next one answers', async () => {
    const raw = await fetchAppsText({ urls: [dead, second.url] });
    expect(raw.source).toBe(`${second.url}${APPS_PATH}`);
  });

  it('an HTML error page with status 200 from the first URL: fails over to the second', async () => {
    const proxy = await canned(200, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html');
    const raw = await fetchAppsText({ urls: [proxy.url, leader.url] });
    expect(proxy.requests).toHaveLength(1);
    expect(raw.source).toBe(`${leader.url}${APPS_PATH}`);
    expect(ids(raw.bytes.toString())).toEqual(['/web']);
  });

  it('an HTTP error status from the first URL: fails over to the second', async () => {
    const broken = await canned(503, '{"message":"not the leader"}');
    const raw = await fetchAppsText({ urls: [broken.url, second.url] });
    expect(raw.source).toBe(`${second.url}${APPS_PATH}`);
  });

  it('Basic auth: sent on every request, kept across the redirect to the leader', async () => {
    const src: MarathonSource = { urls: [authed.followerUrl as string], auth: { basic: 'alice:s3cret' } };
    const raw = await fetchAppsText(src);
    expect(ids(raw.bytes.toString())).toEqual(['/web']);
    const echo = await canned(200, DOC);
    await fetchAppsText({ urls: [echo.url], auth: { basic: 'alice:s3cret' } });
    expect(echo.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    expect(echo.requests[0]?.url).toBe(APPS_PATH);
  });

  it('a DC/OS token is sent as `Authorization: token=…`', async () => {
    const echo = await canned(200, DOC);
    await fetchAppsText({ urls: [echo.url], auth: { token: 'jwt123' } });
    expect(echo.requests[0]?.headers.authorization).toBe('token=jwt123');
  });

  it.each<[string, (base: string) => string, MarathonSource['auth']]>([
    ['user:password in the URL', (b) => b.replace('http://', 'http://alice:s3cret@'), undefined],
    ['percent-encoded in the URL', (b) => b.replace('http://', 'http://al%69ce:s3cr%65t@'), undefined],
    ['a credential file wins over the URL', (b) => b.replace('http://', 'http://alice:wrong@'), { basic: 'alice:s3cret' }],
  ])("Basic auth from %s: kept across the follower's redirect to the leader", async (_name, url, auth) => {
    const raw = await fetchAppsText({ urls: [url(authed.followerUrl as string)], ...(auth ? { auth } : {}) });
    expect(ids(raw.bytes.toString())).toEqual(['/web']);
    // the source names the URL it came from, without the credentials
    expect(raw.source).toBe(`${authed.followerUrl as string}${APPS_PATH}`);
  });

  it('user:password in the URL: sent as Basic auth (decoded), never in a message', async () => {
    const echo = await canned(200, DOC);
    await fetchAppsText({ urls: [echo.url.replace('http://', 'http://bob:p%40ss%2Fw%3Ard@')] });
    expect(echo.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('bob:p@ss/w:rd').toString('base64')}`);

    const html = await canned(200, '<html></html>', 'text/html');
    const urls = [
      authed.followerUrl as string, // 401 without the right password
      html.url,
      dead,
      authed.url,
    ].map((u) => u.replace('http://', 'http://alice:wr0ng-pa55@'));
    const e = await rejection(fetchAppsText({ urls }));
    expect(e.code).toBe('E_MARATHON_UNREACHABLE');
    expect(e.message).toContain(`${authed.url}${APPS_PATH} answered HTTP 401`);
    expect(e.message).toContain(`${html.url}${APPS_PATH} did not answer JSON`);
    expect(errorLine(e)).not.toMatch(/alice|wr0ng-pa55/);

    const odd = await canned(200, '{"items": []}');
    const notMarathon = await rejection(fetchApps({ urls: [odd.url.replace('http://', 'http://alice:wr0ng-pa55@')] }));
    expect(notMarathon.code).toBe('E_INPUT_NOT_MARATHON');
    expect(errorLine(notMarathon)).toContain(odd.url);
    expect(errorLine(notMarathon)).not.toMatch(/alice|wr0ng-pa55/);
  });

  it.each([
    ['no credentials', undefined],
    ['wrong credentials', { basic: 'alice:wrong' }],
  ])('%s → 401 → E_MARATHON_HTTP, with a hint at the credential flags', async (_name, auth) => {
    const e = await rejection(fetchAppsText({ urls: [authed.url], ...(auth ? { auth } : {}) }));
    expect(e.code).toBe('E_MARATHON_HTTP');
    expect(e.message).toBe(`no Marathon gave its apps (${authed.url}: ${authed.url}${APPS_PATH} answered HTTP 401 (credentials missing or refused: --marathon-auth-credential-file, --auth-credentials, or --dcos-token-file on DC/OS))`);
  });

  it.each<[string, () => Promise<string[]>, string]>([
    ['two URLs answering 500', async () => [(await canned(500, 'oops')).url, (await canned(503, 'busy')).url], 'E_MARATHON_HTTP'],
    ['an HTML page', async () => [(await canned(200, '<html></html>', 'text/html')).url], 'E_INPUT_NOT_JSON'],
    ['an HTTP error and an HTML page', async () => [(await canned(500, 'oops')).url, (await canned(200, '<html></html>', 'text/html')).url], 'E_MARATHON_UNREACHABLE'],
    ['an HTTP error and a refused connection', async () => [(await canned(500, 'oops')).url, dead], 'E_MARATHON_UNREACHABLE'],
  ])('every URL failing: %s → %s', async (_name, urls, code) => {
    const e = await rejection(fetchAppsText({ urls: await urls() }));
    expect(e.code).toBe(code);
  });

  it("E_MARATHON_UNREACHABLE lists every URL's failure, in order", async () => {
    const html = await canned(200, '<!doctype html><p>maintenance</p>', 'text/html');
    const down = await canned(500, 'oops');
    const e = await rejection(fetchAppsText({ urls: [dead, html.url, down.url] }));
    expect(e.code).toBe('E_MARATHON_UNREACHABLE');
    const failures = /^no Marathon answered \((.*)\)$/.exec(e.message)?.[1]?.split('; ') ?? [];
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatch(new RegExp(`^${dead}: .*ECONNREFUSED`));
    expect(failures[1]).toBe(`${html.url}: ${html.url}${APPS_PATH} did not answer JSON`);
    expect(failures[2]).toBe(`${down.url}: ${down.url}${APPS_PATH} answered HTTP 500`);
  });

  it('a timeout counts as a failure of that URL', async () => {
    const silent = createServer(() => {
      // never answers
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const slowUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const raw = await fetchAppsText({ urls: [slowUrl, second.url], timeoutMs: 200 });
    expect(raw.source).toBe(`${second.url}${APPS_PATH}`);
  });
});

describe('fetchAppsText: the source that answered is asked first next time', () => {
  it('a Marathon that takes connections and never answers is waited for once, not on every sync', async () => {
    let connections = 0;
    const silent = createServer(() => {
      // never answers
    });
    silent.on('connection', () => connections++);
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const src: MarathonSource = { urls: [`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, second.url], timeoutMs: 200 };
    for (let i = 0; i < 3; i++) expect((await fetchAppsText(src)).source).toBe(`${second.url}${APPS_PATH}`);
    expect(connections).toBe(1);
  });

  it('when it stops answering, the others are tried in their order', async () => {
    let healthy = true;
    const toggling = createServer((req, res) => {
      req.resume();
      res.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(DOC);
    });
    servers.push(toggling);
    await new Promise<void>((r) => toggling.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(toggling.address() as AddressInfo).port}`;
    const src: MarathonSource = { urls: [dead, url, leader.url] };
    expect((await fetchAppsText(src)).source).toBe(`${url}${APPS_PATH}`);
    healthy = false;
    expect((await fetchAppsText(src)).source).toBe(`${leader.url}${APPS_PATH}`);
    healthy = true;
    // the leader answered last: asked first now
    expect((await fetchAppsText(src)).source).toBe(`${leader.url}${APPS_PATH}`);
  });
});

describe('fetchApps', () => {
  it('parses the document of the first source that answers', async () => {
    const doc = await fetchApps({ urls: [dead, leader.url] });
    expect(doc.apps.map((a) => a.id)).toEqual(['/web']);
    expect(doc.apps[0]?.tasks).toHaveLength(1);
  });

  it('from a file too', async () => {
    const path = join(tmp, 'doc.json');
    writeFileSync(path, DOC);
    expect((await fetchApps({ urls: [path] })).apps.map((a) => a.id)).toEqual(['/from-file']);
  });

  it('a JSON answer that is not a Marathon document fails at once, without trying the next URL', async () => {
    const odd = await canned(200, '{"items": []}');
    const before = second.requestCount('/v2/apps');
    const e = await rejection(fetchApps({ urls: [odd.url, second.url] }));
    expect(e.code).toBe('E_INPUT_NOT_MARATHON');
    expect(second.requestCount('/v2/apps')).toBe(before);
  });

  it('a file that is read but is no Marathon document fails at once too, without trying the next source', async () => {
    const path = join(tmp, 'items.json');
    writeFileSync(path, '{"items": []}');
    const before = second.requestCount('/v2/apps');
    const e = await rejection(fetchApps({ urls: [join(tmp, 'missing.json'), path, second.url] }));
    expect(e.code).toBe('E_INPUT_NOT_MARATHON');
    expect(second.requestCount('/v2/apps')).toBe(before);
  });

  it('a file that is not JSON → E_INPUT_NOT_JSON', async () => {
    const path = join(tmp, 'not.json');
    writeFileSync(path, 'apps: []');
    expect((await rejection(fetchApps({ urls: [path] }))).code).toBe('E_INPUT_NOT_JSON');
  });

  it('a body that starts like JSON but is not → E_INPUT_NOT_JSON', async () => {
    const truncated = await canned(200, '{"apps": [');
    expect((await rejection(fetchApps({ urls: [truncated.url] }))).code).toBe('E_INPUT_NOT_JSON');
  });
});

describe('authHint', () => {
  it.each([
    [401, /--marathon-auth-credential-file, --auth-credentials, or --dcos-token-file/],
    [403, /\/v2\/apps, and \/v2\/events with --sse/],
    [500, /^$/],
  ])('HTTP %i: %s', (status, hint) => {
    expect(authHint(status)).toMatch(hint);
  });
});
