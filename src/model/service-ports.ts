import { fnv1a } from './naming.js';
import type { Service } from './types.js';

export interface PortRequest {
  appId: string;
  portIndex: number;
}

/**
 * Service ports for IP-per-task ports that declare none, in [min, max]. A pure function of
 * the requests, the ports already taken and `previous` (portKey → port: what an earlier run
 * assigned), in sorted order of (app id, port index):
 *
 * 1. a request keeps its previous port while that is in the range and not taken;
 * 2. the rest get their home port (a hash of app id and port index into the range) when free;
 * 3. the rest probe upwards from their home port, wrapping around.
 *
 * With `previous`, an app keeps its port whatever comes or goes. Without it, an app on its
 * home port keeps it unless a newcomer sorted before it has the same home port, and only
 * apps that were displaced (step 3) can move when others come or go. A range that starts
 * at 0 (assignment turned off) gives none.
 */
export function assignServicePorts(requests: readonly PortRequest[], taken: ReadonlySet<number>, min: number, max: number, previous?: ReadonlyMap<string, number>): Map<string, number> {
  const size = min > 0 ? max - min + 1 : 0;
  const out = new Map<string, number>();
  if (size <= 0) return out;
  const used = new Set(taken);
  const sorted = [...requests].sort((a, b) => cmp(a.appId, b.appId) || a.portIndex - b.portIndex);
  const keys = sorted.map((r) => portKey(r.appId, r.portIndex));
  const give = (key: string, port: number): void => {
    used.add(port);
    out.set(key, port);
  };
  if (previous && previous.size > 0) {
    for (const key of keys) {
      const port = previous.get(key);
      if (port !== undefined && Number.isInteger(port) && port >= min && port <= max && !used.has(port)) give(key, port);
    }
  }
  const homes = sorted.map((r) => fnv1a(`${r.appId}:${r.portIndex}`) % size);
  for (let i = 0; i < sorted.length; i++) {
    const key = keys[i] as string;
    const port = min + (homes[i] as number);
    if (!out.has(key) && !used.has(port)) give(key, port);
  }
  for (let i = 0; i < sorted.length; i++) {
    const key = keys[i] as string;
    if (out.has(key)) continue;
    const home = homes[i] as number;
    for (let p = 1; p < size; p++) {
      const port = min + ((home + p) % size);
      if (!used.has(port)) {
        give(key, port);
        break;
      }
    }
  }
  return out;
}

/**
 * The service ports a model's services got from the IP-per-task range, by portKey(Marathon app
 * id, port index): what a later build takes as ModelOptions.previousServicePorts to keep them.
 */
export function assignedServicePorts(services: readonly Service[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of services) {
    const appId = s.sourceAppIds[0];
    if (s.servicePortSource === 'assigned' && appId !== undefined) out.set(portKey(appId, s.portIndex), s.servicePort);
  }
  return out;
}

export function portKey(appId: string, portIndex: number): string {
  return `${appId}#${portIndex}`;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
