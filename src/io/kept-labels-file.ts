import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Labels } from '../marathon/types.js';
import { writeFilesAtomically } from './files.js';

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
  const obj: Record<string, KeptLabels> = {};
  for (const id of [...kept.keys()].sort()) obj[id] = kept.get(id) as KeptLabels;
  return `${JSON.stringify(obj, null, 2)}\n`;
}

/** The kept apps; none when the file is missing, and none with `error` when it can't be read or parsed. */
export function readKeptLabels(path: string): { kept: Map<string, KeptLabels>; error?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kept: new Map() };
    return { kept: new Map(), error: (e as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { kept: new Map(), error: 'not a JSON object' };
  const kept = new Map<string, KeptLabels>();
  for (const [id, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const e = entry as Partial<KeptLabels> | null;
    if (e && typeof e.refused === 'string' && typeof e.labels === 'object' && e.labels !== null && !Array.isArray(e.labels)) kept.set(id, { labels: e.labels, refused: e.refused });
  }
  return { kept };
}

/** Writes the kept apps atomically (an empty object once none is kept). */
export function writeKeptLabels(path: string, kept: ReadonlyMap<string, KeptLabels>): void {
  writeFilesAtomically([{ path, content: keptLabelsContent(kept) }]);
}
