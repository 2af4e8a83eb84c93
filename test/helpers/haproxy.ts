import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { EMPTY_SERVER_STATE } from '../../src/haproxy/install.js';
import { validateConfig, type Validation } from '../../src/haproxy/validate.js';

export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? 'haproxy';

/** `haproxy -c` on a rendered directory, with the server-state file the config names in place. */
export async function checkRendered(dir: string, cwd = process.cwd()): Promise<Validation> {
  const state = join(dir, 'haproxy.state');
  if (!existsSync(state)) writeFileSync(state, EMPTY_SERVER_STATE);
  return validateConfig(join(dir, 'haproxy.cfg'), HAPROXY_BIN, cwd);
}
