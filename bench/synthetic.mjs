/**
 * Synthetic Marathon clusters for benchmarks: `apps` apps × `tasks` tasks, a deterministic mix
 * of networking modes (host, bridge ≥1.5, container ≥1.5, docker BRIDGE ≤1.4) and labels
 * (vhosts, paths, sticky, redirects, auth, allow-ACLs, health checks), as
 * GET /v2/apps?embed=apps.tasks returns them.
 */
const HASH = '$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1';

function agent(i) {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}`;
}

function labelsFor(i, servicePort) {
  const labels = { HAPROXY_GROUP: 'external' };
  const kind = i % 10;
  if (kind < 5) labels.HAPROXY_0_VHOST = `app${i}.example.com${kind === 0 ? `,www.app${i}.example.com` : ''}`;
  if (kind === 1) labels.HAPROXY_0_PATH = `/api/v${i % 3}`;
  if (kind === 2) labels.HAPROXY_0_STICKY = 'true';
  if (kind === 3) labels.HAPROXY_0_REDIRECT_TO_HTTPS = 'true';
  if (kind === 4 && i % 20 === 4) labels.HAPROXY_0_AUTH = `realm:user${i}:${HASH}`;
  if (kind === 5) labels.HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL = '10.0.0.0/8 192.168.0.0/16';
  if (kind === 6) labels.HAPROXY_0_MODE = 'tcp';
  if (kind === 7) labels.HAPROXY_0_BALANCE = 'leastconn';
  labels.HAPROXY_0_PORT = String(servicePort);
  return labels;
}

function healthChecks(i) {
  if (i % 4 === 0) return [{ protocol: 'HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3, ignoreHttp1xx: false }];
  if (i % 4 === 1) return [{ protocol: 'MESOS_TCP', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 30, timeoutSeconds: 10, maxConsecutiveFailures: 3 }];
  return [];
}

function networking(i) {
  const mode = i % 4;
  if (mode === 0) return { networks: [{ mode: 'host' }], portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }] };
  if (mode === 1) return { networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image: 'nginx:1.25', forcePullImage: false, privileged: false, parameters: [] }, portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http', labels: {} }], volumes: [] } };
  if (mode === 2) return { networks: [{ mode: 'container', name: 'dcos' }], container: { type: 'MESOS', docker: { image: 'nginx:1.25' }, portMappings: [{ containerPort: 8080, protocol: 'tcp', name: 'http', labels: {} }], volumes: [] } };
  return { container: { type: 'DOCKER', docker: { image: 'nginx:1.25', network: 'BRIDGE', portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http' }] } } };
}

export function syntheticCluster(apps, tasksPerApp = 4) {
  const out = [];
  for (let i = 0; i < apps; i++) {
    const id = `/team${i % 50}/service-${i}`;
    const servicePort = 10000 + i;
    const net = networking(i);
    const hc = healthChecks(i);
    const tasks = [];
    for (let t = 0; t < tasksPerApp; t++) {
      const a = i * tasksPerApp + t;
      const host = agent(a % 5000);
      tasks.push({
        id: `${id.slice(1).replace(/\//g, '_')}.${(a * 2654435761 >>> 0).toString(16).padStart(8, '0')}-1c2d-11ef-9a6b-0242ac110002`,
        slaveId: `3f6f9b3e-6b7a-4c8e-9a1f-agent-${a % 5000}-S1`,
        host,
        state: 'TASK_RUNNING',
        startedAt: '2026-11-01T10:00:05.123Z',
        stagedAt: '2026-11-01T10:00:00.456Z',
        ports: i % 4 === 2 ? [] : [31000 + (a % 1000)],
        servicePorts: [servicePort],
        version: '2026-11-01T09:59:00.000Z',
        ipAddresses: [{ ipAddress: i % 4 === 2 ? `9.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}` : `172.17.0.${(a % 250) + 2}`, protocol: 'IPv4' }],
        appId: id,
        localVolumes: [],
        ...(hc.length ? { healthCheckResults: [{ alive: t !== 3 || i % 7 !== 0, consecutiveFailures: 0, firstSuccess: '2026-11-01T10:00:30.000Z', lastFailure: null, lastSuccess: '2026-11-01T10:05:30.000Z', lastFailureCause: null, instanceId: `instance-${a}` }] } : {}),
      });
    }
    out.push({
      id,
      cmd: null,
      args: null,
      user: null,
      env: { JAVA_OPTS: '-Xmx256m', SERVICE: `service-${i}` },
      instances: tasksPerApp,
      cpus: 0.5,
      mem: 256,
      disk: 0,
      gpus: 0,
      executor: '',
      constraints: [],
      uris: [],
      fetch: [],
      storeUrls: [],
      backoffSeconds: 1,
      backoffFactor: 1.15,
      maxLaunchDelaySeconds: 3600,
      ...net,
      healthChecks: hc,
      readinessChecks: [],
      dependencies: [],
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
      labels: labelsFor(i, servicePort),
      version: '2026-11-01T09:59:00.000Z',
      versionInfo: { lastScalingAt: '2026-11-01T09:59:00.000Z', lastConfigChangeAt: '2026-11-01T09:59:00.000Z' },
      killSelection: 'YOUNGEST_FIRST',
      unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
      tasksStaged: 0,
      tasksRunning: tasksPerApp,
      tasksHealthy: hc.length ? tasksPerApp : 0,
      tasksUnhealthy: 0,
      deployments: [],
      tasks,
    });
  }
  return { apps: out };
}
