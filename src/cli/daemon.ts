import { MlbError } from '../errors.js';
import type { Settings } from '../settings.js';

export async function daemonCommand(_s: Settings): Promise<number> {
  throw new MlbError('E_USAGE', '--sse is not available yet');
}
