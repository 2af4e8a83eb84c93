import { readFileSync } from 'node:fs';
import { writeFilesAtomically } from './files.js';

/**
 * A state file mlb-ts keeps beside the config (kept-labels.json, served-labels.json): one JSON
 * object. Its entries; none when the file is missing, and none with `error` when it can't be
 * read, parsed, or is not an object (the caller says so and goes on without it).
 */
export function readJsonObject(path: string): { entries: [string, unknown][]; error?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    return { entries: [], error: (e as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { entries: [], error: 'not a JSON object' };
  return { entries: Object.entries(parsed as Record<string, unknown>) };
}

/** The file's content for `map`: keys sorted, indented; deterministic. */
export function jsonObjectContent<T>(map: ReadonlyMap<string, T>): string {
  const obj: Record<string, T> = {};
  for (const key of [...map.keys()].sort()) obj[key] = map.get(key) as T;
  return `${JSON.stringify(obj, null, 2)}\n`;
}

/** Writes the file atomically (temp file, rename). */
export function writeJsonObject(path: string, content: string): void {
  writeFilesAtomically([{ path, content }]);
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
