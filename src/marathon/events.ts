import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { causeOf } from '../errors.js';
import { authHint } from './client.js';
import { authHeaders, displayUrl, type HttpAuth, requestTarget } from './http.js';

/**
 * The events that change what is balanced (MARATHON.md); Marathon filters server-side. Deleting
 * an app with no running task sends no api_post_event nor status update, only
 * app_terminated_event; changes made through /v2/groups send no api_post_event, and their
 * deployment ends with deployment_success.
 */
export const RELEVANT_EVENTS = ['status_update_event', 'health_status_changed_event', 'api_post_event', 'app_terminated_event', 'deployment_success'] as const;

/**
 * A stream that stayed up this long, or delivered an event, was healthy: the reconnect backoff
 * starts again from its first step. One that closes sooner without an event counts as a failure,
 * or a stream that opens and closes at once would be reopened, and every app refetched, twice a
 * second for ever; as Marathon did answer, its wait is capped at this long, not --max-backoff.
 */
export const HEALTHY_STREAM_MS = 30_000;

export function eventsUrl(base: string): string {
  const q = RELEVANT_EVENTS.map((t) => `event_type=${t}`).join('&');
  return `${base.replace(/\/+$/, '')}/v2/events?plan-format=light&${q}`;
}

export interface StreamHooks {
  onEvent(type: string, data: unknown): void;
  /**
   * After every (re)connect: the caller resyncs fully, since events may have been missed.
   * `url`: the base URL connected to, without its user:password (displayUrl).
   */
  onConnect(url: string): void;
  onDisconnect(reason: string, retryInMs: number): void;
}

export interface StreamOptions {
  urls: string[];
  auth?: HttpAuth;
  ca?: string | Buffer;
  /** No byte (keep-alives included) for this long: the stream is dead, reconnect. */
  stallTimeoutMs: number;
  maxBackoffMs: number;
  initialBackoffMs?: number;
  random?: () => number;
  /** See HEALTHY_STREAM_MS (tests shorten it). */
  healthyStreamMs?: number;
  /** See MAX_EVENT_BYTES (tests shorten it). */
  maxEventBytes?: number;
}

/**
 * Full jitter between half and all of an exponential step, capped: spreads the reconnects
 * of many mlb-ts instances after a Marathon leader change.
 */
export function backoffMs(failures: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
  return Math.round(step * (0.5 + random() * 0.5));
}

/**
 * Longest event (bytes from one blank line to the next) or line the stream may send: Marathon's
 * are one JSON line, an api_post_event with its app definition a few hundred kilobytes at most.
 * A stream that goes past it is cut and reopened; without a bound, a stream that never ends its
 * line would be buffered until the process runs out of memory.
 */
export const MAX_EVENT_BYTES = 32 * 1024 * 1024;

interface Watched {
  lastByteAt: number;
  /** The requests of the current stream (redirect hops included): destroyed when it is given up. */
  requests: Set<ClientRequest>;
  maxEventBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Counts the bytes of the event under way; throws once it passes `max`. An event ends at a blank
 * line: a line break (LF, CR or CRLF) right after another.
 */
function eventSizeGuard(max: number): (chunk: Uint8Array) => void {
  let size = 0;
  let afterBreak = false;
  let prev = 0;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (c === LF || c === CR) {
        // The LF of a CRLF ends nothing new.
        if (!(c === LF && prev === CR)) {
          if (afterBreak) size = 0;
          afterBreak = true;
        }
      } else {
        afterBreak = false;
        if (++size > max) throw new Error(`an event longer than ${max >= 1 << 20 ? `${Math.round(max / (1 << 20))} MB` : `${max} bytes`} (no blank line to end it)`);
      }
      prev = c;
    }
  };
}

/**
 * A FetchLike over node:http(s): adds auth (a URL's user:password becomes Basic auth, kept
 * across redirects), trusts the CA bundle, follows redirects to the leader, and stamps every
 * received chunk so a silent stream can be detected. A failure's message is its causeOf.
 */
function watchedFetch(opts: Pick<StreamOptions, 'auth' | 'ca'>, watch: Watched): FetchLike {
  const open = (target: URL, signal: AbortSignal | undefined, headers: Record<string, string>, hops: number, given: HttpAuth | undefined): Promise<FetchLikeResponse> =>
    new Promise((resolve, reject) => {
      const { url, auth } = requestTarget(target, given);
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { headers: { ...headers, ...authHeaders(auth) }, ...(opts.ca ? { ca: opts.ca } : {}) }, (res: IncomingMessage) => {
        watch.lastByteAt = Date.now();
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && hops < 5) {
          res.resume();
          open(new URL(res.headers.location, url), signal, headers, hops + 1, auth).then(resolve, reject);
          return;
        }
        const reader = (Readable.toWeb(res) as ReadableStream<Uint8Array>).getReader();
        const guard = eventSizeGuard(watch.maxEventBytes);
        resolve({
          url: url.toString(),
          status,
          redirected: hops > 0,
          headers: { get: (name: string) => headerValue(res, name) },
          body: {
            getReader: () => ({
              read: async () => {
                const r = await reader.read();
                watch.lastByteAt = Date.now();
                if (r.value) {
                  try {
                    guard(r.value);
                  } catch (e) {
                    req.destroy();
                    throw e;
                  }
                }
                return r;
              },
              cancel: () => reader.cancel(),
            }),
          },
        });
      });
      watch.requests.add(req);
      req.on('close', () => watch.requests.delete(req));
      const abort = () => req.destroy(new Error('aborted'));
      if (signal?.aborted) abort();
      signal?.addEventListener('abort', abort, { once: true });
      // eventsource reports an error's message: one with none (an AggregateError) would say nothing.
      req.on('error', (e) => reject(new Error(causeOf(e))));
      req.end();
    });
  return (input, init) => open(new URL(String(input)), init.signal as AbortSignal | undefined, { ...init.headers }, 0, opts.auth);
}

