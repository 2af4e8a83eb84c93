import pino, { type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** One JSON object per line on stdout (or the given stream). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const dest = destination ?? pino.destination({ fd: 1, sync: true });
  return pino({ level, base: { name: 'mlb-ts' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, dest);
}
