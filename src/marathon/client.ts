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

/** The apps document as Marathon sent it, before parsing: the daemon skips work when it is unchanged. */
export interface RawApps {
  text: string;
  source: string;
}

async function rawFromFile(path: string): Promise<RawApps> {
  try {
    return { text: await readFile(path, 'utf8'), source: path };
  } catch (e) {
    throw new MlbError('E_INPUT_UNREADABLE', `cannot read ${path}`, { cause: e });
  }
}

async function rawFromUrl(base: string, src: MarathonSource): Promise<RawApps> {
  const url = `${base.replace(/\/+$/, '')}${APPS_PATH}`;
  const res = await httpCall(url, { auth: src.auth, ca: src.ca, timeoutMs: src.timeoutMs });
  if (res.status !== 200) throw new MlbError('E_MARATHON_HTTP', `${url} answered HTTP ${res.status}`);
  const text = res.body.toString('utf8');
  // A proxy's error page instead of Marathon's answer is a failed source: try the next one.
  if (!/^\s*[[{]/.test(text)) throw new MlbError('E_INPUT_NOT_JSON', `${url} did not answer JSON`);
  return { text, source: url };
}

/** The first source that answers, unparsed; an unreachable one tries the next. */
export async function fetchAppsText(src: MarathonSource): Promise<RawApps> {
  const failures: string[] = [];
  for (const u of src.urls) {
    if (!isHttpUrl(u)) return rawFromFile(filePathOf(u));
    try {
      return await rawFromUrl(u, src);
    } catch (e) {
      failures.push(`${u}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new MlbError('E_MARATHON_UNREACHABLE', `no Marathon answered (${failures.join('; ')})`);
}

/**
 * The apps document from the first source that answers. A document that is not Marathon's
 * fails at once (another URL would not fix it).
 */
export async function fetchApps(src: MarathonSource): Promise<AppsDocument> {
  const raw = await fetchAppsText(src);
  return parseAppsDocument(raw.text, raw.source);
}
