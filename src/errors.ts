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
  | 'E_HAPROXY_MISSING'
  | 'E_HAPROXY_INVALID'
  | 'E_INSTALL'
  | 'E_RELOAD'
  | 'E_RUNTIME'
  | 'E_RUNTIME_UNREACHABLE'
  | 'E_ZDD';

export class MlbError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'MlbError';
  }
}

export function isMlbError(e: unknown): e is MlbError {
  return e instanceof MlbError;
}

/** One line, suitable for stderr: `CODE: message (cause)`. */
export function errorLine(e: unknown): string {
  if (isMlbError(e)) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.code}: ${e.message}${cause}`.replace(/\s*\n\s*/g, ' ');
  }
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}
