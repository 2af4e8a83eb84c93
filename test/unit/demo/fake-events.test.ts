import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventHub, eventTypeFilter, KEEP_ALIVE, sseFrame } from '../../../src/demo/fake-events.js';

describe('sseFrame / eventTypeFilter', () => {
  it('frames an event as `event:` and one `data:` line', () => {
    const frame = sseFrame({ eventType: 'api_post_event', timestamp: 't', uri: '/v2/apps', nested: { a: '\n' } });
    expect(frame).toBe('event: api_post_event\ndata: {"eventType":"api_post_event","timestamp":"t","uri":"/v2/apps","nested":{"a":"\\n"}}\n\n');
  });

  it('reads repeated event_type parameters; none means every type', () => {
    expect(eventTypeFilter(new URLSearchParams('event_type=a&event_type=b&plan-format=light'))).toEqual(new Set(['a', 'b']));
    expect(eventTypeFilter(new URLSearchParams('plan-format=light'))).toBeUndefined();
  });
});

describe('EventHub', () => {
  let server: Server | undefined;
  let hub: EventHub | undefined;
  afterEach(async () => {
    hub?.close();
    const s = server;
    server = undefined;
    hub = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    await closed;
  });

  async function hubWithServer(keepAliveMs: number): Promise<{ hub: EventHub; open: (query?: string) => Promise<{ text: () => string; ended: Promise<void> }>; detached: () => number }> {
    const h = new EventHub(keepAliveMs);
    let detached = 0;
    const s = createServer((req, res) => h.attach(res, eventTypeFilter(new URL(req.url ?? '/', 'http://x').searchParams), () => detached++));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    server = s;
    hub = h;
    const port = (s.address() as AddressInfo).port;
    const open = (query = '') =>
      new Promise<{ text: () => string; ended: Promise<void> }>((resolve, reject) => {
        const req = request(`http://127.0.0.1:${port}/${query}`, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          resolve({ text: () => text, ended: new Promise((done) => res.on('close', () => done())) });
        });
        req.on('error', reject);
        req.end();
      });
    return { hub: h, open, detached: () => detached };
  }

  async function until(pred: () => boolean, ms = 2000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('condition not met');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('sends each subscriber the types it asked for, and keep-alives', async () => {
    const { hub: h, open } = await hubWithServer(50);
    const all = await open();
    const some = await open('?event_type=b');
    await until(() => h.size === 2);
    h.publish({ eventType: 'a', timestamp: 't' });
    h.publish({ eventType: 'b', timestamp: 't' });
    await until(() => all.text().includes('event: b') && some.text().includes('event: b'));
    expect(some.text()).not.toContain('event: a');
    expect(all.text()).toContain('event: a');
    await until(() => some.text().includes(KEEP_ALIVE));
  });

  it('holds frames and keep-alives while paused, then sends the frames', async () => {
    const { hub: h, open } = await hubWithServer(20);
    const s = await open();
    await until(() => h.size === 1);
    h.pause();
    await new Promise((r) => setTimeout(r, 30));
    const before = s.text();
    h.publish({ eventType: 'a', timestamp: 't' });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.text()).toBe(before);
    h.resume();
    await until(() => s.text().includes('event: a'));
  });

  it('dropAll ends the streams and reports them detached', async () => {
    const { hub: h, open, detached } = await hubWithServer(0);
    const s = await open();
    await until(() => h.size === 1);
    expect(h.dropAll()).toBe(1);
    await s.ended;
    await until(() => h.size === 0 && detached() === 1);
  });
});
