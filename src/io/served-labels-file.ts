import { dirname, join } from 'node:path';
import type { Labels } from '../marathon/types.js';
import { isJsonObject, jsonObjectContent, readJsonObject } from './json-object-file.js';

/**
 * The labels each app is served with by the config the daemon last applied, and which of its
 * ports that config serves, kept beside the config: at a start, before anything is applied, an
 * app whose labels were changed to ones HAProxy refuses while the daemon was down keeps being
 * served with these, as it would have been had the daemon run.
 */
const SERVED_LABELS_FILE = 'served-labels.json';

export interface ServedApp {
  labels: Labels;
  ports: number[];
}

export function servedLabelsPathOf(configPath: string): string {
  return join(dirname(configPath), SERVED_LABELS_FILE);
}

export function servedLabelsContent(served: ReadonlyMap<string, ServedApp>): string {
  return jsonObjectContent(served);
}

/** The served apps; none when the file is missing, and none with `error` when it can't be read or parsed. */
export function readServedLabels(path: string): { served: Map<string, ServedApp>; error?: string } {
  const { entries, error } = readJsonObject(path);
  const served = new Map<string, ServedApp>();
  for (const [id, entry] of entries) {
    const e = entry as Partial<ServedApp> | null;
    if (e && isJsonObject(e.labels) && Array.isArray(e.ports) && e.ports.every((p) => Number.isInteger(p))) served.set(id, { labels: e.labels as Labels, ports: e.ports });
  }
  return error ? { served, error } : { served };
}
