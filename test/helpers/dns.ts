import dns, { type LookupAddress } from 'node:dns';

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Makes `host` resolve to `addresses` (IPv4, e.g. 127.0.0.1 and 127.0.0.2) for every
 * node:net connection, any other name as before, until the returned function is called.
 * Node then tries each address and, when all refuse, fails with an AggregateError.
 */
export function fakeHost(host: string, addresses: string[]): () => void {
  const original = dns.lookup;
  const all: LookupAddress[] = addresses.map((address) => ({ address, family: 4 }));
  function lookup(this: unknown, hostname: string, options: unknown, callback?: Callback): void {
    const cb = (typeof options === 'function' ? options : callback) as Callback;
    if (hostname !== host) return void (original as (...a: unknown[]) => void).call(this, hostname, options, callback);
    const wantAll = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    process.nextTick(() => (wantAll ? cb(null, all) : cb(null, all[0]?.address ?? '', 4)));
  }
  (dns as { lookup: unknown }).lookup = lookup;
  return () => {
    dns.lookup = original;
  };
}
