import type { ServerResponse } from 'node:http';

/** One event on Marathon's bus: `eventType`, `timestamp` and the type's own fields. */
export interface MarathonEvent {
  eventType: string;
  timestamp: string;
  [field: string]: unknown;
}

/** The SSE frame Marathon sends for an event. */
export function sseFrame(event: MarathonEvent): string {
  return `event: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`;
}

export const KEEP_ALIVE = ':\n';

/** Repeated `event_type=` parameters; undefined (= every type) when there are none. */
export function eventTypeFilter(params: URLSearchParams): Set<string> | undefined {
  const types = params.getAll('event_type').flatMap((t) => t.split(',')).filter((t) => t !== '');
  return types.length > 0 ? new Set(types) : undefined;
}

interface Subscriber {
  res: ServerResponse;
  types?: Set<string>;
  /** Frames held while the hub is paused. */
  held: string[];
}

/** The open `/v2/events` streams: filters, keep-alives, pausing (stall) and dropping them. */
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly keepAlive?: NodeJS.Timeout;
  private paused = false;

  constructor(keepAliveMs: number) {
    if (keepAliveMs > 0) this.keepAlive = setInterval(() => this.sendKeepAlives(), keepAliveMs);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Starts streaming on `res` (headers are sent at once); `onClose` runs when it ends. */
  attach(res: ServerResponse, types: Set<string> | undefined, onClose: () => void): void {
    const sub: Subscriber = { res, types, held: [] };
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-store', Connection: 'keep-alive' });
    res.flushHeaders();
    this.subscribers.add(sub);
    res.on('close', () => {
      if (this.subscribers.delete(sub)) onClose();
    });
  }

  publish(event: MarathonEvent): void {
    const frame = sseFrame(event);
    for (const sub of this.subscribers) {
      if (sub.types && !sub.types.has(event.eventType)) continue;
      if (this.paused) sub.held.push(frame);
      else sub.res.write(frame);
    }
  }

  /** Nothing is written until resume(): events are held, keep-alives skipped. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const sub of this.subscribers) {
      if (sub.held.length > 0) sub.res.write(sub.held.join(''));
      sub.held = [];
    }
  }

  /** Ends every stream (cleanly, or by resetting the connection); returns how many. */
  dropAll(abrupt = false): number {
    const subs = [...this.subscribers];
    for (const sub of subs) {
      if (abrupt) sub.res.socket?.destroy();
      else sub.res.end();
    }
    return subs.length;
  }

  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.dropAll(true);
    this.subscribers.clear();
  }

  private sendKeepAlives(): void {
    if (this.paused) return;
    for (const sub of this.subscribers) sub.res.write(KEEP_ALIVE);
  }
}
