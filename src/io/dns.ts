import { lookup } from 'node:dns/promises';
import { isIpLiteral } from '../model/labels/values.js';

interface Entry {
  ip: string | undefined;
  expires: number;
}

/**
 * Agent host names → IPv4, cached (positive answers for `ttlMs`, failures for `negativeTtlMs`)
 * so a sync of thousands of tasks on a few hundred agents costs a few hundred lookups at most.
 */
export class HostResolver {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly negativeTtlMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves every host not cached yet; returns a synchronous lookup for the pure model. */
  async resolveAll(hosts: Iterable<string>): Promise<(host: string) => string | undefined> {
    const t = this.now();
    const todo = [...new Set(hosts)].filter((h) => !isIpLiteral(h) && !((this.cache.get(h)?.expires ?? 0) > t));
    const CONCURRENCY = 32;
    for (let i = 0; i < todo.length; i += CONCURRENCY) {
      await Promise.all(todo.slice(i, i + CONCURRENCY).map((h) => this.resolveOne(h)));
    }
    return (host) => (isIpLiteral(host) ? host : this.cache.get(host)?.ip);
  }

  private async resolveOne(host: string): Promise<void> {
    try {
      const { address } = await lookup(host, { family: 4 });
      this.cache.set(host, { ip: address, expires: this.now() + this.ttlMs });
    } catch {
      this.cache.set(host, { ip: undefined, expires: this.now() + this.negativeTtlMs });
    }
  }
}
