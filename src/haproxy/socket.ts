import { MlbError } from '../errors.js';

/**
 * Sends one command line to an HAProxy CLI socket (admin or master) and returns everything
 * it answers until it closes the connection.
 */
export async function socketCommand(path: string, command: string, timeoutMs = 10_000): Promise<string> {
  // Loaded on first use, not at every start of the CLI.
  const { createConnection } = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(new Error(`no answer from ${path} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.end(`${command}\n`));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new MlbError('E_RUNTIME', `${path}: ${command.split(' ').slice(0, 3).join(' ')}`, { cause: e }));
    });
  });
}
