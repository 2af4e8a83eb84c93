import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { causeOf, isMlbError, MlbError } from '../errors.js';
import { displayUrl, type HttpAuth, httpCall } from './http.js';
import { asAppsDocument, slimAppsDocument } from './schema.js';
import type { AppsDocument } from './types.js';

export interface MarathonSource {
  /** Base URLs or file paths, tried in order (the one that answered last first: see inTryOrder). */
  urls: string[];
  auth?: HttpAuth;
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Aborts a fetch under way (see HttpOptions.signal). */
  signal?: AbortSignal;
}

export const APPS_PATH = '/v2/apps?embed=apps.tasks';

export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

export interface ParseOptions {
  /** Keep only what mlb-ts reads of each app (slimApp), parsing a stretch at a time. */
  slim?: boolean;
}

/** The apps document of `input` (UTF-8 bytes as Marathon sent them, or text). */
export function parseAppsDocument(input: Buffer | string, source: string, opts: ParseOptions = {}): AppsDocument {
  const slim = opts.slim ? slimAppsDocument(typeof input === 'string' ? Buffer.from(input) : input) : undefined;
  if (slim) return slim;
  let doc: unknown;
  try {
    doc = JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  } catch (e) {
    throw new MlbError('E_INPUT_NOT_JSON', `${source} is not JSON`, { cause: e });
  }
  return asAppsDocument(doc, source);
}

/** The apps document as Marathon sent it, before parsing: the daemon skips work when it is unchanged. */
export interface RawApps {
  /** UTF-8, as read or received. */
  bytes: Buffer;
  source: string;
}

/** `input`: a path or a `file:` URL. */
function rawFromFile(input: string): RawApps {
  let path = input;
  try {
    path = input.startsWith('file:') ? fileURLToPath(input) : input;
    // A FIFO or a device would block the read (for ever, with no writer): only a file is an apps document.
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    // One blocking read: an async read of a big file goes through the thread pool in 512 KB round trips.
    return { bytes: readFileSync(path), source: path };
  } catch (e) {
    throw new MlbError('E_INPUT_UNREADABLE', `cannot read ${path}`, { cause: e });
  }
}

async function rawFromUrl(base: string, src: MarathonSource): Promise<RawApps> {
  const url = `${base.replace(/\/+$/, '')}${APPS_PATH}`;
  const shown = displayUrl(url);
  const res = await httpCall(url, { auth: src.auth, ca: src.ca, timeoutMs: src.timeoutMs, signal: src.signal });
  if (res.status !== 200) throw new MlbError('E_MARATHON_HTTP', `${shown} answered HTTP ${res.status}${authHint(res.status)}`);
  // A proxy's error page instead of Marathon's answer is a failed source: try the next one.
  if (!/^\s*[[{]/.test(res.body.toString('utf8', 0, 64))) throw new MlbError('E_INPUT_NOT_JSON', `${shown} did not answer JSON`);
  return { bytes: res.body, source: shown };
}

/** What to check when Marathon answers this status, for an error line ('' for most). */
export function authHint(status: number | undefined): string {
  return status === undefined ? '' : (AUTH_HINTS[status] ?? '');
}

const AUTH_HINTS: Record<number, string> = {
  401: ' (credentials missing or refused: --marathon-auth-credential-file, --auth-credentials, or --dcos-token-file on DC/OS)',
  403: ' (these credentials are refused this request: mlb-ts reads /v2/apps, and /v2/events with --sse)',
};

/**
 * The URL of each source that answered last. It is tried first the next time, so a Marathon that
 * takes connections and never answers delays the first fetch only, not every sync (the event
 * stream sticks to the URL that answered alike). The source object is the key: the daemon keeps one.
 */
const lastAnswered = new WeakMap<MarathonSource, string>();

function inTryOrder(src: MarathonSource): string[] {
  const first = lastAnswered.get(src);
  return first === undefined || src.urls[0] === first ? src.urls : [first, ...src.urls.filter((u) => u !== first)];
}

/**
 * The first source that can be read, unparsed (the one that answered last time first): an unreachable URL or an unreadable file
 * tries the next. When none can, one error lists every source's failure; a single file
 * keeps its own E_INPUT_UNREADABLE. When every URL answered, and all alike (an HTTP error, or
 * not JSON), that is the code (E_MARATHON_HTTP, E_INPUT_NOT_JSON): "unreachable" would send an
 * operator to the network. Otherwise the code is E_INPUT_UNREADABLE when the last source
 * tried is a file, E_MARATHON_UNREACHABLE when it is a URL.
 */
export async function fetchAppsText(src: MarathonSource): Promise<RawApps> {
  const failures: string[] = [];
  const codes = new Set<string | undefined>();
  let last: { file: boolean; error: unknown } | undefined;
  for (const u of inTryOrder(src)) {
    const file = !isHttpUrl(u);
    try {
      const raw = file ? rawFromFile(u) : await rawFromUrl(u, src);
      lastAnswered.set(src, u);
      return raw;
    } catch (e) {
      // A file's error is `cannot read PATH` with the reason as its cause.
      failures.push(`${displayUrl(u)}: ${causeOf(file && isMlbError(e) && e.cause !== undefined ? e.cause : e)}`);
      last = { file, error: e };
      codes.add(file ? undefined : isMlbError(e) ? e.code : undefined);
    }
  }
  if (last?.file && src.urls.length === 1) throw last.error;
  const [answered] = codes.size === 1 ? [...codes].filter((c) => c === 'E_MARATHON_HTTP' || c === 'E_INPUT_NOT_JSON') : [];
  if (answered) throw new MlbError(answered, `no Marathon gave its apps (${failures.join('; ')})`);
  const what = src.urls.every(isHttpUrl) ? 'no Marathon answered' : 'no --marathon source could be read';
  throw new MlbError(last?.file ? 'E_INPUT_UNREADABLE' : 'E_MARATHON_UNREACHABLE', `${what} (${failures.join('; ')})`);
}

/**
 * The apps document from the first source that answers. A document that is not Marathon's
 * fails at once (another URL would not fix it).
 */
export async function fetchApps(src: MarathonSource, opts: ParseOptions = {}): Promise<AppsDocument> {
  const raw = await fetchAppsText(src);
  const doc = parseAppsDocument(raw.bytes, raw.source, opts);
  releaseMemory(raw.bytes);
  return doc;
}

/**
 * Gives a large buffer's memory back at the next young-generation GC. By the end of a parse
 * the buffer has outlived a few of those and sits in the old generation, where only a full
 * GC (which a one-shot render never reaches) would free its megabytes: moving its memory to
 * a fresh ArrayBuffer that nothing keeps fixes that. `buf` is empty afterwards.
 */
function releaseMemory(buf: Buffer): void {
  if (buf.byteLength < 1 << 20 || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.byteLength) return;
  try {
    const memory = buf.buffer as ArrayBuffer;
    structuredClone(memory, { transfer: [memory] });
  } catch {
    // not transferable (a pooled or external buffer): it is freed by a full GC instead
  }
}
