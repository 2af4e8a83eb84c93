/** The slice of Marathon's REST API that mlb-ts reads (see design/MARATHON.md). */

/** Labels as the document has them: strings from Marathon, anything from a hand-written file (see labelText). */
export type Labels = Record<string, unknown>;

export interface PortDefinition {
  port?: number;
  protocol?: string;
  name?: string;
  labels?: Labels;
}

export interface PortMapping {
  containerPort?: number;
  hostPort?: number;
  servicePort?: number;
  protocol?: string;
  name?: string;
  labels?: Labels;
}

export interface Network {
  mode?: 'host' | 'container/bridge' | 'container' | string;
  name?: string;
}

/** A Marathon health check; null is "not set", as absent. */
export interface HealthCheckDef {
  protocol?: string | null;
  path?: string | null;
  portIndex?: number | null;
  port?: number | null;
  intervalSeconds?: number | null;
  timeoutSeconds?: number | null;
  gracePeriodSeconds?: number | null;
  maxConsecutiveFailures?: number | null;
}

export interface HealthCheckResult {
  alive?: boolean;
  consecutiveFailures?: number;
  firstSuccess?: string | null;
  lastSuccess?: string | null;
  lastFailure?: string | null;
  instanceId?: string;
  taskId?: string;
}

export interface Task {
  id: string;
  appId?: string;
  host?: string;
  ports?: number[];
  servicePorts?: number[];
  ipAddresses?: { ipAddress: string; protocol?: string }[];
  state?: string;
  healthCheckResults?: HealthCheckResult[];
  startedAt?: string | null;
  stagedAt?: string | null;
  version?: string;
  slaveId?: string;
}

export interface MarathonApp {
  id: string;
  labels?: Labels;
  instances?: number;
  version?: string;
  ports?: number[];
  portDefinitions?: PortDefinition[];
  networks?: Network[];
  container?: {
    type?: string;
    portMappings?: PortMapping[] | null;
    docker?: {
      image?: string;
      network?: 'HOST' | 'BRIDGE' | 'USER' | string;
      portMappings?: PortMapping[] | null;
    };
  } | null;
  ipAddress?: {
    networkName?: string;
    discovery?: { ports?: { number?: number; name?: string; protocol?: string; labels?: Labels }[] };
  } | null;
  healthChecks?: HealthCheckDef[];
  readinessChecks?: unknown[];
  deployments?: { id: string }[];
  tasks?: Task[];
  taskKillGracePeriodSeconds?: number;
}

export interface AppsDocument {
  apps: MarathonApp[];
}
