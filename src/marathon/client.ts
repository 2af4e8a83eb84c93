import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MlbError } from '../errors.js';
import { type HttpAuth, httpCall } from './http.js';
import { asAppsDocument } from './schema.js';
import type { AppsDocument } from './types.js';

export interface MarathonSource {
  /** Base URLs or file paths, tried in order. */
  urls: string[];
  auth?: HttpAuth;
  ca?: string | Buffer;
  timeoutMs?: number;
}

export const APPS_PATH = '/v2/apps?embed=apps.tasks';

export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function filePathOf(s: string): string {
  return s.startsWith('file:') ? fileURLToPath(s) : s;
}

export function parseAppsDocument(text: string, source: string): AppsDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new MlbError('E_INPUT_NOT_JSON', `${source} is not JSON`, { cause: e });
  }
  return asAppsDocument(doc, source);
}

async function fromFile(path: string): Promise<AppsDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MlbError('E_INPUT_UNREADABLE', `cannot read ${path}`, { cause: e });
  }
  return parseAppsDocument(text, path);
}

async function fromUrl(base: string, src: MarathonSource): Promise<AppsDocument> {
  const url = `${base.replace(/\/+$/, '')}${APPS_PATH}`;
  const res = await httpCall(url, { auth: src.auth, ca: src.ca, timeoutMs: src.timeoutMs });
  if (res.status !== 200) throw new MlbError('E_MARATHON_HTTP', `${url} answered HTTP ${res.status}`);
  return parseAppsDocument(res.body.toString('utf8'), url);
}

/**
 * The apps document from the first source that answers. A document that is not Marathon's
 * fails at once (another URL would not fix it); an unreachable one tries the next.
 */
export async function fetchApps(src: MarathonSource): Promise<AppsDocument> {
  const failures: string[] = [];
  for (const u of src.urls) {
    if (!isHttpUrl(u)) return fromFile(filePathOf(u));
    try {
      return await fromUrl(u, src);
    } catch (e) {
      if (e instanceof MlbError && (e.code === 'E_INPUT_NOT_JSON' || e.code === 'E_INPUT_NOT_MARATHON')) throw e;
      failures.push(`${u}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new MlbError('E_MARATHON_UNREACHABLE', `no Marathon answered (${failures.join('; ')})`);
}
