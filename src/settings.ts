import { dirname, join } from 'node:path';
import type { InstallOptions } from './haproxy/install.js';
import type { ModelOptions } from './model/build.js';
import type { ListenPorts, RenderOptions } from './render/haproxy-config.js';

/** Everything the command line decides, after parsing (see design/CLI.md). */
export interface Settings {
  marathon: string[];
  groups: string[];
  healthCheck: boolean;
  strictMode: boolean;
  haproxyMap: boolean;
  haproxyConfig: string;
  sslCerts: string[];
  templatesDir?: string;
  labelTemplates: boolean;
  dontBindHttpHttps: boolean;
  groupHttpsByVhost: boolean;
  minServPortIpPerTask: number;
  maxServPortIpPerTask: number;
  sse: boolean;
  command?: string;
  reloadInterval: number;
  maxReloadRetries: number;
  maxBackoff: number;
  archiveVersions: number;
  authCredentialFile?: string;
  /** --auth-credentials user:password; only when no --marathon-auth-credential-file is given (that one wins). */
  authCredentials?: string;
  dcosTokenFile?: string;
  caCert?: string;
  skipValidation: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  haproxyBin: string;
  haproxySocket: string;
  masterSocket: string;
  listen: string;
  ipvs: boolean;
  ipvsApplyCommand?: string;
  ports: ListenPorts;
  hardStopAfter: string;
  resyncInterval: number;
  debounceMs: number;
  stallTimeout: number;
  spareSlots: number;
}

export const DEFAULTS = {
  marathon: ['http://master.mesos:8080'],
  haproxyConfig: '/etc/haproxy/haproxy.cfg',
  sslCerts: ['/etc/ssl/cert.pem'],
  minServPortIpPerTask: 10050,
  maxServPortIpPerTask: 10100,
  reloadInterval: 2,
  maxReloadRetries: 10,
  maxBackoff: 300,
  archiveVersions: 5,
  logLevel: 'info',
  haproxyBin: 'haproxy',
  haproxySocket: '/var/run/haproxy/socket',
  masterSocket: '/var/run/haproxy/master.sock',
  listen: '127.0.0.1:9095',
  ports: { http: 80, https: 443, appId: 9091, stats: 9090 },
  hardStopAfter: '5m',
  resyncInterval: 300,
  debounceMs: 50,
  stallTimeout: 60,
  spareSlots: 4,
} as const;

export function modelOptionsOf(s: Settings, resolveHost?: (host: string) => string | undefined): ModelOptions {
  return {
    groups: s.groups,
    strictMode: s.strictMode,
    healthCheck: s.healthCheck,
    minServicePort: s.minServPortIpPerTask,
    maxServicePort: s.maxServPortIpPerTask,
    labelTemplates: s.labelTemplates,
    reservedPorts: s.dontBindHttpHttps ? [s.ports.appId, s.ports.stats] : [s.ports.http, s.ports.https, s.ports.appId, s.ports.stats],
    ...(resolveHost ? { resolveHost } : {}),
  };
}

/** The server-state file beside a config (saved before a reload, loaded by the next worker). */
export function stateFileOf(configPath: string): string {
  return join(dirname(configPath), 'haproxy.state');
}

/** How a config that lives at `configPath` is installed. */
export function installOptionsOf(s: Settings, configPath: string): InstallOptions {
  return { configPath, haproxyBin: s.haproxyBin, skipValidation: s.skipValidation, archiveVersions: s.archiveVersions, stateFile: stateFileOf(configPath) };
}

/** Render options for a config that will live at `configPath`. */
export function renderOptionsOf(s: Settings, configPath: string): RenderOptions {
  const dir = dirname(configPath);
  return {
    haproxyDir: dir,
    sslCerts: s.sslCerts,
    haproxyMap: s.haproxyMap,
    dontBindHttpHttps: s.dontBindHttpHttps,
    groupHttpsByVhost: s.groupHttpsByVhost,
    adminSocket: s.haproxySocket,
    stateFile: stateFileOf(configPath),
    hardStopAfter: s.hardStopAfter,
    ports: s.ports,
    mlbApi: apiTarget(s.listen),
    spareSlots: () => s.spareSlots,
  };
}

/** Where HAProxy reaches mlb-ts's endpoints: a wildcard listen address is reached on loopback. */
export function apiTarget(listen: string): string {
  if (!listen) return '';
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i);
  return ['', '0.0.0.0', '*', '::', '[::]'].includes(host) ? `127.0.0.1:${listen.slice(i + 1)}` : listen;
}
