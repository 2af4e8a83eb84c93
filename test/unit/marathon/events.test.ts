import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppInput, FakeMarathon } from '../../../src/demo/fake-marathon.js';
import { backoffMs, eventsUrl, MarathonEventStream, RELEVANT_EVENTS, type StreamHooks, type StreamOptions } from '../../../src/marathon/events.js';
import { fakeHost } from '../../helpers/dns.js';
import { freePort } from '../../helpers/ports.js';

const FILTER = 'event_type=status_update_event&event_type=health_status_changed_event&event_type=api_post_event&event_type=app_terminated_event&event_type=deployment_success';

describe('backoffMs', () => {
  it.each([
    // failures, initial, max, random → ms
    [0, 500, 300_000, 0, 250],
    [0, 500, 300_000, 1, 500],
    [1, 500, 300_000, 0, 500],
    [1, 500, 300_000, 1, 1000],
    [4, 500, 300_000, 1, 8000],
    [4, 500, 300_000, 0.5, 6000],
    [3, 500, 2000, 0, 1000],
    [3, 500, 2000, 1, 2000],
    [10, 500, 2000, 1, 2000],
    [1000, 500, 300_000, 1, 300_000],
    [1000, 500, 300_000, 0, 150_000],
  ])('failures %d, initial %d, cap %d, random %d → %d ms', (failures, initial, max, random, want) => {
    expect(backoffMs(failures, initial, max, () => random)).toBe(want);
  });

  it('with Math.random: between half and all of the capped step', () => {
    for (let failures = 0; failures < 40; failures++) {
      const step = Math.min(60_000, 100 * 2 ** failures);
      const ms = backoffMs(failures, 100, 60_000);
      expect(ms).toBeGreaterThanOrEqual(step / 2);
      expect(ms).toBeLessThanOrEqual(step);
    }
  });
});

describe('eventsUrl', () => {
  it.each([
    ['http://marathon:8080', `http://marathon:8080/v2/events?plan-format=light&${FILTER}`],
    ['http://marathon:8080/', `http://marathon:8080/v2/events?plan-format=light&${FILTER}`],
    ['https://dcos.example/service/marathon//', `https://dcos.example/service/marathon/v2/events?plan-format=light&${FILTER}`],
  ])('%s', (base, want) => expect(eventsUrl(base)).toBe(want));

  it('asks for exactly the relevant event types', () => {
    expect([...RELEVANT_EVENTS]).toEqual(['status_update_event', 'health_status_changed_event', 'api_post_event', 'app_terminated_event', 'deployment_success']);
    expect(new URL(eventsUrl('http://m')).searchParams.getAll('event_type')).toEqual([...RELEVANT_EVENTS]);
  });
});

