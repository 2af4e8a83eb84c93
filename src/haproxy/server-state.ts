/** A server-state file with no servers: HAProxy needs at least the format version. */
export const EMPTY_SERVER_STATE = '1\n';
