import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { EventSource, type FetchLike } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeMarathon, type FakeMarathonOptions, type MarathonEvent, type TaskEcho } from '../../../src/demo/fake-marathon.js';
import { fetchApps } from '../../../src/marathon/client.js';
import { asAppsDocument } from '../../../src/marathon/schema.js';
import type { MarathonApp, Task } from '../../../src/marathon/types.js';

const FAST: FakeMarathonOptions = { stagingMs: 20, healthyAfterMs: 60, killGraceSeconds: 0.4, keepAliveMs: 0, backoffMs: 100 };

function example(name: string): MarathonApp {
  return JSON.parse(readFileSync(`/work/shared/examples/${name}.json`, 'utf8')) as MarathonApp;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  ms: number;
}

function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown; raw?: string; timeoutMs?: number } = {}): Promise<Reply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const req = request(url, { method: opts.method ?? 'GET', headers: { Connection: 'close', ...(body ? { 'Content-Type': 'application/json' } : {}), ...opts.headers }, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const r = await call(url, { headers });
  expect(r.status, r.text).toBe(200);
  return JSON.parse(r.text) as T;
}

async function askTask(task: Task, portIndex = 0, path = '/hello', headers: Record<string, string> = {}): Promise<{ status: number; echo: TaskEcho; ms: number }> {
  const r = await call(`http://${task.host}:${task.ports?.[portIndex]}${path}`, { headers });
  return { status: r.status, echo: JSON.parse(r.text) as TaskEcho, ms: r.ms };
}

async function refused(host: string, port: number): Promise<boolean> {
  try {
    await call(`http://${host}:${port}/`, { timeoutMs: 1000 });
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

/** A raw /v2/events connection read with node:http: everything received, as text. */
interface RawStream {
  status: number;
  headers: IncomingHttpHeaders;
  text(): string;
  ended: Promise<void>;
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  close(): void;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let text = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        for (const w of waiters) w();
      });
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => text,
        ended,
        close: () => req.destroy(),
        waitFor: (pred, timeoutMs = 3000) =>
          new Promise((ok, fail) => {
            const check = () => {
              if (!pred(text)) return;
              clearTimeout(timer);
              waiters.delete(check);
              ok(text);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`stream never matched; got: ${text.slice(-500)}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function framesOf(text: string): { type: string; data: MarathonEvent }[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((l) => !l.startsWith(':')))
    .filter((lines) => lines.length > 0 && lines[0] !== '')
    .map((lines) => {
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: \w+$/);
      expect(lines[1]).toMatch(/^data: \{.*\}$/);
      return { type: (lines[0] ?? '').slice('event: '.length), data: JSON.parse((lines[1] ?? '').slice('data: '.length)) as MarathonEvent };
    });
}

/**
 * fetch drops Authorization when a redirect changes origin (leader on another port), so
 * redirects are followed here, with the header on every hop.
 */
function followingWithAuth(auth: Record<string, string>): FetchLike {
  return async (input, init) => {
    let url = String(input);
    for (let hop = 0; hop < 3; hop++) {
      const res = await fetch(url, { ...init, headers: { ...init.headers, ...auth }, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      url = new URL(location, url).toString();
    }
    throw new Error(`too many redirects from ${String(input)}`);
  };
}

function hostApp(id: string, extra: Partial<MarathonApp> & Record<string, unknown> = {}): MarathonApp {
  return { id, instances: 1, portDefinitions: [{ port: 0, name: 'http' }], ...extra };
}

function running(fm: FakeMarathon, appId: string, n: number): () => boolean {
  return () => fm.tasks(appId).filter((t) => t.state === 'TASK_RUNNING').length === n && fm.tasks(appId).length === n;
}

describe('FakeMarathon REST', () => {
  let fm: FakeMarathon;
  beforeAll(async () => {
    fm = await FakeMarathon.start({ ...FAST, apps: [example('httpi-host')] });
    await fm.settled();
  });
  afterAll(() => fm.close());

  it('serves an apps document that the schema and fetchApps accept, with service ports assigned from 10000', async () => {
    const doc = asAppsDocument(await getJson(`${fm.url}/v2/apps?embed=apps.tasks`), 'fake');
    const httpi = doc.apps.find((a) => a.id === '/httpi');
    expect(httpi?.portDefinitions?.[0]?.port).toBe(10000);
    expect(httpi?.tasks).toHaveLength(1);
    const fetched = await fetchApps({ urls: [fm.url] });
    expect(fetched.apps.map((a) => a.id)).toEqual(['/httpi']);
    const task = fetched.apps[0]?.tasks?.[0];
    expect(task).toMatchObject({ appId: '/httpi', host: '127.0.0.1', state: 'TASK_RUNNING', servicePorts: [10000], ipAddresses: [{ ipAddress: '127.0.0.1', protocol: 'IPv4' }] });
    expect(task?.id).toMatch(/^httpi\.[0-9a-f-]{36}$/);
    for (const field of ['stagedAt', 'startedAt', 'version', 'slaveId'] as const) expect(task?.[field]).toEqual(expect.any(String));
  });

  it('leaves tasks out of plain /v2/apps and puts them in /v2/apps/{id}', async () => {
    const plain = await getJson<{ apps: MarathonApp[] }>(`${fm.url}/v2/apps`);
    expect(plain.apps[0]?.tasks).toBeUndefined();
    const one = await getJson<{ app: MarathonApp }>(`${fm.url}/v2/apps/httpi`);
    expect(one.app.tasks).toHaveLength(1);
    expect((await call(`${fm.url}/v2/apps/nope`)).status).toBe(404);
  });

  it('runs real tasks that name themselves and echo the path and forwarding headers', async () => {
    const [task] = fm.tasks('/httpi');
    const { status, echo } = await askTask(task as Task, 0, '/some/path?q=1', { 'X-Forwarded-For': '10.1.2.3', Host: 'httpi.example.com' });
    expect(status).toBe(200);
    expect(echo).toMatchObject({ taskId: task?.id, appId: '/httpi', port: task?.ports?.[0], path: '/some/path?q=1' });
    expect(echo.headers).toMatchObject({ 'x-forwarded-for': '10.1.2.3', host: 'httpi.example.com' });
  });

  it('creates with POST (201), refuses a duplicate (409) and an invalid id (422), and tracks the deployment', async () => {
    // The health check keeps the deployment going long enough to be seen in /v2/deployments.
    const healthChecks = [{ protocol: 'HTTP', path: '/', portIndex: 0 }];
    const created = await call(`${fm.url}/v2/apps`, { method: 'POST', body: hostApp('/group/web', { instances: 2, healthChecks }) });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${fm.url}/v2/apps/group/web`);
    const body = JSON.parse(created.text) as MarathonApp;
    expect(body.portDefinitions?.[0]?.port).toBe(10001);
    expect(body.deployments).toHaveLength(1);
    const deployments = await getJson<{ affectedApps: string[] }[]>(`${fm.url}/v2/deployments`);
    expect(deployments.map((d) => d.affectedApps)).toContainEqual(['/group/web']);
    expect((await call(`${fm.url}/v2/apps`, { method: 'POST', body: hostApp('/group/web') })).status).toBe(409);
    expect((await call(`${fm.url}/v2/apps`, { method: 'POST', body: hostApp('/Bad_Id') })).status).toBe(422);
    expect((await call(`${fm.url}/v2/apps`, { method: 'POST', raw: '{"id": "/x",' })).status).toBe(400);
    await fm.settled();
    expect(await getJson<unknown[]>(`${fm.url}/v2/deployments`)).toEqual([]);
    expect(fm.tasks('/group/web').map((t) => t.id).every((id) => id.startsWith('group_web.'))).toBe(true);
    expect(fm.tasks('/group/web').map((t) => t.state)).toEqual(['TASK_RUNNING', 'TASK_RUNNING']);
  });

  it('answers /v2/info, /v2/leader and /ping', async () => {
    expect(await getJson(`${fm.url}/v2/info`)).toMatchObject({ name: 'marathon', elected: true, leader: `127.0.0.1:${new URL(fm.url).port}` });
    expect(await getJson(`${fm.url}/v2/leader`)).toEqual({ leader: `127.0.0.1:${new URL(fm.url).port}` });
    expect((await call(`${fm.url}/ping`)).text).toBe('pong');
  });

  it('counts requests by method and path', async () => {
    fm.resetRequestCounts();
    await call(`${fm.url}/v2/apps?embed=apps.tasks`);
    await call(`${fm.url}/v2/apps`);
    await call(`${fm.url}/v2/info`);
    expect(fm.requestCount('/v2/apps')).toBe(2);
    expect(fm.requestCounts()).toEqual({ 'GET /v2/apps': 2, 'GET /v2/info': 1 });
  });
});

