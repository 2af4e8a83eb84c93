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

/**
 * A logger of one `mlb-ts: message (key value, …)` line per call, at its level: one-shot mode's
 * stderr, for the parts it shares with the daemon (IPVS), whose lines are JSON there.
 */
export const sayLog = {
  info: (details: object, msg: string) => say('info', sayLine(details, msg)),
  warn: (details: object, msg: string) => say('warn', sayLine(details, msg)),
  error: (details: object, msg: string) => say('error', sayLine(details, msg)),
};

function sayLine(details: object, msg: string): string {
  const parts = Object.entries(details)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : JSON.stringify(v)}`);
  return `mlb-ts: ${msg}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}
