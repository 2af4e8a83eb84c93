import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend, stopAll } from '../helpers/backends.js';
import { app, task, withLabels, withPortDefinitions, withTasks } from '../helpers/builders.js';
import { checkRendered, retryWhilePortTaken, type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { request } from '../helpers/http.js';
import { boundPorts, freeLbPorts, renderApps } from '../helpers/lb.js';
import { freePorts } from '../helpers/ports.js';

/**
 * The default templates' retries, through a real HAProxy: of an app's two tasks one takes each
 * request in and dies on it (closes without a byte). A GET goes again to the other task; a POST
 * is not run twice: it gets HAProxy's 502.
 */

let dir = '';
let haproxy: RunningHaproxy | undefined;
let good: Backend | undefined;
let dying: Server | undefined;
const taken: string[] = [];
let servicePort = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlb-ts-retries-'));
  dying = createServer((sock) => {
    sock.once('data', (chunk: Buffer) => {
      taken.push(chunk.toString('latin1').split(' ')[0] ?? '');
      sock.destroy();
    });
  });
  await new Promise<void>((r) => dying?.listen(0, '127.0.0.1', r));
  good = await startBackend({ name: 'good' });
  const dyingPort = (dying.address() as AddressInfo).port;
  await retryWhilePortTaken(async () => {
    const ports = await freeLbPorts();
    [servicePort] = (await freePorts(1)) as [number];
    const apps = [
      app(
        '/pay',
        withPortDefinitions(servicePort + 1),
        withLabels({ HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(servicePort), HAPROXY_0_BIND_ADDR: '127.0.0.1', HAPROXY_0_MODE: 'http' }),
        withTasks(task('127.0.0.1', [dyingPort]), task('127.0.0.1', [(good as Backend).port])),
      ),
    ];
    await renderApps(dir, apps, ports, ['--group', 'external']);
    const check = await checkRendered(dir);
    if (!check.ok || check.warnings.length > 0) throw new Error(`haproxy -c: ${check.output}`);
    haproxy = await startHaproxy(join(dir, 'haproxy.cfg'), { masterSocket: join(dir, 'master.sock'), ports: boundPorts(ports, [servicePort]) });
  });
});

afterAll(async () => {
  await haproxy?.stop();
  await stopAll(good ? [good] : []);
  await new Promise<void>((r) => (dying ? dying.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a task that takes a request in and dies on it', () => {
  it('a GET is sent again to the other task: every one answered', async () => {
    taken.length = 0;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await request({ port: servicePort, path: `/get-${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    // Round robin sent some to the dying task first: those were the ones retried.
    expect(taken.filter((m) => m === 'GET').length).toBeGreaterThan(0);
  });

  it('a POST is not sent again: the one the dying task took gets a 502, none reaches the other task too', async () => {
    taken.length = 0;
    const before = good?.requests.filter((r) => r.method === 'POST').length ?? 0;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await request({ port: servicePort, path: `/charge-${i}`, method: 'POST', body: 'amount=100' })).status);
    const dyingPosts = taken.filter((m) => m === 'POST').length;
    const goodPosts = (good?.requests.filter((r) => r.method === 'POST').length ?? 0) - before;
    expect(dyingPosts).toBeGreaterThan(0);
    // Each POST ran once: on the dying task (a 502 to the client) or on the good one (a 200).
    expect(dyingPosts + goodPosts).toBe(6);
    expect(statuses.filter((s) => s === 502)).toHaveLength(dyingPosts);
    expect(statuses.filter((s) => s === 200)).toHaveLength(goodPosts);
  });
});