describe('FakeMarathon auth', () => {
  let fm: FakeMarathon;
  beforeAll(async () => {
    fm = await FakeMarathon.start({ ...FAST, credentials: 'alice:s3cret', token: 'jwt123', apps: [hostApp('/a')] });
  });
  afterAll(() => fm.close());

  it('answers 401 without Basic auth and serves fetchApps with it', async () => {
    const denied = await call(`${fm.url}/v2/apps`);
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await call(`${fm.url}/v2/apps`, { headers: { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } })).status).toBe(401);
    await expect(fetchApps({ urls: [fm.url] })).rejects.toMatchObject({ code: 'E_MARATHON_HTTP' });
    expect((await fetchApps({ urls: [fm.url], auth: { basic: 'alice:s3cret' } })).apps.map((a) => a.id)).toEqual(['/a']);
    expect((await fetchApps({ urls: [fm.url], auth: { token: 'jwt123' } })).apps).toHaveLength(1);
  });

  it('needs auth for the event stream too', async () => {
    const s = await openStream(`${fm.url}/v2/events`);
    expect(s.status).toBe(401);
    s.close();
  });
});

describe('FakeMarathon networking', () => {
  let fm: FakeMarathon;
  beforeAll(async () => {
    fm = await FakeMarathon.start(FAST);
  });
  afterAll(() => fm.close());

  it('bridge: a free host port per mapping on the agent, an unbound bridge IP, a service port assigned', async () => {
    fm.addApp({ ...example('httpi-bridge-external'), instances: 2 });
    await fm.waitFor(running(fm, '/httpi', 2));
    const app = fm.app('/httpi');
    expect(app?.container?.portMappings?.[0]).toMatchObject({ servicePort: 10000, hostPort: 0, containerPort: 0 });
    const tasks = fm.tasks('/httpi');
    expect(new Set(tasks.map((t) => t.ports?.[0])).size).toBe(2);
    for (const t of tasks) {
      expect(t.ipAddresses?.[0]?.ipAddress).toMatch(/^172\.17\./);
      expect((await askTask(t)).echo.taskId).toBe(t.id);
    }
    fm.removeApp('/httpi');
  });

  it('container: each task binds its own 127.1.x.y at the container port', async () => {
    fm.addApp({ ...example('httpi-overlay-external'), id: '/overlay', instances: 2 });
    await fm.waitFor(running(fm, '/overlay', 2));
    const tasks = fm.tasks('/overlay');
    const ips = tasks.map((t) => t.ipAddresses?.[0]?.ipAddress);
    expect(new Set(ips).size).toBe(2);
    for (const t of tasks) {
      expect(t.ports).toEqual([]);
      const ip = t.ipAddresses?.[0]?.ipAddress ?? '';
      expect(ip).toMatch(/^127\.1\.\d+\.\d+$/);
      const r = await call(`http://${ip}:3141/`);
      expect((JSON.parse(r.text) as TaskEcho).taskId).toBe(t.id);
    }
  });

  it('legacy docker bridge: declared service ports kept, two host ports per task', async () => {
    fm.addApp(example('myservice-docker-bridge'));
    await fm.waitFor(running(fm, '/myservice', 1));
    const [task] = fm.tasks('/myservice');
    expect(task?.servicePorts).toEqual([6666, 7777]);
    expect(task?.ports).toHaveLength(2);
    expect(fm.app('/myservice')?.container?.docker?.portMappings?.map((m) => m.servicePort)).toEqual([6666, 7777]);
    expect((await askTask(task as Task, 1)).echo.port).toBe(task?.ports?.[1]);
  });

  it('places tasks round-robin over several loopback agents', async () => {
    const multi = await FakeMarathon.start({ ...FAST, agents: ['127.0.0.1', '127.0.0.2'], apps: [hostApp('/spread', { instances: 2 })] });
    try {
      await multi.waitFor(running(multi, '/spread', 2));
      const tasks = multi.tasks('/spread');
      expect(tasks.map((t) => t.host).sort()).toEqual(['127.0.0.1', '127.0.0.2']);
      expect(new Set(tasks.map((t) => t.slaveId)).size).toBe(2);
      for (const t of tasks) expect((await askTask(t)).echo.ip).toBe(t.host);
    } finally {
      await multi.close();
    }
  });
});