/** The hooks, recording everything. */
class Recorder implements StreamHooks {
  readonly events: { type: string; data: unknown }[] = [];
  readonly connects: { url: string; at: number; streams?: number }[] = [];
  readonly disconnects: { reason: string; retryInMs: number; at: number }[] = [];
  constructor(private readonly fake?: FakeMarathon) {}
  onEvent(type: string, data: unknown): void {
    this.events.push({ type, data });
  }
  onConnect(url: string): void {
    this.connects.push({ url, at: Date.now(), ...(this.fake ? { streams: this.fake.streamCount } : {}) });
  }
  onDisconnect(reason: string, retryInMs: number): void {
    this.disconnects.push({ reason, retryInMs, at: Date.now() });
  }
  types(): string[] {
    return [...new Set(this.events.map((e) => e.type))].sort();
  }
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hostApp(id: string, extra: Record<string, unknown> = {}): AppInput {
  return { id, instances: 1, portDefinitions: [{ port: 0, name: 'http' }], ...extra } as AppInput;
}

const HEALTH = { protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 1 };

describe('MarathonEventStream against the fake Marathon', () => {
  const fakes: FakeMarathon[] = [];
  let stream: MarathonEventStream | undefined;

  async function fakeMarathon(opts: Parameters<typeof FakeMarathon.start>[0] = {}): Promise<FakeMarathon> {
    const fm = await FakeMarathon.start({ stagingMs: 20, healthyAfterMs: 50, keepAliveMs: 100, ...opts });
    fakes.push(fm);
    return fm;
  }

  function follow(opts: Partial<StreamOptions> & { urls: string[] }, rec: Recorder): MarathonEventStream {
    stream = new MarathonEventStream({ stallTimeoutMs: 5000, maxBackoffMs: 300, initialBackoffMs: 50, ...opts }, rec);
    stream.start();
    return stream;
  }

  afterEach(() => {
    stream?.stop();
    stream = undefined;
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('connects (onConnect once the stream is open) and receives the three relevant event types, parsed', async () => {
    const fm = await fakeMarathon();
    const rec = new Recorder(fm);
    const s = follow({ urls: [fm.url] }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected');
    expect(rec.connects[0]).toMatchObject({ url: fm.url, streams: 1 });
    expect(s.connected).toBe(true);

    fm.addApp(hostApp('/hc', { healthChecks: [HEALTH] }));
    await until(() => rec.types().length === 4, 5000, `four event types (got ${rec.types().join(', ')})`);
    expect(rec.types()).toEqual(['api_post_event', 'deployment_success', 'health_status_changed_event', 'status_update_event']);
    for (const e of rec.events) expect(e.data).toMatchObject({ eventType: e.type });
    expect(rec.events.find((e) => e.type === 'api_post_event')?.data).toMatchObject({ appDefinition: { id: '/hc' } });
    expect(rec.events.find((e) => e.type === 'health_status_changed_event')?.data).toMatchObject({ appId: '/hc', alive: true });
    // Marathon published others too; none reached the hooks
    expect(fm.events().some((e) => e.eventType === 'instance_changed_event')).toBe(true);
    expect(fm.events().some((e) => e.eventType === 'deployment_info')).toBe(true);
    expect(rec.disconnects).toEqual([]);
  });

  it('deleting an app that has no task: app_terminated_event and deployment_success, the only events Marathon sends for it', async () => {
    const fm = await fakeMarathon();
    fm.addApp(hostApp('/idle', { instances: 0 }));
    await fm.settled();
    const rec = new Recorder(fm);
    follow({ urls: [fm.url] }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected');
    fm.removeApp('/idle');
    await until(() => rec.types().includes('app_terminated_event') && rec.types().includes('deployment_success'), 5000, `app_terminated_event and deployment_success (got ${rec.types().join(', ')})`);
    expect(rec.types()).toEqual(['app_terminated_event', 'deployment_success']);
    expect(rec.events.find((e) => e.type === 'app_terminated_event')?.data).toMatchObject({ appId: '/idle' });
  });

  it('reconnects after the streams are dropped (cleanly or abruptly), and events flow again', async () => {
    const fm = await fakeMarathon();
    const rec = new Recorder(fm);
    const s = follow({ urls: [fm.url], random: () => 0 }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected');

    expect(fm.dropStreams()).toBe(1);
    await until(() => rec.connects.length === 2, 5000, 'reconnected after a clean drop');
    expect(rec.disconnects).toHaveLength(1);
    expect(rec.disconnects[0]?.retryInMs).toBe(25); // initial 50 ms, random 0 → half
    expect(rec.connects[1]?.url).toBe(fm.url);

    expect(fm.dropStreams({ abrupt: true })).toBe(1);
    await until(() => rec.connects.length === 3, 5000, 'reconnected after an abrupt drop');
    expect(s.connected).toBe(true);
    // The first stream lived only moments: not healthy, so the backoff grew (see HEALTHY_STREAM_MS).
    expect(rec.disconnects.map((d) => d.retryInMs)).toEqual([25, 50]);

    fm.addApp(hostApp('/after-drop'));
    await until(() => rec.events.some((e) => e.type === 'api_post_event'), 5000, 'an event after reconnecting');
    await fm.waitFor(() => fm.streamCount === 1, 2000);
  });

  it('a stalled stream (no byte, not even keep-alives) is detected and reconnected', async () => {
    const fm = await fakeMarathon({ keepAliveMs: 50 });
    const rec = new Recorder();
    follow({ urls: [fm.url], stallTimeoutMs: 400, maxBackoffMs: 100 }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected');
    // keep-alives keep it alive well past the stall timeout
    await sleep(900);
    expect(rec.disconnects).toEqual([]);

    const stalledAt = Date.now();
    fm.stall(1500);
    await until(() => rec.disconnects.length > 0, 3000, 'stall detected');
    expect(rec.disconnects[0]?.reason).toMatch(/^no bytes for \d+ ms \(stalled\)$/);
    expect(rec.disconnects[0]?.at ?? 0).toBeGreaterThanOrEqual(stalledAt + 350);
    await until(() => rec.connects.length === 2, 6000, 'reconnected once the stall ended');
    expect(rec.connects[1]?.at ?? 0).toBeGreaterThanOrEqual(stalledAt + 1400);

    fm.addApp(hostApp('/after-stall'));
    await until(() => rec.events.some((e) => e.type === 'api_post_event' && (e.data as { appDefinition?: { id?: string } }).appDefinition?.id === '/after-stall'), 5000, 'events after the stall');
  });

  it('fails over to the second URL when the first refuses connections, and stays there', async () => {
    const fm = await fakeMarathon();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const rec = new Recorder();
    follow({ urls: [dead, fm.url], random: () => 0 }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected to the second URL');
    expect(rec.connects[0]?.url).toBe(fm.url);
    expect(rec.disconnects).toHaveLength(1);
    expect(rec.disconnects[0]?.reason).toMatch(/ECONNREFUSED|connect/i);

    fm.dropStreams();
    await until(() => rec.connects.length === 2, 5000, 'reconnected');
    expect(rec.connects[1]?.url).toBe(fm.url);
    expect(rec.disconnects).toHaveLength(2);
    expect(rec.disconnects[1]?.reason).not.toMatch(/ECONNREFUSED/);
  });

  it("keeps Basic auth across the follower's 307 redirect to the leader", async () => {
    const fm = await fakeMarathon({ credentials: 'alice:s3cret', redirect: true });
    const follower = fm.followerUrl as string;
    expect(follower).toBeDefined();
    const rec = new Recorder(fm);
    follow({ urls: [follower], auth: { basic: 'alice:s3cret' } }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected through the follower');
    expect(rec.connects[0]).toMatchObject({ url: follower, streams: 1 });
    fm.addApp(hostApp('/authed'));
    await until(() => rec.events.some((e) => e.type === 'api_post_event'), 5000, 'an event');
    expect(rec.disconnects).toEqual([]);
  });

  it.each<[string, string, StreamOptions['auth']]>([
    ['user:password in the URL', 'alice:s3cret@', undefined],
    ['percent-encoded in the URL', 'al%69ce:s3cr%65t@', undefined],
    ['a credential file wins over the URL', 'alice:wr0ng-pa55@', { basic: 'alice:s3cret' }],
  ])("Basic auth from %s: kept across the redirect; onConnect gets the URL without it", async (_name, userinfo, auth) => {
    const fm = await fakeMarathon({ credentials: 'alice:s3cret', redirect: true });
    const follower = fm.followerUrl as string;
    const rec = new Recorder(fm);
    follow({ urls: [follower.replace('http://', `http://${userinfo}`)], ...(auth ? { auth } : {}) }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected through the follower');
    expect(rec.connects[0]).toMatchObject({ url: follower, streams: 1 });
    expect(rec.disconnects).toEqual([]);
  });

  it('a host name whose every address refuses (an AggregateError): the disconnect reason names each refusal', async () => {
    const port = await freePort();
    const restore = fakeHost('marathon.test', ['127.0.0.1', '127.0.0.2']);
    try {
      const rec = new Recorder();
      follow({ urls: [`http://alice:s3cret@marathon.test:${port}`] }, rec);
      await until(() => rec.disconnects.length >= 1, 5000, 'refused');
      expect(rec.disconnects[0]?.reason).toBe(`http://marathon.test:${port}: connect ECONNREFUSED 127.0.0.1:${port}, connect ECONNREFUSED 127.0.0.2:${port}`);
    } finally {
      restore();
    }
  });

  it('without the credentials the leader answers 401: no connect, a disconnect saying so', async () => {
    const fm = await fakeMarathon({ credentials: 'alice:s3cret', redirect: true });
    const rec = new Recorder();
    follow({ urls: [fm.followerUrl as string], random: () => 0 }, rec);
    await until(() => rec.disconnects.length >= 3, 5000, 'refused three times');
    expect(rec.connects).toEqual([]);
    // which Marathon (no credentials in it) and what to check
    expect(rec.disconnects[0]?.reason).toBe(`${fm.followerUrl as string}: Non-200 status code (401) (credentials missing or refused: --marathon-auth-credential-file, --auth-credentials, or --dcos-token-file on DC/OS)`);
    // and it backs off exponentially (initial 50 ms, random 0 → half a step), capped at 300 ms
    expect(rec.disconnects.slice(0, 3).map((d) => d.retryInMs)).toEqual([25, 50, 100]);
  });

  it('stop(): the stream closes and never comes back', async () => {
    const fm = await fakeMarathon();
    const rec = new Recorder();
    const s = follow({ urls: [fm.url] }, rec);
    await until(() => rec.connects.length === 1, 5000, 'connected');
    s.stop();
    expect(s.connected).toBe(false);
    await fm.waitFor(() => fm.streamCount === 0, 2000);
    await sleep(300);
    expect(rec.connects).toHaveLength(1);
    expect(fm.streamCount).toBe(0);
  });
});

describe('MarathonEventStream against a Marathon that does not filter', () => {
  let server: Server;
  let url: string;
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  const open = new Set<ServerResponse>();
  let stream: MarathonEventStream | undefined;

  const FRAMES = [
    'event: deployment_info\ndata: {"eventType":"deployment_info"}\n\n',
    'event: status_update_event\ndata: {"eventType":"status_update_event","taskStatus":"TASK_RUNNING"}\n\n',
    ': a keep-alive comment\n\n',
    'event: instance_changed_event\ndata: {"eventType":"instance_changed_event"}\n\n',
    'data: {"eventType":"unnamed"}\n\n',
    'event: health_status_changed_event\ndata: {"eventType":"health_status_changed_event","alive":false}\n\n',
    'event: api_post_event\ndata: not json at all\n\n',
    'event: event_stream_attached\ndata: {}\n\n',
  ];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      open.add(res);
      res.on('close', () => open.delete(res));
      res.write(FRAMES.join(''));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    stream?.stop();
    for (const r of open) r.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('asks for the filtered stream, passes on only the relevant types, keeps data that is not JSON as text', async () => {
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 300 }, rec);
    stream.start();
    await until(() => rec.events.length >= 3, 5000, 'three events');
    await sleep(200);
    expect(rec.events).toEqual([
      { type: 'status_update_event', data: { eventType: 'status_update_event', taskStatus: 'TASK_RUNNING' } },
      { type: 'health_status_changed_event', data: { eventType: 'health_status_changed_event', alive: false } },
      { type: 'api_post_event', data: 'not json at all' },
    ]);
    expect(requests[0]?.url).toBe(`/v2/events?plan-format=light&${FILTER}`);
    expect(requests[0]?.headers.accept).toMatch(/text\/event-stream/);
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });
});

describe('MarathonEventStream against streams that end soon, or answers that are no stream', () => {
  let server: Server;
  let url: string;
  let stream: MarathonEventStream | undefined;
  /** How the server answers each request. */
  let reply: (res: ServerResponse) => void = () => undefined;
  /** The server's open sockets: what the client leaves open shows here. */
  let openSockets = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => reply(res));
    server.on('connection', (sock) => {
      openSockets++;
      sock.on('close', () => openSockets--);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    stream?.stop();
    stream = undefined;
    server.closeAllConnections();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** An event stream that sends `body` and ends after `holdMs`. */
  const streamFor = (holdMs: number, body = ': hello\n\n') => (res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(body);
    setTimeout(() => res.end(), holdMs);
  };
  const event = 'event: status_update_event\ndata: {"taskStatus":"TASK_RUNNING"}\n\n';

  it.each<[string, (res: ServerResponse) => void, number, number[]]>([
    // random() = 1: each wait is the whole step, 20, 40, 80, 160… capped at 200 (--max-backoff) or, for a stream that opened, at 100 (the healthy time).
    ['opened and closed at once, no event: each reconnect waits longer, but not past the healthy time (Marathon answers)', streamFor(0), 5, [20, 40, 80, 100, 100]],
    ['open longer than a healthy stream: the backoff starts again from its first step', streamFor(150), 3, [20, 20, 20]],
    ['cut soon, but after delivering an event (a proxy capping connection age): the backoff starts again', streamFor(0, event), 4, [20, 20, 20, 20]],
    ['not an event stream (HTTP 503): up to --max-backoff', (res) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end('down'), 5, [20, 40, 80, 160, 200]],
  ])('%s', async (_name, answer, n, waits) => {
    reply = answer;
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 200, initialBackoffMs: 20, random: () => 1, healthyStreamMs: 100 }, rec);
    stream.start();
    await until(() => rec.disconnects.length >= n, 10_000, `${n} disconnects`);
    expect(rec.disconnects.slice(0, n).map((d) => d.retryInMs)).toEqual(waits);
  });

  it.each<[string, (res: ServerResponse) => void]>([
    ['200 with a body that is not an event stream', (res) => res.writeHead(200, { 'Content-Type': 'text/html' }).write('<html>')],
    ['503 with a body that never ends', (res) => res.writeHead(503, { 'Content-Type': 'text/html' }).write('<html>')],
  ])('an answer given up (%s) closes its connection: no socket piles up, and stop() leaves none', async (_name, answer) => {
    reply = answer;
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 20, initialBackoffMs: 10, random: () => 1 }, rec);
    stream.start();
    await until(() => rec.disconnects.length >= 8, 10_000, '8 disconnects');
    expect(rec.disconnects[0]?.reason).toMatch(/Non-200 status code \(503\)|Invalid content type/);
    expect(openSockets).toBeLessThanOrEqual(1);
    stream.stop();
    await until(() => openSockets === 0, 2000, 'no socket left open after stop()');
  });

  it('a content type in capitals (Text/Event-Stream) is an event stream: media types are case-insensitive', async () => {
    reply = (res) => {
      res.writeHead(200, { 'Content-Type': 'Text/Event-Stream; charset=UTF-8' });
      res.write(event);
    };
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 200 }, rec);
    stream.start();
    await until(() => rec.events.length === 1, 5000, 'the event');
    expect(rec.disconnects).toEqual([]);
  });

  it.each<[string, string]>([
    ['a line that never ends', 'event: api_post_event\ndata: ' + 'x'.repeat(5000)],
    ['data lines that no blank line ends', 'event: api_post_event\n' + 'data: xxxxxxxxxx\n'.repeat(400)],
  ])('an event longer than the limit (%s) cuts the stream with one reason, and it is reopened', async (_name, body) => {
    reply = (res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      // In pieces, as a stream would: the limit holds across chunks.
      for (let i = 0; i < body.length; i += 700) res.write(body.slice(i, i + 700));
    };
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 50, initialBackoffMs: 10, maxEventBytes: 4096 }, rec);
    stream.start();
    await until(() => rec.disconnects.length >= 2, 5000, 'two cuts');
    expect(rec.disconnects[0]?.reason).toMatch(/an event longer than 4096 bytes \(no blank line to end it\)$/);
    expect(rec.events).toEqual([]);
    expect(rec.connects.length).toBeGreaterThanOrEqual(2);
  });

  it('events just under the limit, CRLF or LF, pass one after another: the count starts again at each blank line', async () => {
    const one = (n: number, eol: string) => `event: status_update_event${eol}data: {"n":${n},"pad":"${'p'.repeat(1000)}"}${eol}${eol}`;
    reply = (res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for (let i = 0; i < 20; i++) res.write(one(i, i % 2 ? '\r\n' : '\n'));
    };
    const rec = new Recorder();
    stream = new MarathonEventStream({ urls: [url], stallTimeoutMs: 5000, maxBackoffMs: 50, maxEventBytes: 1100 }, rec);
    stream.start();
    await until(() => rec.events.length === 20, 5000, '20 events');
    expect(rec.disconnects).toEqual([]);
  });
});
