import { dirname, join } from 'node:path';
import type { Labels } from '../marathon/types.js';
import { isJsonObject, jsonObjectContent, readJsonObject } from './json-object-file.js';

/**
 * The apps the daemon serves with the labels they had because HAProxy refuses their new ones
 * (app id → the labels served, and the refused ones as JSON), kept beside the config so a
 * restarted daemon keeps serving them too.
 */
const KEPT_LABELS_FILE = 'kept-labels.json';

export interface KeptLabels {
  labels: Labels;
  refused: string;
}

export function keptLabelsPathOf(configPath: string): string {
  return join(dirname(configPath), KEPT_LABELS_FILE);
}

/** The file's content: app ids sorted; deterministic. */
export function keptLabelsContent(kept: ReadonlyMap<string, KeptLabels>): string {
  return jsonObjectContent(kept);
}

/** The kept apps; none when the file is missing, and none with `error` when it can't be read or parsed. */
export function readKeptLabels(path: string): { kept: Map<string, KeptLabels>; error?: string } {
  const { entries, error } = readJsonObject(path);
  const kept = new Map<string, KeptLabels>();
  for (const [id, entry] of entries) {
    const e = entry as Partial<KeptLabels> | null;
    if (e && typeof e.refused === 'string' && isJsonObject(e.labels)) kept.set(id, { labels: e.labels as Labels, refused: e.refused });
  }
  return error ? { kept, error } : { kept };
}
