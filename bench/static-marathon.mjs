/**
 * A minimal Marathon for large synthetic clusters (no real tasks): answers
 * GET /v2/apps?embed=apps.tasks with a document the bench holds and may change, and keeps
 * /v2/events streams open so the bench can push events into them. Loopback, free port.
 */
import { createServer } from 'node:http';

export async function startStaticMarathon(doc) {
  let current = doc;
  let body;
  const streams = new Set();
  const waiters = [];
  const counts = { apps: 0, events: 0, other: 0 };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    req.resume();
    if (path === '/v2/apps') {
      counts.apps++;
      body ??= Buffer.from(JSON.stringify(current));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
      for (const w of waiters.splice(0)) w();
      return;
    }
    if (path === '/v2/events') {
      counts.events++;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-store', Connection: 'keep-alive' });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    counts.other++;
    if (path === '/v2/info') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ version: '1.11.0', name: 'marathon', leader: `127.0.0.1:${port}` }));
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"not found"}');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = server.address().port;
  const keepAlive = setInterval(() => {
    for (const s of streams) s.write(':\n');
  }, 10_000);
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    get streams() {
      return streams.size;
    },
    get doc() {
      return current;
    },
    /** The document changed (in place or replaced): serialised again on the next request. */
    changed(next = current) {
      current = next;
      body = undefined;
    },
    /** Sends one event on every open stream. */
    push(eventType, fields = {}) {
      const frame = `event: ${eventType}\ndata: ${JSON.stringify({ ...fields, eventType, timestamp: new Date().toISOString() })}\n\n`;
      for (const s of streams) s.write(frame);
    },
    /** Resolves at the next GET /v2/apps (or after `timeoutMs`, with false). */
    nextFetch(timeoutMs) {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
    },
    close() {
      clearInterval(keepAlive);
      for (const s of streams) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
