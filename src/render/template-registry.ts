/**
 * The one table of named templates. Each default lives in templates/NAME.hbs; an override
 * replaces it by name (per-app label HAPROXY_{n}_NAME > --templates DIR > default).
 */

export type TemplateScope = 'global' | 'port';

/** Variable sets a template can use; marathon-lb's names, so its overrides translate 1:1. */
export const TEMPLATE_VARIABLES = {
  head: ['adminSocket', 'stateFile', 'hardStopAfter', 'httpPort', 'httpsPort', 'appIdPort', 'statsPort', 'mlbApi'],
  frontend: ['httpPort', 'httpsPort', 'appIdPort', 'statsPort', 'sslCerts', 'haproxy_dir'],
  /** `backend` = `name` (the group's), `host` = `hostname`, `bindOpts`: the group's services' BIND_OPTIONS. */
  grouped: ['name', 'hostname', 'sslCerts', 'httpsPort', 'backend', 'host', 'bindOpts'],
  service: [
    'backend', 'appId', 'cleanedUpAppId', 'servicePort', 'bindAddr', 'bindOptions', 'sslCert', 'mode', 'httpMode', 'balance',
    'healthCheckPath', 'healthCheckProtocol', 'healthCheckTimeoutSeconds', 'healthCheckIntervalSeconds', 'healthCheckFalls',
    'healthCheckPortIndex', 'healthCheckPort', 'healthCheckPortOptions', 'healthCheckGracePeriodSeconds',
    'healthCheckMaxConsecutiveFailures', 'user', 'passwd', 'realm', 'network_allowed', 'proxypath', 'rootpath', 'redirpath',
    'hostname', 'exactHostname', 'anyHost', 'vhostRegex', 'deployment_group', 'haproxy_dir',
  ],
  vhost: ['cleanedUpHostname', 'path'],
  /** Per server; `healthCheckPort` and `healthCheckPortOptions` (service variables) are the server's own here. */
  server: ['serverName', 'serverId', 'host', 'host_ipv4', 'port', 'cookieOptions', 'healthCheckOptions', 'otherOptions', 'healthCheckSslOptions'],
} as const;

export type VariableSet = keyof typeof TEMPLATE_VARIABLES;

export interface TemplateSpec {
  name: string;
  scope: TemplateScope;
  /** Which variable sets are in scope (service templates see service vars plus their own). */
  vars: readonly VariableSet[];
  description: string;
  /**
   * Whether marathon-lb fills this template in (Python `str.format`) or copies it as it is
   * (false: HAPROXY_HEAD, the :80 and :9091 frontend heads, the grouped :443 head, the backend's
   * HTTP, HSTS and sticky options, the allow/deny rules). A marathon-lb-format override of a
   * verbatim template is literal text: `{ ssl_fc }` and `%{+Q}r` stay as written. Handlebars
   * overrides are Handlebars whatever this says. Default true.
   */
  formatted?: boolean;
}

/**
 * Names marathon-lb declares but never renders: accepted (as a label or a --templates file), so
 * a copy of marathon-lb's templates directory loads, and rendered nowhere, as there.
 */
const UNUSED = 'accepted so a copy of marathon-lb\'s templates loads; rendered by neither marathon-lb nor mlb-ts';

const SERVICE: readonly VariableSet[] = ['service'];
const VHOST: readonly VariableSet[] = ['service', 'vhost'];
const SERVER: readonly VariableSet[] = ['service', 'server'];

function vhostVariants(prefix: string, suffixes: string[], what: string): TemplateSpec[] {
  return suffixes.map((s) => ({
    name: `${prefix}${s}`,
    scope: 'port' as const,
    vars: VHOST,
    description: `${what}${s ? ` (${s.slice(1).toLowerCase().replace(/_/g, ' ')})` : ''}`,
  }));
}

