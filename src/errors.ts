/** Stable error codes: operators grep for these, tests assert them. */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_INPUT_UNREADABLE'
  | 'E_INPUT_NOT_JSON'
  | 'E_INPUT_NOT_MARATHON'
  | 'E_MARATHON_UNREACHABLE'
  | 'E_MARATHON_HTTP'
  | 'E_LABEL_INVALID'
  | 'E_PORT_INDEX_UNKNOWN'
  | 'E_PORT_CONFLICT'
  | 'E_NO_SERVICE_PORT'
  | 'E_TEMPLATE_INVALID'
  | 'E_TEMPLATE_DIR'
  | 'E_HOST_UNRESOLVED'
  | 'E_APP_ID_INVALID'
  | 'E_APP_UNREADABLE'
  | 'E_APP_DUPLICATE'
  | 'E_TASK_IP_INVALID'
  | 'E_HAPROXY_MISSING'
  | 'E_HAPROXY_INVALID'
  | 'E_INSTALL'
  | 'E_RELOAD'
  | 'E_RUNTIME'
  | 'E_RUNTIME_UNREACHABLE'
  | 'E_LISTEN'
  | 'E_ZDD';

export class MlbError extends Error {
  readonly code: ErrorCode;
  /** What the failing tool said (e.g. HAProxy's alert lines), for attributing the failure. */
  readonly details: string[];
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = 'MlbError';
    this.details = options?.details ?? [];
  }
}

export function isMlbError(e: unknown): e is MlbError {
  return e instanceof MlbError;
}

/** An error's own message; an AggregateError's that has none: its errors' messages. */
function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.message.trim() || !(e instanceof AggregateError) || !Array.isArray(e.errors)) return e.message.trim();
  return (e.errors as unknown[]).map(messageOf).filter(Boolean).join(', ');
}

/**
 * What went wrong, in one line: the error's message. An AggregateError has none when every
 * address of a host name refused (Node tries each): its errors' messages then, else its
 * code, else "connection failed". Any other error without a message: its code, else its name.
 */
export function causeOf(e: unknown): string {
  let text = messageOf(e);
  if (!text && e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    text = typeof code === 'string' && code ? code : e instanceof AggregateError ? 'connection failed' : e.name;
  }
  return text.replace(/\s*\n\s*/g, ' ');
}

/** One line, suitable for stderr: `CODE: message: cause`; the cause only when the message doesn't say it already. */
export function errorLine(e: unknown): string {
  if (isMlbError(e)) {
    const message = e.message.replace(/\s*\n\s*/g, ' ');
    const cause = e.cause instanceof Error ? causeOf(e.cause) : '';
    return oneLine(`${e.code}: ${message}${cause && !message.includes(cause) ? `: ${cause}` : ''}`);
  }
  return oneLine(causeOf(e));
}

const UNPRINTABLE = '\\u0000-\\u001f\\u007f\\u0085\\u2028\\u2029';
const CONTROL_OR_BREAK = new RegExp(`[${UNPRINTABLE}]`, 'g');

/**
 * Line breaks and other control characters, escaped (`\n`, `\u0085`): an error or warning line
 * stays one line, and a terminal shows it as written, whatever the input it quotes held.
 */
export function oneLine(s: string): string {
  return s.replace(CONTROL_OR_BREAK, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
