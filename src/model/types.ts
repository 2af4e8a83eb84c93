import { oneLine } from '../errors.js';
import type { BasicAuth } from './labels/values.js';

export type Mode = 'http' | 'tcp';
export type NetworkingMode = 'host' | 'bridge' | 'container';

export interface HealthCheck {
  protocol: 'http' | 'https' | 'tcp';
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** maxConsecutiveFailures + 1 */
  falls: number;
  maxConsecutiveFailures: number;
  gracePeriodSeconds: number;
  /** Marathon's fixed `port` of the check, when it has one instead of a port index. */
  port?: number;
}

/** `ready` takes traffic; `drain` finishes what it has and gets nothing new (TASK_KILLING, blue/green). */
export type ServerState = 'ready' | 'drain';

export interface Server {
  /** Stable: derived from agent host, IP and port. */
  name: string;
  /** Stable numeric id, unique within the backend. */
  id: number;
  host: string;
  ip: string;
  port: number;
  /** Port of the health check when HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX points elsewhere. */
  checkPort?: number;
  /**
   * Its task has no port at that index (a task of the app's version before the port was added):
   * no health check, as one on the serving port would find a healthy task down.
   */
  unchecked?: true;
  state: ServerState;
  taskId: string;
  appId: string;
}

export interface Service {
  /** App id used for routing and naming (HAPROXY_APP_ID, else the Marathon id). */
  appId: string;
  /** Marathon app ids that feed this service (two during a blue/green deployment). */
  sourceAppIds: string[];
  /** Each source app's port index that feeds this service, in the order of sourceAppIds (blue/green sides may differ). */
  sourcePortIndexes: number[];
  portIndex: number;
  /** The port HAProxy binds for this service. */
  servicePort: number;
  /** Where the port came from: Marathon's service port, HAPROXY_{n}_PORT, or the IP-per-task range. */
  servicePortSource: 'marathon' | 'label' | 'assigned';
  backend: string;
  mode: Mode;
  vhosts: string[];
  path?: string;
  backendWeight: number;
  bindAddr: string;
  bindOptions: string;
  sslCert?: string;
  balance: string;
  sticky: boolean;
  redirectToHttps: boolean;
  useHsts: boolean;
  auth?: BasicAuth;
  allowedNetworks?: string[];
  healthCheck?: HealthCheck;
  /**
   * Port index whose port the check uses: HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX, else the
   * port index of the Marathon check behind `healthCheck`; unset when neither.
   */
  healthCheckPortIndex?: number;
  proxypassPath?: string;
  revproxyPath?: string;
  redirPath?: string;
  deploymentGroup?: string;
  /** Per-port label template overrides: template name → [label name, source]. */
  templates: Record<string, [string, string]>;
  servers: Server[];
}

export interface LbModel {
  /** Sorted by backend name. */
  services: Service[];
}

export interface Warning {
  code: string;
  appId: string;
  label?: string;
  message: string;
}

/** Records a warning about an app; `label` when one label is to blame. */
export type Warn = (code: string, appId: string, message: string, label?: string) => void;

/** A Warn that appends to `warnings`. */
export function warnInto(warnings: Warning[]): Warn {
  return (code, appId, message, label) => {
    warnings.push({ code, appId, message, ...(label ? { label } : {}) });
  };
}

export function warningLine(w: Warning): string {
  return oneLine(`${w.code}: app ${w.appId}${w.label ? ` ${w.label}` : ''}: ${w.message}`);
}