export const TEMPLATES: readonly TemplateSpec[] = [
  { name: 'HAPROXY_HEAD', scope: 'global', vars: ['head', 'frontend'], description: 'global and defaults sections, and the stats listener (:9090)', formatted: false },
  { name: 'HAPROXY_HTTP_FRONTEND_HEAD', scope: 'global', vars: ['frontend'], description: 'head of the :80 vhost frontend', formatted: false },
  { name: 'HAPROXY_HTTP_FRONTEND_APPID_HEAD', scope: 'global', vars: ['frontend'], description: 'head of the :9091 frontend routing on X-Marathon-App-Id', formatted: false },
  { name: 'HAPROXY_HTTPS_FRONTEND_HEAD', scope: 'global', vars: ['frontend'], description: 'head of the :443 frontend (TLS with --ssl-certs and every HAPROXY_{n}_SSL_CERT)' },
  { name: 'HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD', scope: 'global', vars: ['frontend', 'grouped'], description: 'with --group-https-by-vhost: the :443 TCP frontend switching on SNI', formatted: false },
  { name: 'HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_ACL', scope: 'global', vars: ['frontend', 'grouped'], description: 'with --group-https-by-vhost: SNI rule sending one host to its TLS group' },
  { name: 'HAPROXY_HTTPS_GROUPED_VHOST_BACKEND_HEAD', scope: 'global', vars: ['frontend', 'grouped'], description: 'with --group-https-by-vhost: loopback backend of one TLS group' },
  { name: 'HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_HEAD', scope: 'global', vars: ['frontend', 'grouped'], description: 'with --group-https-by-vhost: TLS-terminating frontend of one group of certificates' },
  { name: 'HAPROXY_MAP_HTTP_FRONTEND_ACL', scope: 'global', vars: ['frontend'], description: 'with --haproxy-map: :80 routing through domain2backend.map' },
  { name: 'HAPROXY_MAP_HTTP_FRONTEND_ACL_ONLY', scope: 'global', vars: ['frontend'], description: "marathon-lb's map line when the first mapped app had several vhosts; accepted so a copy of marathon-lb's templates loads; mlb-ts renders HAPROXY_MAP_HTTP_FRONTEND_ACL once" },
  { name: 'HAPROXY_MAP_HTTP_FRONTEND_APPID_ACL', scope: 'global', vars: ['frontend'], description: 'with --haproxy-map: :9091 routing through app2backend.map' },
  { name: 'HAPROXY_MAP_HTTPS_FRONTEND_ACL', scope: 'global', vars: ['frontend'], description: 'with --haproxy-map: :443 routing on SNI through domain2backend.map' },
  { name: 'HAPROXY_FRONTEND_HEAD', scope: 'port', vars: SERVICE, description: "head of a service port's own frontend" },
  { name: 'HAPROXY_FRONTEND_BACKEND_GLUE', scope: 'port', vars: SERVICE, description: 'sends a service frontend to its backend' },
  { name: 'HAPROXY_BACKEND_HEAD', scope: 'port', vars: SERVICE, description: 'head of a backend' },
  { name: 'HAPROXY_BACKEND_HTTP_OPTIONS', scope: 'port', vars: SERVICE, description: 'http backends: forwarding headers', formatted: false },
  { name: 'HAPROXY_BACKEND_HTTP_HEALTHCHECK_OPTIONS', scope: 'port', vars: SERVICE, description: 'backend part of an HTTP health check' },
  { name: 'HAPROXY_BACKEND_TCP_HEALTHCHECK_OPTIONS', scope: 'port', vars: SERVICE, description: 'backend part of a TCP health check' },
  { name: 'HAPROXY_BACKEND_SERVER_OPTIONS', scope: 'port', vars: SERVER, description: 'one server line per task' },
  { name: 'HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS', scope: 'port', vars: SERVER, description: 'server-line words of an HTTP health check (whitespace collapsed)' },
  { name: 'HAPROXY_BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS', scope: 'port', vars: SERVER, description: 'server-line words of a TCP health check (whitespace collapsed)' },
  { name: 'HAPROXY_BACKEND_STICKY_OPTIONS', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_STICKY: cookie stickiness', formatted: false },
  { name: 'HAPROXY_BACKEND_HSTS_OPTIONS', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_USE_HSTS: Strict-Transport-Security header', formatted: false },
  { name: 'HAPROXY_BACKEND_REDIRECT_HTTP_TO_HTTPS', scope: 'port', vars: VHOST, description: 'HAPROXY_{n}_REDIRECT_TO_HTTPS on :80 for a vhost' },
  { name: 'HAPROXY_BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH', scope: 'port', vars: VHOST, description: 'HAPROXY_{n}_REDIRECT_TO_HTTPS on :80 for a vhost and path' },
  { name: 'HAPROXY_HTTP_FRONTEND_ACL_ONLY', scope: 'port', vars: VHOST, description: ':80 host ACL of one vhost' },
  { name: 'HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH', scope: 'port', vars: VHOST, description: ':80 path ACL of a vhost with HAPROXY_{n}_PATH (the host ACL is HAPROXY_HTTP_FRONTEND_ACL_ONLY)' },
  { name: 'HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH', scope: 'port', vars: VHOST, description: ':80 path ACL, and the auth ACL marathon-lb-style routing templates name, of a vhost with a path and HAPROXY_{n}_AUTH' },
  ...vhostVariants('HAPROXY_HTTP_FRONTEND_ROUTING_ONLY', ['', '_WITH_AUTH', '_WITH_PATH', '_WITH_PATH_AND_AUTH'], ':80 use_backend rule of one vhost'),
  ...vhostVariants('HAPROXY_HTTP_FRONTEND_ACL', ['', '_WITH_AUTH', '_WITH_PATH', '_WITH_AUTH_AND_PATH'], ':80 ACLs and routing of one vhost in one piece; used instead of the _ONLY pair when overridden'),
  ...vhostVariants('HAPROXY_HTTPS_FRONTEND_ACL', ['', '_WITH_AUTH', '_WITH_PATH', '_WITH_AUTH_AND_PATH'], ':443 routing of one vhost on SNI'),
  { name: 'HAPROXY_HTTPS_FRONTEND_ACL_ONLY_WITH_PATH', scope: 'port', vars: VHOST, description: ':443 path ACL of a vhost with HAPROXY_{n}_PATH' },
  { name: 'HAPROXY_HTTPS_FRONTEND_AUTH_ACL_ONLY', scope: 'port', vars: VHOST, description: `marathon-lb's :443 auth ACL piece; ${UNUSED}` },
  { name: 'HAPROXY_HTTPS_FRONTEND_AUTH_REQUEST_ONLY', scope: 'port', vars: VHOST, description: `marathon-lb's :443 auth request piece; ${UNUSED}` },
  { name: 'HAPROXY_HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH', scope: 'port', vars: VHOST, description: `marathon-lb's :443 routing piece for a path and auth; ${UNUSED}` },
  { name: 'HAPROXY_HTTP_FRONTEND_APPID_ACL', scope: 'port', vars: SERVICE, description: ':9091 routing of one app id' },
  { name: 'HAPROXY_USERLIST_HEAD', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_AUTH: the userlist' },
  { name: 'HAPROXY_HTTP_BACKEND_AUTH', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_AUTH: asks for credentials in the backend, so every entry point (vhost, app id, service port) is covered' },
  { name: 'HAPROXY_HTTP_BACKEND_NETWORK_ALLOWED_ACL', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL, http: the ACL' },
  { name: 'HAPROXY_TCP_BACKEND_NETWORK_ALLOWED_ACL', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL, tcp: the ACL' },
  { name: 'HAPROXY_HTTP_BACKEND_ACL_ALLOW_DENY', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL, http: 403 for others', formatted: false },
  { name: 'HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL, tcp: reject others', formatted: false },
  { name: 'HAPROXY_HTTP_BACKEND_PROXYPASS_GLUE', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH: strip the prefix (and, with one exact VHOST, send it as the Host header, as marathon-lb does)' },
  { name: 'HAPROXY_HTTP_BACKEND_REVPROXY_GLUE', scope: 'port', vars: SERVICE, description: 'HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH: rewrite Location, Content-Location, URI' },
  { name: 'HAPROXY_HTTP_BACKEND_REDIR', scope: 'port', vars: SERVICE, description: "HAPROXY_{n}_HTTP_BACKEND_REDIR: redirect / to the path (for the service's VHOSTs only, when it has any)" },
];

export const TEMPLATE_BY_NAME: ReadonlyMap<string, TemplateSpec> = new Map(TEMPLATES.map((t) => [t.name, t]));

export const PORT_TEMPLATE_NAMES: ReadonlySet<string> = new Set(TEMPLATES.filter((t) => t.scope === 'port').map((t) => t.name));

/** False when marathon-lb copies the template as it is instead of filling it in (see TemplateSpec.formatted). */
export function isFormatted(spec: TemplateSpec): boolean {
  return spec.formatted !== false;
}

/** Every variable name a template may reference. */
export function variablesOf(spec: TemplateSpec): Set<string> {
  return new Set(spec.vars.flatMap((v) => TEMPLATE_VARIABLES[v]));
}
