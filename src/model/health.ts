import type { HealthCheckDef, MarathonApp } from '../marathon/types.js';
import type { HealthCheck, Mode } from './types.js';

const PROTOCOLS: Record<string, HealthCheck['protocol'] | undefined> = {
  HTTP: 'http',
  MESOS_HTTP: 'http',
  HTTPS: 'https',
  MESOS_HTTPS: 'https',
  TCP: 'tcp',
  MESOS_TCP: 'tcp',
};

/**
 * The Marathon health check HAProxy's check of this port index follows, as marathon-lb picks it:
 * the first that either checks a fixed `port` (that port, whichever service port) or this port
 * index (none given means 0).
 */
export function healthCheckDefFor(app: MarathonApp, portIndex: number): HealthCheckDef | undefined {
  return (app.healthChecks ?? []).find((hc) => !!hc.port || (hc.port === undefined && (hc.portIndex ?? 0) === portIndex));
}

/** What would end, comment out or unbalance the `option httpchk` line. */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_PATH = /[\s#"'\\\u0000-\u001f\u007f]/;

/** Marathon's check → HAProxy's: interval → inter, failures + 1 → fall, timeout → timeout check (Marathon's defaults where unset). */
export function haproxyHealthCheck(def: HealthCheckDef | undefined): HealthCheck | undefined {
  const protocol = PROTOCOLS[(def?.protocol ?? '').toUpperCase()];
  if (!def || !protocol) return undefined;
  const maxConsecutiveFailures = def.maxConsecutiveFailures ?? 3;
  const check: HealthCheck = {
    protocol,
    path: def.path && def.path.startsWith('/') && !UNSAFE_IN_PATH.test(def.path) ? def.path : '/',
    intervalSeconds: def.intervalSeconds ?? 60,
    timeoutSeconds: def.timeoutSeconds ?? 20,
    falls: maxConsecutiveFailures + 1,
    maxConsecutiveFailures,
    gracePeriodSeconds: def.gracePeriodSeconds ?? 300,
  };
  if (def.port) check.port = def.port;
  return check;
}

/** http when the app's first health check is plain HTTP, else tcp (a VHOST or MODE label decides first). */
export function modeFromHealthChecks(app: MarathonApp): Mode {
  return (app.healthChecks?.[0]?.protocol ?? '').toUpperCase() === 'HTTP' ? 'http' : 'tcp';
}
