import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenTask, type TaskBehaviour, type TaskEcho } from '../../../src/demo/fake-task.js';

function get(url: string, method = 'GET'): Promise<{ status: number; text: string; taskId: string | undefined; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { Connection: 'close', 'X-Forwarded-Proto': 'https', 'X-Other': 'no' }, timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, taskId: res.headers['x-task-id'] as string | undefined, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const identity = { taskId: 'web.1', appId: '/web' };

describe('listenTask', () => {
  it('answers on every address with its identity and the forwarding headers; health paths follow healthy()', async () => {
    let healthy = true;
    const behaviour: TaskBehaviour = { healthy: () => healthy, responseDelayMs: () => 0, healthPaths: new Set(['/health', '/ping']) };
    const task = await listenTask([{ ip: '127.0.0.1', port: 0 }, { ip: '127.0.0.3', port: 0 }], identity, behaviour);
    try {
      expect(task.bound.map((b) => b.ip)).toEqual(['127.0.0.1', '127.0.0.3']);
      for (const b of task.bound) {
        const r = await get(`http://${b.ip}:${b.port}/x?y=1`);
        expect(r.taskId).toBe('web.1');
        const echo = JSON.parse(r.text) as TaskEcho;
        expect(echo).toMatchObject({ taskId: 'web.1', appId: '/web', ip: b.ip, port: b.port, method: 'GET', path: '/x?y=1' });
        expect(echo.headers).toEqual({ host: `${b.ip}:${b.port}`, 'x-forwarded-proto': 'https' });
      }
      const url = `http://127.0.0.1:${task.bound[0]?.port}`;
      expect((await get(`${url}/ping`)).status).toBe(200);
      healthy = false;
      expect((await get(`${url}/ping?full=1`)).status).toBe(503);
      expect((await get(`${url}/health`)).status).toBe(503);
      expect((await get(`${url}/`)).status).toBe(200);
      expect((await get(`${url}/`, 'HEAD')).text).toBe('');
    } finally {
      await task.close();
    }
  });

  it('delays answers by responseDelayMs, and close() stops pending ones and the listeners', async () => {
    let delay = 200;
    const task = await listenTask([{ ip: '127.0.0.1', port: 0 }], identity, { healthy: () => true, responseDelayMs: () => delay, healthPaths: new Set(['/health']) });
    const url = `http://127.0.0.1:${task.bound[0]?.port}`;
    expect((await get(`${url}/`)).ms).toBeGreaterThanOrEqual(180);
    expect((await get(`${url}/health`)).ms).toBeLessThan(150);
    delay = 10_000;
    const pending = get(`${url}/`).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    await task.close();
    expect(await pending).toBeInstanceOf(Error);
    await expect(get(`${url}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('fails to start when an address is taken, leaving nothing bound', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const behaviour: TaskBehaviour = { healthy: () => true, responseDelayMs: () => 0, healthPaths: new Set() };
      const free = createServer();
      await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
      const freePort = (free.address() as AddressInfo).port;
      await new Promise<void>((resolve) => free.close(() => resolve()));
      await expect(listenTask([{ ip: '127.0.0.1', port: freePort }, { ip: '127.0.0.1', port: taken }], identity, behaviour)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(get(`http://127.0.0.1:${freePort}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
