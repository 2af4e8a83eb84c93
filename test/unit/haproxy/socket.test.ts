import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rejection } from '../../helpers/models.js';
import { socketCommand } from '../../../src/haproxy/socket.js';

const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-socket-'));
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

/** A unix socket at `name` that does `onCommand` with what it received once the client half-closes. */
async function unixServer(name: string, onCommand: (sock: Socket, received: string) => void): Promise<string> {
  const path = join(dir, name);
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let received = '';
    sock.on('data', (c: Buffer) => (received += c.toString('utf8')));
    sock.on('end', () => onCommand(sock, received));
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return path;
}

describe('socketCommand', () => {
  it('sends the command line and returns everything answered until the close', async () => {
    const path = await unixServer('echo.sock', (sock, received) => {
      sock.write('first part\n');
      setTimeout(() => sock.end(`got: ${JSON.stringify(received)}\n`), 20);
    });
    expect(await socketCommand(path, 'show info')).toBe('first part\ngot: "show info\\n"\n');
  });

  it('an empty answer is an empty string', async () => {
    const path = await unixServer('silent-ok.sock', (sock) => sock.end());
    expect(await socketCommand(path, 'set server a/b state ready')).toBe('');
  });

  it('no answer within the timeout → E_RUNTIME saying so', async () => {
    const path = await unixServer('stalled.sock', () => {
      // never answers, never closes
    });
    const started = Date.now();
    const e = await rejection(socketCommand(path, 'show servers state', 150));
    const took = Date.now() - started;
    expect(e.code).toBe('E_RUNTIME');
    expect(e.message).toBe(`${path}: show servers state`);
    expect((e.cause as Error).message).toBe(`no answer from ${path} within 150 ms`);
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(3000);
  });

  it.each([
    ['no such socket', 'missing.sock', 'ENOENT'],
    ['not a socket (a directory)', '.', 'ECONNREFUSED|ENOTSOCK|EISDIR'],
  ])('%s → E_RUNTIME with the cause', async (_name, name, codes) => {
    const path = join(dir, name);
    const e = await rejection(socketCommand(path, 'set server be/s1 state drain extra words'));
    expect(e.code).toBe('E_RUNTIME');
    // the message names the socket and the first three words of the command
    expect(e.message).toBe(`${path}: set server be/s1`);
    expect((e.cause as NodeJS.ErrnoException).code).toMatch(new RegExp(`^(${codes})$`));
  });
});
