import { PORT_TEMPLATE_NAMES, TEMPLATE_BY_NAME } from '../../render/template-registry.js';
import {
  type BasicAuth,
  parseAuth,
  parseBalance,
  parseBindAddr,
  parseBool,
  parseInteger,
  parseList,
  parseMode,
  parseNetworks,
  parsePort,
  parsePortIndex,
  parseTimestamp,
  parsePathPrefixes,
  parseUrlPath,
  parseVhosts,
  parseAppId,
  parseWord,
  parseWords,
} from './values.js';

/**
 * The one table of labels. Parsing, defaults, validation and `mlb-ts labels` all come
 * from here. `{n}` in a name is a service port index.
 */
export interface LabelSpec<T> {
  name: string;
  scope: 'app' | 'port';
  type: string;
  default: string;
  description: string;
  parse: (raw: string) => T;
}

function spec<T>(scope: 'app' | 'port', suffix: string, type: string, def: string, description: string, parse: (raw: string) => T): LabelSpec<T> {
  return { name: scope === 'port' ? `HAPROXY_{n}_${suffix}` : `HAPROXY_${suffix}`, scope, type, default: def, description, parse };
}

export interface PortLabels {
  group?: string[];
  enabled?: boolean;
  port?: number;
  mode?: 'http' | 'tcp';
  vhost?: string[];
  path?: string;
  backendWeight?: number;
  bindAddr?: string;
  bindOptions?: string;
  sslCert?: string;
  balance?: string;
  sticky?: boolean;
  redirectToHttps?: boolean;
  useHsts?: boolean;
  auth?: BasicAuth;
  allowedNetworks?: string[];
  healthCheckPortIndex?: number;
  proxypassPath?: string;
  revproxyPath?: string;
  redirPath?: string;
}

export interface AppLabels {
  group?: string[];
  appId?: string;
  deploymentGroup?: string;
  deploymentAltPort?: number;
  deploymentColour?: string;
  deploymentStartedAt?: string;
  deploymentTargetInstances?: number;
  deploymentNewInstances?: number;
}

type Registry<T> = { [K in keyof T]-?: LabelSpec<NonNullable<T[K]>> };

export const PORT_LABELS: Registry<PortLabels> = {
  group: spec('port', 'GROUP', 'list', 'HAPROXY_GROUP', 'groups for this port, comma-separated; overrides HAPROXY_GROUP', parseList),
  enabled: spec('port', 'ENABLED', 'bool', 'true (false with --strict-mode)', 'serve this port; with --strict-mode a port is off unless this is true', parseBool),
  port: spec('port', 'PORT', 'port', "the app's service port", 'the port HAProxy binds for this service; also names the backend', parsePort),
  mode: spec('port', 'MODE', 'http|tcp', "http with a VHOST or when the port's own health check is HTTP, else tcp", 'proxy mode', parseMode),
  vhost: spec('port', 'VHOST', 'hosts', 'none', 'host names, comma-separated (lowercased); route :80 by Host and :443 by SNI to this backend; *.example.com takes any name ending in .example.com that no exact host (or map entry) takes; host:port routes the host (the port is ignored, with a warning)', parseVhosts),
  path: spec('port', 'PATH', 'paths', 'none', "with a VHOST, also match this path prefix; several, space-separated, match any (HAProxy's path_beg arguments, `-i` first ignores case)", parsePathPrefixes),
  backendWeight: spec('port', 'BACKEND_WEIGHT', 'int', '0 (1 with a PATH)', 'order of vhost rules across apps: larger first', parseInteger),
  bindAddr: spec('port', 'BIND_ADDR', 'address', '*', "bind address of the service's frontend", parseBindAddr),
  bindOptions: spec('port', 'BIND_OPTIONS', 'words', 'none', 'extra words on the bind line', parseWords),
  sslCert: spec('port', 'SSL_CERT', 'path', 'none', "terminate TLS on the service's frontend with this certificate (also added to :443)", parseWord),
  balance: spec('port', 'BALANCE', 'algorithm', 'roundrobin', 'balance algorithm', parseBalance),
  sticky: spec('port', 'STICKY', 'bool', 'false', 'cookie-based stickiness (http)', parseBool),
  redirectToHttps: spec('port', 'REDIRECT_TO_HTTPS', 'bool', 'false', '301 from http to https for the vhost (and path)', parseBool),
  useHsts: spec('port', 'USE_HSTS', 'bool', 'false', 'add a Strict-Transport-Security response header', parseBool),
  auth: spec('port', 'AUTH', 'realm:user:hash', 'none', 'HTTP basic auth through a userlist; the password is crypt(3)-encrypted', parseAuth),
  allowedNetworks: spec('port', 'BACKEND_NETWORK_ALLOWED_ACL', 'cidrs', 'all', 'space-separated IPs/CIDRs allowed; others get 403 (http) or are rejected (tcp)', parseNetworks),
  healthCheckPortIndex: spec('port', 'BACKEND_HEALTHCHECK_PORT_INDEX', 'index', 'the port itself', "port index whose port the HAProxy health check uses (and whose check, when the port has none of its own; the mode stays the port's)", parsePortIndex),
  proxypassPath: spec('port', 'HTTP_BACKEND_PROXYPASS_PATH', 'path', 'none', 'strip this prefix from the request path before forwarding', parseUrlPath),
  revproxyPath: spec('port', 'HTTP_BACKEND_REVPROXY_PATH', 'path', 'none', 'rewrite Location/Content-Location/URI response headers to start with this path', parseUrlPath),
  redirPath: spec('port', 'HTTP_BACKEND_REDIR', 'path', 'none', 'redirect requests for / to this path', parseUrlPath),
};