function headerValue(res: IncomingMessage, name: string): string | null {
  const key = name.toLowerCase();
  const v = res.headers[key];
  if (v === undefined) return null;
  const value = Array.isArray(v) ? v.join(', ') : v;
  // A media type is case-insensitive (RFC 9110); eventsource compares with "text/event-stream".
  return key === 'content-type' ? value.toLowerCase() : value;
}

/**
 * Follows Marathon's event stream. On close, error or stall it reconnects with capped
 * exponential backoff and jitter, rotating through the --marathon URLs (failover).
 */
export class MarathonEventStream {
  private es: EventSource | undefined;
  private failures = 0;
  private attempt = 0;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly watch: Watched;
  /** When the current stream opened. */
  private openedAt = 0;
  /** Relevant events the current stream has delivered. */
  private eventsSinceOpen = 0;
  connected = false;

  constructor(
    private readonly opts: StreamOptions,
    private readonly hooks: StreamHooks,
  ) {
    this.watch = { lastByteAt: 0, requests: new Set(), maxEventBytes: opts.maxEventBytes ?? MAX_EVENT_BYTES };
  }

  start(): void {
    this.stopped = false;
    this.connect();
    const tick = Math.max(100, Math.min(1000, this.opts.stallTimeoutMs / 4));
    this.stallTimer = setInterval(() => this.checkStall(), tick);
    this.stallTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.stallTimer);
    this.release();
    this.connected = false;
  }

  /**
   * Closes the current stream and its connection. EventSource.close() alone leaves it open when
   * EventSource has already given the answer up (not 200, not text/event-stream): the body of
   * such an answer would stay open, a socket per reconnect, and keep the process from exiting.
   */
  private release(): void {
    this.es?.close();
    this.es = undefined;
    for (const req of this.watch.requests) req.destroy();
    this.watch.requests.clear();
  }

  private connect(): void {
    if (this.stopped) return;
    const base = this.opts.urls[this.attempt % this.opts.urls.length] as string;
    this.attempt++;
    const url = eventsUrl(base);
    this.watch.lastByteAt = Date.now();
    const es = new EventSource(url, { fetch: watchedFetch(this.opts, this.watch) });
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      this.connected = true;
      this.openedAt = Date.now();
      this.eventsSinceOpen = 0;
      this.attempt--; // stay on the URL that works
      this.hooks.onConnect(displayUrl(base));
    };
    es.onerror = (ev) => {
      if (this.es !== es) return;
      // Which Marathon, and for a 401/403 what to check: DC/OS may let these credentials read apps but not events.
      // (A 204 is "not reconnecting" to EventSource; mlb-ts does reconnect.)
      const why = ev.code === 204 ? 'HTTP 204, no event stream' : ev.message || (ev.code ? `HTTP ${ev.code}` : 'stream closed');
      this.retry(`${displayUrl(base)}: ${why}${authHint(ev.code)}`);
    };
    for (const type of RELEVANT_EVENTS) {
      es.addEventListener(type, (ev: MessageEvent) => {
        if (this.es !== es) return;
        this.eventsSinceOpen++;
        let data: unknown = ev.data;
        try {
          data = JSON.parse(String(ev.data));
        } catch {
          // Keep the raw text; a relevant event triggers a refetch whatever it says.
        }
        this.hooks.onEvent(type, data);
      });
    }
  }

  private retry(reason: string): void {
    const healthyMs = this.opts.healthyStreamMs ?? HEALTHY_STREAM_MS;
    const opened = this.connected;
    // A stream that delivered events worked, however soon it was cut (a proxy capping connection age).
    if (opened && (this.eventsSinceOpen > 0 || Date.now() - this.openedAt >= healthyMs)) this.failures = 0;
    this.release();
    this.connected = false;
    if (this.stopped) return;
    let wait = backoffMs(this.failures++, this.opts.initialBackoffMs ?? 500, this.opts.maxBackoffMs, this.opts.random);
    // One that opened but closes at once without events backs off too, but only up to HEALTHY_STREAM_MS:
    // Marathon answers, so waiting minutes would only leave the config behind.
    if (opened) wait = Math.min(wait, healthyMs);
    this.hooks.onDisconnect(reason, wait);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  private checkStall(): void {
    if (!this.es || this.stopped) return;
    const silent = Date.now() - this.watch.lastByteAt;
    if (silent > this.opts.stallTimeoutMs) this.retry(`no bytes for ${silent} ms (stalled)`);
  }
}
