import { fnv1a } from './naming.js';

export interface PortRequest {
  appId: string;
  portIndex: number;
}

/**
 * Service ports for IP-per-task ports that declare none, in [min, max]. A pure function of
 * the requests and the ports already taken: each request hashes to a start in the range and
 * probes upwards, in sorted order of (app id, port index). An app keeps its port while the
 * apps hashed before it stay, so ports rarely move when others come and go. A range that
 * starts at 0 (assignment turned off) gives none.
 */
export function assignServicePorts(requests: PortRequest[], taken: ReadonlySet<number>, min: number, max: number): Map<string, number> {
  const size = min > 0 ? max - min + 1 : 0;
  const used = new Set(taken);
  const out = new Map<string, number>();
  const sorted = [...requests].sort((a, b) => cmp(a.appId, b.appId) || a.portIndex - b.portIndex);
  for (const r of sorted) {
    if (size <= 0) break;
    const start = fnv1a(`${r.appId}:${r.portIndex}`) % size;
    for (let i = 0; i < size; i++) {
      const port = min + ((start + i) % size);
      if (!used.has(port)) {
        used.add(port);
        out.set(portKey(r.appId, r.portIndex), port);
        break;
      }
    }
  }
  return out;
}

export function portKey(appId: string, portIndex: number): string {
  return `${appId}#${portIndex}`;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