export const APP_LABELS: Registry<AppLabels> = {
  group: spec('app', 'GROUP', 'list', 'none', 'groups, comma-separated; rendered by an instance run with a matching --group, or --group *', parseList),
  appId: spec('app', 'APP_ID', 'app id', 'the Marathon id', 'app id used for X-Marathon-App-Id routing and backend names (kept across blue/green deploys)', parseAppId),
  deploymentGroup: spec('app', 'DEPLOYMENT_GROUP', 'name', 'none', 'blue/green: apps of one group with the same HAPROXY_{n}_PORT are served as one backend', parseWord),
  deploymentAltPort: spec('app', 'DEPLOYMENT_ALT_PORT', 'port', 'none', 'blue/green: the service port the other colour uses', parsePort),
  deploymentColour: spec('app', 'DEPLOYMENT_COLOUR', 'blue|green', 'none', 'blue/green: this app\'s colour', parseWord),
  deploymentStartedAt: spec('app', 'DEPLOYMENT_STARTED_AT', 'timestamp', 'none', 'blue/green: when this app\'s deployment started; the later one is the new side', parseTimestamp),
  deploymentTargetInstances: spec('app', 'DEPLOYMENT_TARGET_INSTANCES', 'int', 'none', 'blue/green: once the new side has this many ready tasks, the old side drains', parseInteger),
  deploymentNewInstances: spec('app', 'DEPLOYMENT_NEW_INSTANCES', 'int', 'none', 'blue/green: the new app share of a hybrid deploy (zdd -n), 0 for a whole one', parseInteger),
};

/** HAPROXY_{n}_<SUFFIX> → registry key, for port labels and port templates. */
const PORT_LABEL_BY_SUFFIX: ReadonlyMap<string, keyof PortLabels> = new Map(
  (Object.keys(PORT_LABELS) as (keyof PortLabels)[]).map((k) => [PORT_LABELS[k].name.slice('HAPROXY_{n}_'.length), k]),
);
const APP_LABEL_BY_NAME: ReadonlyMap<string, keyof AppLabels> = new Map(
  (Object.keys(APP_LABELS) as (keyof AppLabels)[]).map((k) => [APP_LABELS[k].name, k]),
);

export type ClassifiedLabel =
  | { kind: 'app'; key: keyof AppLabels }
  | { kind: 'port'; index: number; key: keyof PortLabels }
  | { kind: 'template'; index: number; template: string }
  | { kind: 'unknown' }
  | { kind: 'other' };

const classified = new Map<string, ClassifiedLabel>();

/** What a label key means. Non-HAPROXY_ keys are `other` (not ours to judge). Memoized: apps share keys. */
export function classifyLabel(key: string): ClassifiedLabel {
  let c = classified.get(key);
  if (!c) {
    c = classifyUncached(key);
    if (classified.size < 100_000) classified.set(key, c);
  }
  return c;
}

function classifyUncached(key: string): ClassifiedLabel {
  if (!key.startsWith('HAPROXY_')) return { kind: 'other' };
  const appKey = APP_LABEL_BY_NAME.get(key);
  if (appKey) return { kind: 'app', key: appKey };
  const m = /^HAPROXY_(\d+)_(.+)$/.exec(key);
  if (m) {
    const index = Number(m[1]);
    const suffix = m[2] as string;
    const portKey = PORT_LABEL_BY_SUFFIX.get(suffix);
    if (portKey) return { kind: 'port', index, key: portKey };
    const template = `HAPROXY_${suffix}`;
    if (PORT_TEMPLATE_NAMES.has(template)) return { kind: 'template', index, template };
  }
  return { kind: 'unknown' };
}

export interface LabelDoc {
  name: string;
  scope: 'app' | 'port';
  type: string;
  default: string;
  description: string;
}

/** The reference printed by `mlb-ts labels`: every label, then every per-port template label. */
export function labelReference(): LabelDoc[] {
  const docs: LabelDoc[] = [
    ...Object.values<LabelSpec<unknown>>(APP_LABELS),
    ...Object.values<LabelSpec<unknown>>(PORT_LABELS),
  ].map(({ name, scope, type, default: def, description }) => ({ name, scope, type, default: def, description }));
  for (const name of PORT_TEMPLATE_NAMES) {
    // HAPROXY_{n}_HTTP_BACKEND_REDIR is the redirect path label; a label can't also override that template
    if (PORT_LABEL_BY_SUFFIX.has(name.slice('HAPROXY_'.length))) continue;
    const t = TEMPLATE_BY_NAME.get(name);
    docs.push({ name: `HAPROXY_{n}_${name.slice('HAPROXY_'.length)}`, scope: 'port', type: 'template', default: `templates/${name}.hbs`, description: `overrides template ${name} for this port: ${t?.description ?? ''}` });
  }
  return docs;
}