describe('FakeMarathon task lifecycle', () => {
  let fm: FakeMarathon;
  beforeAll(async () => {
    fm = await FakeMarathon.start({ ...FAST, healthyAfterMs: 500 });
  });
  afterAll(() => fm.close());
  afterEach(async () => {
    for (const a of fm.apps()) fm.removeApp(a.id);
    await fm.settled();
  });

  it('goes TASK_STAGING → TASK_RUNNING with status events', async () => {
    const stored = fm.addApp({ id: 'life', cmd: 'python3 -m http.server $PORT0', cpus: 0.1, mem: 32 });
    expect(stored).toMatchObject({ id: '/life', cmd: 'python3 -m http.server $PORT0', instances: 1, portDefinitions: [{ port: expect.any(Number) }] });
    await fm.settled();
    const states = fm.events('status_update_event').filter((e) => e.appId === '/life').map((e) => e.taskStatus);
    expect(states).toEqual(['TASK_STAGING', 'TASK_RUNNING']);
    const ev = fm.events('status_update_event').at(-1) as MarathonEvent;
    expect(Object.keys(ev).sort()).toEqual(['appId', 'eventType', 'host', 'ipAddresses', 'message', 'ports', 'slaveId', 'taskId', 'taskStatus', 'timestamp', 'version'].sort());
  });

  it('scales up and down (youngest first), each task on its own port', async () => {
    fm.addApp(hostApp('/scaled'));
    await fm.settled();
    fm.scale('/scaled', 3);
    await fm.settled();
    const three = fm.tasks('/scaled');
    expect(three).toHaveLength(3);
    expect(new Set(three.map((t) => t.ports?.[0])).size).toBe(3);
    fm.scale('/scaled', 1);
    await fm.waitFor(() => fm.tasks('/scaled').filter((t) => t.state === 'TASK_KILLING').length === 2, 1000);
    await fm.settled();
    expect(fm.tasks('/scaled').map((t) => t.id)).toEqual([three[0]?.id]);
    expect(fm.app('/scaled')?.instances).toBe(1);
    expect(await refused('127.0.0.1', three[2]?.ports?.[0] ?? 0)).toBe(true);
  });

  it('a killed task stays TASK_KILLING and keeps serving for the grace period, then stops and is replaced', async () => {
    fm.addApp(hostApp('/victim', { taskKillGracePeriodSeconds: 0.5 }));
    await fm.settled();
    const [task] = fm.tasks('/victim') as [Task];
    const killedAt = Date.now();
    fm.kill(task.id);
    expect(fm.tasks('/victim')[0]?.state).toBe('TASK_KILLING');
    expect((await askTask(task)).status).toBe(200);
    await fm.waitFor(() => fm.events('status_update_event').some((e) => e.taskId === task.id && e.taskStatus === 'TASK_KILLED'), 2000);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(450);
    expect(await refused('127.0.0.1', task.ports?.[0] ?? 0)).toBe(true);
    await fm.waitFor(running(fm, '/victim', 1));
    expect(fm.tasks('/victim')[0]?.id).not.toBe(task.id);
  });

  it('DELETE /v2/apps/{id}/tasks/{taskId}?scale=true kills without a replacement', async () => {
    fm.addApp(hostApp('/two', { instances: 2 }));
    await fm.settled();
    const [first] = fm.tasks('/two') as [Task];
    const r = await call(`${fm.url}/v2/apps/two/tasks/${first.id}?scale=true`, { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toHaveProperty('deploymentId');
    await fm.settled();
    expect(fm.tasks('/two').map((t) => t.id)).not.toContain(first.id);
    expect(fm.tasks('/two')).toHaveLength(1);
    expect(fm.app('/two')?.instances).toBe(1);
    expect((await call(`${fm.url}/v2/apps/two/tasks/nope`, { method: 'DELETE' })).status).toBe(404);
  });

  it('a failed task is relaunched after the backoff', async () => {
    fm.addApp(hostApp('/crashy'));
    await fm.settled();
    const [task] = fm.tasks('/crashy') as [Task];
    fm.fail(task.id);
    expect(fm.tasks('/crashy')).toEqual([]);
    await fm.waitFor(running(fm, '/crashy', 1));
    expect(fm.events('status_update_event').find((e) => e.taskId === task.id && e.taskStatus === 'TASK_FAILED')?.message).toMatch(/exited/);
  });

  it('health: results absent, then alive; setHealth flips them, the events and what /health answers', async () => {
    fm.addApp(hostApp('/checked', { healthChecks: [{ protocol: 'HTTP', path: '/ping', portIndex: 0, intervalSeconds: 1 }] }));
    await fm.waitFor(running(fm, '/checked', 1));
    const [task] = fm.tasks('/checked') as [Task];
    expect(task.healthCheckResults).toEqual([]);
    expect((await askTask(task, 0, '/ping')).status).toBe(503);
    await fm.settled();
    expect(fm.tasks('/checked')[0]?.healthCheckResults?.[0]).toMatchObject({ alive: true, consecutiveFailures: 0 });
    expect((await askTask(task, 0, '/ping')).status).toBe(200);
    fm.setHealth(task.id, false);
    expect(fm.tasks('/checked')[0]?.healthCheckResults?.[0]?.alive).toBe(false);
    expect(fm.app('/checked')).toMatchObject({ tasksHealthy: 0, tasksUnhealthy: 1 });
    const health = await askTask(task, 0, '/health');
    expect(health.status).toBe(503);
    expect((await askTask(task, 0, '/other')).status).toBe(200);
    const events = fm.events('health_status_changed_event').filter((e) => e.taskId === task.id);
    expect(events.map((e) => e.alive)).toEqual([true, false]);
    expect(events[0]).toMatchObject({ appId: '/checked', version: task.version, instanceId: expect.stringMatching(/^checked\.instance-/) });
  });

  it('delays answers by env.RESPONSE_DELAY_MS, but not the health path', async () => {
    fm.addApp(hostApp('/slow', { env: { RESPONSE_DELAY_MS: '300' } }));
    await fm.settled();
    const [task] = fm.tasks('/slow') as [Task];
    expect((await askTask(task)).ms).toBeGreaterThanOrEqual(280);
    expect((await askTask(task, 0, '/health')).ms).toBeLessThan(250);
    fm.setResponseDelay('/slow', 0);
    expect((await askTask(task)).ms).toBeLessThan(250);
  });

  it('PUT with a new config rolls the tasks; a second PUT meanwhile is 409 unless forced', async () => {
    fm.addApp(hostApp('/rolling', { instances: 2, labels: { HAPROXY_GROUP: 'external' } }));
    await fm.settled();
    const before = fm.tasks('/rolling');
    const put = await call(`${fm.url}/v2/apps/rolling`, { method: 'PUT', body: { labels: { HAPROXY_GROUP: 'internal' } } });
    expect(put.status).toBe(200);
    const { version } = JSON.parse(put.text) as { version: string };
    expect((await call(`${fm.url}/v2/apps/rolling`, { method: 'PUT', body: { instances: 3 } })).status).toBe(409);
    await fm.settled();
    const after = fm.tasks('/rolling');
    expect(after.map((t) => t.version)).toEqual([version, version]);
    expect(after.map((t) => t.id).some((id) => before.some((b) => b.id === id))).toBe(false);
    expect(fm.app('/rolling')?.portDefinitions?.[0]?.port).toBe(fm.tasks('/rolling')[0]?.servicePorts?.[0]);
    expect((await call(`${fm.url}/v2/apps/rolling?force=true`, { method: 'PUT', body: { instances: 1 } })).status).toBe(200);
    await fm.settled();
    expect(fm.tasks('/rolling').map((t) => t.version)).toEqual([version]);
  });

  it('DELETE removes the app at once, kills its tasks and ends with app_terminated_event', async () => {
    fm.addApp(hostApp('/gone'));
    await fm.settled();
    const [task] = fm.tasks('/gone') as [Task];
    expect((await call(`${fm.url}/v2/apps/gone`, { method: 'DELETE' })).status).toBe(200);
    expect(fm.app('/gone')).toBeUndefined();
    expect((await askTask(task)).status).toBe(200);
    await fm.settled();
    expect(await refused('127.0.0.1', task.ports?.[0] ?? 0)).toBe(true);
    const types = fm.events().filter((e) => e.appId === '/gone' || e.taskId === task.id).map((e) => `${e.eventType}:${e.taskStatus ?? ''}`);
    expect(types.slice(-3)).toEqual(['status_update_event:TASK_KILLING', 'status_update_event:TASK_KILLED', 'app_terminated_event:']);
    expect((await call(`${fm.url}/v2/apps/gone`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('FakeMarathon events', () => {
  let fm: FakeMarathon;
  beforeAll(async () => {
    fm = await FakeMarathon.start({ ...FAST, keepAliveMs: 100, credentials: 'u:p', redirect: true });
  });
  afterAll(() => fm.close());
  const auth = { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };

  it('streams filtered events as `event:`/`data:` frames, with keep-alive comments', async () => {
    const s = await openStream(`${fm.url}/v2/events?event_type=status_update_event&event_type=api_post_event&plan-format=light`, auth);
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      fm.addApp(hostApp('/streamed'));
      await s.waitFor((t) => t.includes('"taskStatus":"TASK_RUNNING"'));
      await s.waitFor((t) => t.includes(':\n'), 1000);
      const frames = framesOf(s.text());
      expect(frames.map((f) => f.type)).toEqual(['api_post_event', 'status_update_event', 'status_update_event']);
      for (const f of frames) expect(f.data.eventType).toBe(f.type);
      expect(frames[0]?.data).toMatchObject({ uri: '/v2/apps', appDefinition: { id: '/streamed' } });
      expect(frames[2]?.data).toMatchObject({ appId: '/streamed', host: '127.0.0.1', taskStatus: 'TASK_RUNNING', ports: fm.tasks('/streamed')[0]?.ports });
    } finally {
      s.close();
    }
  });

  it('refuses a stream without Accept: text/event-stream', async () => {
    expect((await call(`${fm.url}/v2/events`, { headers: { ...auth, Accept: 'application/json' } })).status).toBe(406);
  });

  it('works with the eventsource package (auth through a custom fetch), filters included', async () => {
    const es = new EventSource(`${fm.url}/v2/events?event_type=deployment_success&event_type=app_terminated_event`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...auth } }),
    });
    const got: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        es.onopen = () => resolve();
        es.onerror = (e) => reject(new Error(`eventsource: ${e.message ?? 'error'}`));
      });
      const done = new Promise<void>((resolve) => {
        es.addEventListener('deployment_success', (e) => {
          const app = (JSON.parse(e.data) as { plan: { steps: { actions: { app: string }[] }[] } }).plan.steps[0]?.actions[0]?.app;
          if (app !== '/es') return;
          got.push(`deployment_success:${app}`);
          if (got.length === 3) resolve();
        });
        es.addEventListener('app_terminated_event', (e) => got.push(`app_terminated_event:${(JSON.parse(e.data) as { appId: string }).appId}`));
        es.addEventListener('status_update_event', () => got.push('unfiltered'));
      });
      fm.addApp(hostApp('/es'));
      await fm.settled();
      fm.removeApp('/es');
      await done;
      expect(got).toEqual(['deployment_success:/es', 'app_terminated_event:/es', 'deployment_success:/es']);
    } finally {
      es.close();
    }
  });

  it('dropStreams ends every open stream', async () => {
    const a = await openStream(`${fm.url}/v2/events`, auth);
    const b = await openStream(`${fm.url}/v2/events?event_type=api_post_event`, auth);
    await fm.waitFor(() => fm.streamCount === 2, 1000);
    expect(fm.dropStreams()).toBe(2);
    await Promise.all([a.ended, b.ended]);
    await fm.waitFor(() => fm.streamCount === 0, 1000);
  });

  it('stall: REST answers wait, open streams send nothing (no keep-alives either), then everything arrives', async () => {
    const s = await openStream(`${fm.url}/v2/events?event_type=api_post_event`, auth);
    try {
      await s.waitFor((t) => t.includes(':\n'), 1000);
      fm.stall(500);
      const seen = s.text().length;
      const rest = call(`${fm.url}/v2/apps`, { headers: auth });
      fm.addApp(hostApp('/during-stall'));
      await new Promise((r) => setTimeout(r, 350));
      expect(s.text().length).toBe(seen);
      expect(fm.stalled).toBe(true);
      const r = await rest;
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(450);
      await s.waitFor((t) => t.includes('"id":"/during-stall"'), 1000);
      expect(fm.stalled).toBe(false);
    } finally {
      s.close();
    }
  });

  it('the non-leader redirects REST and events to the leader', async () => {
    const follower = fm.followerUrl as string;
    const r = await call(`${follower}/v2/apps?embed=apps.tasks`);
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe(`${fm.url}/v2/apps?embed=apps.tasks`);
    const doc = await fetchApps({ urls: [follower], auth: { basic: 'u:p' } });
    expect(doc.apps.map((a) => a.id)).toContain('/during-stall');
    const es = new EventSource(`${follower}/v2/events?event_type=api_post_event`, { fetch: followingWithAuth(auth) });
    try {
      const posted = new Promise<string>((resolve) => es.addEventListener('api_post_event', (e) => resolve(e.data)));
      await new Promise<void>((resolve, reject) => {
        es.onopen = () => resolve();
        es.onerror = (e) => reject(new Error(`eventsource: ${e.message ?? 'error'}`));
      });
      fm.scale('/during-stall', 2);
      expect(JSON.parse(await posted)).toMatchObject({ appDefinition: { id: '/during-stall', instances: 2 } });
    } finally {
      es.close();
    }
  });
});

describe('FakeMarathon close', () => {
  it('stops tasks, streams and servers', async () => {
    const fm = await FakeMarathon.start({ ...FAST, keepAliveMs: 50, apps: [hostApp('/c', { instances: 2 })] });
    await fm.settled();
    const tasks = fm.tasks('/c');
    const s = await openStream(`${fm.url}/v2/events`);
    fm.kill(tasks[0]?.id as string);
    await fm.close();
    await s.ended;
    for (const t of tasks) expect(await refused('127.0.0.1', t.ports?.[0] ?? 0)).toBe(true);
    expect(await refused('127.0.0.1', Number(new URL(fm.url).port))).toBe(true);
  });
});
