import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFilesAtomically } from './files.js';

/**
 * The IP-per-task service ports mlb-ts assigned (portKey(app id, port index) → port), kept
 * beside the config so a restarted daemon or a later one-shot run gives each app the port it
 * had (ModelOptions.previousServicePorts) instead of assigning afresh.
 */
const SERVICE_PORTS_FILE = 'service-ports.json';

export function servicePortsPathOf(configPath: string): string {
  return join(dirname(configPath), SERVICE_PORTS_FILE);
}

/** The file's content for `ports`: a JSON object, keys sorted, one per line; deterministic. */
export function servicePortsContent(ports: ReadonlyMap<string, number>): string {
  const obj: Record<string, number> = {};
  for (const key of [...ports.keys()].sort()) obj[key] = ports.get(key) as number;
  return `${JSON.stringify(obj, null, 2)}\n`;
}

export interface ReadServicePorts {
  ports: Map<string, number>;
  /** The file's content as read (undefined when missing or unreadable). */
  content?: string;
  /** Why the file was ignored, when it exists but could not be read or parsed. */
  error?: string;
}

/**
 * Reads the assignments. A missing file gives none; an unreadable or malformed one gives none
 * with `error` (the caller logs it); entries that are not integer ports are skipped.
 */
export function readServicePorts(path: string): ReadServicePorts {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ports: new Map() };
    return { ports: new Map(), error: (e as Error).message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (e) {
    return { ports: new Map(), error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ports: new Map(), error: 'not a JSON object' };
  const ports = new Map<string, number>();
  for (const [key, port] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535) ports.set(key, port);
  }
  return { ports, content };
}

/**
 * Writes the assignments atomically (temp file, rename) unless the file already holds exactly
 * this content. No file is created for no assignments. Returns whether it wrote. Throws
 * E_INSTALL when it cannot.
 */
export function writeServicePorts(path: string, ports: ReadonlyMap<string, number>): boolean {
  const content = servicePortsContent(ports);
  const existing = readServicePorts(path).content;
  if (existing === content || (existing === undefined && ports.size === 0)) return false;
  writeFilesAtomically([{ path, content }]);
  return true;
}
