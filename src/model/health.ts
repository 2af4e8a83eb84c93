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
 * The Marathon health check of this port index, as marathon-lb picks it: the first that either
 * checks a fixed `port` (that port, whichever service port) or this port index (none given
 * means 0, Marathon's default). A COMMAND check runs inside the task: it has no port and never
 * becomes an HAProxy check, so it is passed over.
 */
export function healthCheckDefFor(app: MarathonApp, portIndex: number): HealthCheckDef | undefined {
  return (app.healthChecks ?? []).find((hc) => isNetworkCheck(hc) && (!!hc.port || (hc.port == null && (hc.portIndex ?? 0) === portIndex)));
}

function isNetworkCheck(hc: HealthCheckDef): boolean {
  return PROTOCOLS[(hc.protocol ?? '').toUpperCase()] !== undefined;
}

/**
 * The check HAProxy runs for a service port: the port's own; without one, the check of
 * HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX's port (which only moves the check's port otherwise).
 */
export function serviceCheckDef(app: MarathonApp, portIndex: number, checkPortIndex: number | undefined): HealthCheckDef | undefined {
  return healthCheckDefFor(app, portIndex) ?? (checkPortIndex === undefined ? undefined : healthCheckDefFor(app, checkPortIndex));
}

/** What would end, comment out or unbalance the `option httpchk` line. */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_PATH = /[\s#"'\\\u0000-\u001f\u007f]/;

/** Whether a Marathon check's path can go on the `option httpchk` line as it is. */
export function isSafeCheckPath(path: string): boolean {
  return path.startsWith('/') && !UNSAFE_IN_PATH.test(path);
}

/** HAProxy's longest timer, in whole seconds (2^31 − 1 ms): a longer `inter` or `timeout check` fails the config. */
const MAX_TIMER_SECONDS = 2147483;

/** `v` rounded to a whole number, at least `min` and at most HAProxy's longest timer; `fallback` when unset (or not a number). */
function atLeast(min: number, v: number | null | undefined, fallback: number): number {
  if (v == null || !Number.isFinite(v)) return fallback;
  return Math.min(MAX_TIMER_SECONDS, Math.max(min, Math.round(v)));
}

/** Marathon's check → HAProxy's: interval → inter, failures + 1 → fall, timeout → timeout check (Marathon's defaults where unset). */
export function haproxyHealthCheck(def: HealthCheckDef | undefined): HealthCheck | undefined {
  const protocol = PROTOCOLS[(def?.protocol ?? '').toUpperCase()];
  if (!def || !protocol) return undefined;
  const maxConsecutiveFailures = atLeast(0, def.maxConsecutiveFailures, 3);
  const check: HealthCheck = {
    protocol,
    path: def.path && isSafeCheckPath(def.path) ? def.path : '/',
    // HAProxy refuses `inter 0s` (Marathon's own schema asks for ≥ 1 too).
    intervalSeconds: atLeast(1, def.intervalSeconds, 60),
    timeoutSeconds: atLeast(1, def.timeoutSeconds, 20),
    falls: maxConsecutiveFailures + 1,
    maxConsecutiveFailures,
    gracePeriodSeconds: def.gracePeriodSeconds ?? 300,
  };
  if (def.port) check.port = def.port;
  return check;
}

/**
 * The mode a service port's health check implies (a MODE label or a VHOST decides first): http
 * when the port's own check is plain HTTP, as in LABELS.md; else tcp. A check borrowed through
 * HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX says nothing of this port's protocol (an app port
 * beside an HTTP health port is often a database): an HTTP check runs in tcp mode too.
 */
export function modeFromHealthChecks(app: MarathonApp, portIndex: number): Mode {
  return (healthCheckDefFor(app, portIndex)?.protocol ?? '').toUpperCase() === 'HTTP' ? 'http' : 'tcp';
}
