/**
 * The lines one-shot mode, `render` and `--dry-run` print on stderr, by level, as --log-level
 * asks (the daemon logs through pino instead). `error` lines always show.
 */

export type SayLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<SayLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold = RANK.info;

export function setSayLevel(level: SayLevel): void {
  threshold = RANK[level];
}

/** Writes `line` (and a newline) to stderr when --log-level lets `level` through. */
export function say(level: SayLevel, line: string): void {
  if (level === 'error' || RANK[level] >= threshold) process.stderr.write(`${line}\n`);
}
