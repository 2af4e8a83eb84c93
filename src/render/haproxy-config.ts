import { SPARE_ID_BASE, stickyCookie, uniqueAclNames } from '../model/naming.js';
import { longestPathPrefix } from '../model/labels/values.js';
import { cmp } from '../model/service-ports.js';
import type { LbModel, Server, Service, Warning } from '../model/types.js';
import type { Render, TemplateContext, TemplateSet } from './templates.js';

export interface ListenPorts {
  http: number;
  https: number;
  appId: number;
  stats: number;
}

export interface RenderOptions {
  /** Directory of haproxy.cfg as the config refers to it; the map files sit there. */
  haproxyDir: string;
  sslCerts: string[];
  haproxyMap: boolean;
  dontBindHttpHttps: boolean;
  groupHttpsByVhost: boolean;
  adminSocket: string;
  stateFile: string;
  hardStopAfter: string;
  ports: ListenPorts;
  /** host:port of mlb-ts's endpoints, proxied from the stats port; empty: none. */
  mlbApi: string;
  /** Extra disabled server slots per backend (runtime-API updates fill them). */
  spareSlots?: (s: Service) => number;
}

export const DEFAULT_PORTS: ListenPorts = { http: 80, https: 443, appId: 9091, stats: 9090 };

export interface Rendered {
  config: string;
  /** `host backend` lines; empty without --haproxy-map. */
  domainMap: string;
  /** `/app/id backend` lines; empty without --haproxy-map. */
  appMap: string;
  /** Services dropped because a template would not render. */
  warnings: Warning[];
  /** The services actually rendered (the model minus those dropped). */
  services: Service[];
}

interface VhostRule {
  service: Service;
  hostname: string;
  ctx: TemplateContext;
  /** hostname, cleanedUpHostname, path: over the service's ctx. */
  vhost: TemplateContext;
  /** Routed through domain2backend.map instead of ACLs. */
  viaMap: boolean;
  /** Its longest path prefix (0: none): longer, more specific prefixes are tried first. */
  pathLength: number;
  /** Its place in the service's VHOST list (the order of equal rules of one service). */
  vhostIndex: number;
}

interface ServiceParts {
  service: Service;
  ctx: TemplateContext;
  userlist: string;
  frontend: string;
  backend: string;
  vhostRules: VhostRule[];
}

/** LbModel → haproxy.cfg and map files. Pure: same model, templates and options → same bytes. */
export function renderConfig(model: LbModel, templates: TemplateSet, opts: RenderOptions): Rendered {
  const warnings: Warning[] = [];
  const hosts = model.services.flatMap((s) => s.vhosts);
  const aclNames: AclNames = { hosts: uniqueAclNames(hosts), appIds: uniqueAclNames(model.services.map((s) => s.appId)), patterns: hostPatterns(hosts) };
  let parts: ServiceParts[] = [];
  for (let i = 0; i < model.services.length; i++) {
    const s = model.services[i] as Service;
    try {
      parts.push(renderService(s, templates, opts, aclNames));
    } catch (e) {
      if (!(e instanceof ServiceTemplateError)) throw e;
      warnings.push(droppedByTemplate(e));
    }
  }
  // A label template of a service can also fail in the shared frontends: without that service, again.
  for (;;) {
    try {
      return { ...assemble(parts, templates, opts), warnings };
    } catch (e) {
      if (!(e instanceof ServiceTemplateError)) throw e;
      warnings.push(droppedByTemplate(e));
      parts = parts.filter((p) => p.service !== e.service);
    }
  }
}

/**
 * A service's own label template failed to render: the service (that app port) is left out.
 * A template of the --templates DIR or a default failing is no app's fault: it is not one of these.
 */
export class ServiceTemplateError extends Error {
  constructor(
    readonly service: Service,
    readonly label: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function droppedByTemplate(e: ServiceTemplateError): Warning {
  const s = e.service;
  return { code: 'E_TEMPLATE_INVALID', appId: s.sourceAppIds[0] ?? s.appId, label: e.label, message: `port ${s.portIndex} dropped: ${e.message}` };
}

/** The config and maps from the services' parts (see renderConfig). */
function assemble(parts: ServiceParts[], templates: TemplateSet, opts: RenderOptions): Omit<Rendered, 'warnings'> {
  const rules = keepingWeightOrder(parts.flatMap((p) => p.vhostRules).sort(compareRules));
  const common: TemplateContext = {
    httpPort: opts.ports.http,
    httpsPort: opts.ports.https,
    appIdPort: opts.ports.appId,
    statsPort: opts.ports.stats,
    haproxy_dir: opts.haproxyDir,
    sslCerts: sslCertWords(opts.sslCerts, parts),
  };
  const head = templates.get('HAPROXY_HEAD')({
    ...common,
    adminSocket: opts.adminSocket,
    stateFile: opts.stateFile,
    hardStopAfter: opts.hardStopAfter,
    mlbApi: opts.mlbApi,
  });
  const sections = [head, ...parts.map((p) => p.userlist)];
  if (!opts.dontBindHttpHttps) {
    sections.push(httpFrontend(rules, templates, common, opts));
    sections.push(opts.groupHttpsByVhost ? groupedHttpsFrontends(rules, templates, common, opts) : httpsFrontend(rules, templates, common, opts));
  }
  sections.push(appIdFrontend(parts, templates, common, opts));
  sections.push(...parts.map((p) => p.frontend), ...parts.map((p) => p.backend));
  return {
    config: sections.join(''),
    domainMap: opts.haproxyMap ? domainMapOf(rules) : '',
    appMap: opts.haproxyMap ? appMapOf(parts) : '',
    services: parts.map((p) => p.service),
  };
}

/**
 * A template by name: the service's own label override if it has one. Such an override that
 * does not compile or render throws ServiceTemplateError (that port is dropped, not the config).
 */
function templateFor(templates: TemplateSet, s: Service, name: string): Render {
  const label = s.templates[name];
  if (!label) return templates.get(name);
  let render: Render;
  try {
    render = templates.fromLabel(name, label[0], label[1]);
  } catch (e) {
    throw new ServiceTemplateError(s, label[0], e);
  }
  return (ctx, extra) => {
    try {
      return render(ctx, extra);
    } catch (e) {
      throw new ServiceTemplateError(s, label[0], e);
    }
  };
}

function hasOverride(templates: TemplateSet, s: Service, name: string): boolean {
  return name in s.templates || templates.isOverridden(name);
}

/** ACL names of the config's host names and app ids (see uniqueAclNames). */
interface AclNames {
  hosts: Map<string, string>;
  appIds: Map<string, string>;
  /** What a host ACL matches each wildcard host with (see hostPatterns); other hosts match themselves. */
  patterns: Map<string, string>;
}

/**
 * The service's host names as one regex group, for rewriting only the response headers that
 * point at the service itself (a redirect to another host is left alone); `()` without a VHOST,
 * which no absolute URL matches. Dots are `[.]` (a backslash means something to HAProxy's
 * parser); a wildcard's `*` is one or more host characters.
 */
function vhostRegexOf(vhosts: readonly string[]): string {
  if (vhosts.length === 0) return '()';
  return `(${vhosts.map((h) => h.replace(/^\*/, '[^/:]+').replace(/\./g, '[.]')).join('|')})`;
}

/**
 * A path as a regex matching itself (it goes in `replace-path`'s regex): each metacharacter in
 * a bracket of its own, as a backslash would be read by HAProxy's config parser first. (Paths
 * have no backslash, quote, space or '^': parseUrlPath.)
 */
function regexLiteral(path: string): string {
  return path.replace(/[.$|?*+()[\]{}]/g, (c) => (c === ']' ? '[]]' : `[${c}]`));
}

/** A path as itself in a log-format string (a redirect location, a header value): `%` doubled. */
function formatLiteral(path: string): string {
  return path.replace(/%/g, '%%');
}

function serviceContext(s: Service, opts: RenderOptions, aclNames: AclNames): TemplateContext {
  const hc = s.healthCheck;
  return {
    backend: s.backend,
    appId: s.appId,
    cleanedUpAppId: aclNames.appIds.get(s.appId),
    servicePort: s.servicePort,
    bindAddr: s.bindAddr,
    bindOptions: s.bindOptions ? ` ${s.bindOptions}` : '',
    sslCert: s.sslCert ? ` ssl crt ${s.sslCert}` : '',
    mode: s.mode,
    httpMode: s.mode === 'http',
    balance: s.balance,
    healthCheckPath: hc?.path,
    healthCheckProtocol: hc?.protocol.toUpperCase(),
    healthCheckTimeoutSeconds: hc?.timeoutSeconds,
    healthCheckIntervalSeconds: hc?.intervalSeconds,
    healthCheckFalls: hc?.falls,
    healthCheckPortIndex: s.healthCheckPortIndex,
    healthCheckPort: hc?.port,
    healthCheckPortOptions: portOptions(hc?.port),
    healthCheckGracePeriodSeconds: hc?.gracePeriodSeconds,
    healthCheckMaxConsecutiveFailures: hc?.maxConsecutiveFailures,
    user: s.auth?.user,
    passwd: s.auth?.password,
    realm: s.auth?.realm,
    network_allowed: s.allowedNetworks?.join(' '),
    proxypath: s.proxypassPath && regexLiteral(s.proxypassPath),
    rootpath: s.revproxyPath && formatLiteral(s.revproxyPath),
    redirpath: s.redirPath && formatLiteral(s.redirPath),
    hostname: s.vhosts[0],
    exactHostname: s.vhosts.length === 1 && !s.vhosts[0]?.startsWith('*') ? s.vhosts[0] : undefined,
    anyHost: s.vhosts.length === 0,
    vhostRegex: vhostRegexOf(s.vhosts),
    deployment_group: s.deploymentGroup,
    haproxy_dir: opts.haproxyDir,
  };
}

/** ` port N`: the check's own port on a server line; empty without one. */
function portOptions(port: number | undefined): string {
  return port ? ` port ${port}` : '';
}

function renderService(s: Service, templates: TemplateSet, opts: RenderOptions, aclNames: AclNames): ServiceParts {
  const t = (name: string) => templateFor(templates, s, name);
  const ctx = serviceContext(s, opts, aclNames);
  const http = s.mode === 'http';
  const userlist = http && s.auth ? t('HAPROXY_USERLIST_HEAD')(ctx) : '';
  const frontend = t('HAPROXY_FRONTEND_HEAD')(ctx) + t('HAPROXY_FRONTEND_BACKEND_GLUE')(ctx);

  let backend = t('HAPROXY_BACKEND_HEAD')(ctx);
  if (s.allowedNetworks) {
    backend += http
      ? t('HAPROXY_HTTP_BACKEND_NETWORK_ALLOWED_ACL')(ctx) + t('HAPROXY_HTTP_BACKEND_ACL_ALLOW_DENY')(ctx)
      : t('HAPROXY_TCP_BACKEND_NETWORK_ALLOWED_ACL')(ctx) + t('HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY')(ctx);
  }
  if (http) {
    if (s.auth) backend += t('HAPROXY_HTTP_BACKEND_AUTH')(ctx);
    backend += t('HAPROXY_BACKEND_HTTP_OPTIONS')(ctx);
    if (s.redirPath) backend += t('HAPROXY_HTTP_BACKEND_REDIR')(ctx);
    if (s.proxypassPath) backend += t('HAPROXY_HTTP_BACKEND_PROXYPASS_GLUE')(ctx);
    if (s.revproxyPath) backend += t('HAPROXY_HTTP_BACKEND_REVPROXY_GLUE')(ctx);
    if (s.useHsts) backend += t('HAPROXY_BACKEND_HSTS_OPTIONS')(ctx);
    if (s.sticky) backend += t('HAPROXY_BACKEND_STICKY_OPTIONS')(ctx);
  }
  const hcKind = s.healthCheck ? (s.healthCheck.protocol === 'tcp' ? 'TCP' : 'HTTP') : undefined;
  if (hcKind) backend += t(`HAPROXY_BACKEND_${hcKind}_HEALTHCHECK_OPTIONS`)(ctx);
  backend += serverLines(s, ctx, t, hcKind, opts.spareSlots?.(s) ?? 0);

  const pathLength = longestPathPrefix(s.path);
  const vhostRules = http
    ? s.vhosts.map((hostname, vhostIndex) => {
        const pattern = aclNames.patterns.get(hostname);
        const vhost = { hostname: pattern ?? hostname, cleanedUpHostname: aclNames.hosts.get(hostname), path: s.path };
        // A wildcard can't be a key of the map (an exact lookup).
        const plain = !s.path && !s.auth && !s.redirectToHttps && pattern === undefined;
        return { service: s, hostname, ctx, vhost, viaMap: opts.haproxyMap && plain, pathLength, vhostIndex };
      })
    : [];
  return { service: s, ctx, userlist, frontend, backend: flat(backend), vhostRules };
}

/**
 * The string as one flat copy. A backend is built from hundreds of small pieces (a rope in
 * V8); flattened while they are still young, only its characters outlive the next scavenge,
 * not every piece of it, and the final join copies flat text.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

function serverLines(s: Service, ctx: TemplateContext, t: (name: string) => Render, hcKind: string | undefined, spare: number): string {
  const line = t('HAPROXY_BACKEND_SERVER_OPTIONS');
  const checkWords = hcKind ? t(`HAPROXY_BACKEND_SERVER_${hcKind}_HEALTHCHECK_OPTIONS`) : undefined;
  const sslCheck = s.healthCheck?.protocol === 'https' ? ' check-ssl verify none' : '';
  // The port the check of a server goes to: HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX's, else the check's own.
  const renderCheck = (render: Render, checkPort: number | undefined, server?: TemplateContext): string => {
    const port = checkPort ?? s.healthCheck?.port;
    return collapsedWords(render(ctx, { ...server, healthCheckPort: port, healthCheckPortOptions: portOptions(port), healthCheckSslOptions: sslCheck }));
  };
  // Rendered once per check port, unless the template reads the server's own variables.
  const perServer = checkWords !== undefined && readsServerVariables(checkWords, ctx);
  const checkCache = new Map<number | undefined, string>();
  const checkOptions = (checkPort: number | undefined, server: TemplateContext): string => {
    if (!checkWords) return '';
    if (perServer) return renderCheck(checkWords, checkPort, server);
    let opts = checkCache.get(checkPort);
    if (opts === undefined) checkCache.set(checkPort, (opts = renderCheck(checkWords, checkPort)));
    return opts;
  };
  let out = '';
  for (let i = 0; i < s.servers.length; i++) {
    const sv = s.servers[i] as Server;
    const vars: TemplateContext = { serverName: sv.name, serverId: sv.id, host: sv.host, host_ipv4: sv.ip, port: sv.port, cookieOptions: cookieOptions(s, sv.name, sv.unchecked), healthCheckOptions: '', otherOptions: sv.state === 'drain' ? ' weight 0' : '' };
    if (!sv.unchecked) vars.healthCheckOptions = checkOptions(sv.checkPort, vars);
    out += line(ctx, vars);
  }
  for (let i = 1; i <= spare; i++) {
    const name = spareSlotName(i);
    const vars: TemplateContext = { serverName: name, serverId: SPARE_ID_BASE + i, host: '127.0.0.1', host_ipv4: '127.0.0.1', port: 1, cookieOptions: cookieOptions(s, name), healthCheckOptions: '', otherOptions: ' disabled' };
    vars.healthCheckOptions = checkOptions(undefined, vars);
    out += line(ctx, vars);
  }
  return out;
}

/** A template's words on a server line: whitespace collapsed, one space before. */
function collapsedWords(words: string): string {
  const trimmed = words.trim();
  return trimmed ? ` ${trimmed.split(/\s+/).join(' ')}` : '';
}

const readsServer = new WeakMap<Render, boolean>();

/**
 * Whether a server-line template reads the server's own variables (serverName, host…): then it
 * is rendered per server, else once per check port. Found by rendering it for two made-up
 * servers, once per template.
 */
function readsServerVariables(render: Render, ctx: TemplateContext): boolean {
  let reads = readsServer.get(render);
  if (reads === undefined) {
    const probe = (n: number) => render(ctx, { serverName: `s${n}`, serverId: n, host: `h${n}`, host_ipv4: `192.0.2.${n}`, port: n, cookieOptions: ` c${n}`, otherOptions: ` o${n}` });
    reads = probe(1) !== probe(2);
    readsServer.set(render, reads);
  }
  return reads;
}

/**
 * marathon-lb's words for a sticky server: ` check cookie VALUE` (HAProxy takes `check` twice when
 * a health check adds its own); no `check` for a server that must not be checked (Server.unchecked).
 */
function cookieOptions(s: Service, serverName: string, unchecked?: true): string {
  if (!s.sticky || s.mode !== 'http') return '';
  return `${unchecked ? '' : ' check'} cookie ${stickyCookie(serverName)}`;
}

/** A placeholder the runtime API can turn into a server without a reload. */
export function spareSlotName(i: number): string {
  return `mlb_spare_${i}`;
}


/**
 * What the host ACLs of the templates (`… -i {{hostname}}`) match each wildcard vhost with, as a
 * literal `*` would match nothing: `-m end .example.com` (an ACL's flags may follow `-i`), or,
 * when the config has exact hosts under it, a regex that leaves them out
 * (`-m reg ^(?!(www[.]example[.]com)$).+[.]example[.]com$`, PCRE's lookahead), so that no rule
 * of the wildcard's (a redirect to https runs before every route) catches an exact host's request.
 */
function hostPatterns(hosts: readonly string[]): Map<string, string> {
  const patterns = new Map<string, string>();
  if (!hosts.some((h) => h.startsWith('*.'))) return patterns;
  const exact = [...new Set(hosts.filter((h) => !h.startsWith('*.')))].sort();
  const dots = (h: string) => h.replace(/\./g, '[.]');
  for (const h of hosts) {
    if (!h.startsWith('*.') || patterns.has(h)) continue;
    const suffix = h.slice(1);
    const under = exact.filter((e) => e.endsWith(suffix));
    patterns.set(h, under.length === 0 ? `-m end ${suffix}` : `-m reg ^(?!(${under.map(dots).join('|')})$).+${dots(suffix)}$`);
  }
  return patterns;
}

/**
 * Rule order: larger HAPROXY_{n}_BACKEND_WEIGHT first, then longer path prefixes (more specific),
 * then marathon-lb's order, app id and service port, each app's vhosts as its VHOST label lists them.
 */
function compareRules(a: VhostRule, b: VhostRule): number {
  return (
    b.service.backendWeight - a.service.backendWeight ||
    b.pathLength - a.pathLength ||
    cmp(a.service.appId, b.service.appId) ||
    a.service.servicePort - b.service.servicePort ||
    a.vhostIndex - b.vhostIndex
  );
}

/**
 * With --haproxy-map the frontends try the ACL rules (paths, auth, redirects, wildcards) before
 * the map. A host whose map rule sorts ahead of one of its ACL rules (a larger
 * HAPROXY_{n}_BACKEND_WEIGHT) would lose to that rule there: its rules stay ACLs instead, so the
 * same apps route the same with and without the flag.
 */
function keepingWeightOrder(sorted: VhostRule[]): VhostRule[] {
  const mapped = new Set<string>();
  const overtaken = new Set<string>();
  for (const r of sorted) {
    if (r.viaMap) mapped.add(r.hostname);
    else if (mapped.has(r.hostname)) overtaken.add(r.hostname);
  }
  if (overtaken.size === 0) return sorted;
  return sorted.map((r) => (r.viaMap && overtaken.has(r.hostname) ? { ...r, viaMap: false } : r));
}

function variant(r: VhostRule, path: string, auth: string, both: string): string {
  const s = r.service;
  if (s.path && s.auth) return both;
  if (s.path) return path;
  if (s.auth) return auth;
  return '';
}

function httpFrontend(rules: VhostRule[], templates: TemplateSet, common: TemplateContext, opts: RenderOptions): string {
  let acls = '';
  let redirects = '';
  let routes = '';
  for (const r of rules) {
    if (r.viaMap) continue;
    const t = (name: string) => templateFor(templates, r.service, name);
    const combined = `HAPROXY_HTTP_FRONTEND_ACL${variant(r, '_WITH_PATH', '_WITH_AUTH', '_WITH_AUTH_AND_PATH')}`;
    // A redirect names the host (and path) ACL before the routes: it needs the declaration-only
    // templates, whatever the combined one says (as marathon-lb does).
    if (hasOverride(templates, r.service, combined) && !r.service.redirectToHttps) {
      routes += t(combined)(r.ctx, r.vhost);
    } else {
      // marathon-lb's pieces: the host ACL, then the path ACL (with the auth ACL its routing templates name).
      acls += t('HAPROXY_HTTP_FRONTEND_ACL_ONLY')(r.ctx, r.vhost);
      if (r.service.path) acls += t(r.service.auth ? 'HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH' : 'HAPROXY_HTTP_FRONTEND_ACL_ONLY_WITH_PATH')(r.ctx, r.vhost);
      routes += t(`HAPROXY_HTTP_FRONTEND_ROUTING_ONLY${variant(r, '_WITH_PATH', '_WITH_AUTH', '_WITH_PATH_AND_AUTH')}`)(r.ctx, r.vhost);
    }
    if (r.service.redirectToHttps) {
      redirects += t(r.service.path ? 'HAPROXY_BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH' : 'HAPROXY_BACKEND_REDIRECT_HTTP_TO_HTTPS')(r.ctx, r.vhost);
    }
  }
  const map = opts.haproxyMap ? templates.get('HAPROXY_MAP_HTTP_FRONTEND_ACL')(common) : '';
  return templates.get('HAPROXY_HTTP_FRONTEND_HEAD')(common) + uniqueLines(acls) + redirects + routes + map;
}

/** Two services on one host declare the same host ACL; HAProxy needs it once. */
function uniqueLines(text: string): string {
  const seen = new Set<string>();
  return text
    .split('\n')
    .filter((l) => l === '' || (!seen.has(l) && seen.add(l)))
    .join('\n');
}

/** The :443 rules of these vhosts: the path ACLs first (each once), then one routing piece per vhost. */
function httpsRules(rules: VhostRule[], templates: TemplateSet, useMap: boolean): string {
  let acls = '';
  let routes = '';
  for (const r of rules) {
    if (useMap && r.viaMap) continue;
    const t = (name: string) => templateFor(templates, r.service, name);
    if (r.service.path) acls += t('HAPROXY_HTTPS_FRONTEND_ACL_ONLY_WITH_PATH')(r.ctx, r.vhost);
    routes += t(`HAPROXY_HTTPS_FRONTEND_ACL${variant(r, '_WITH_PATH', '_WITH_AUTH', '_WITH_AUTH_AND_PATH')}`)(r.ctx, r.vhost);
  }
  return uniqueLines(acls) + routes;
}

function httpsFrontend(rules: VhostRule[], templates: TemplateSet, common: TemplateContext, opts: RenderOptions): string {
  const map = opts.haproxyMap ? templates.get('HAPROXY_MAP_HTTPS_FRONTEND_ACL')(common) : '';
  return templates.get('HAPROXY_HTTPS_FRONTEND_HEAD')(common) + httpsRules(rules, templates, opts.haproxyMap) + map;
}

/**
 * --group-https-by-vhost: a TCP frontend on :443 reads SNI and hands each host to the
 * TLS frontend of its certificate group (over abns@ with PROXY v2).
 */
function groupedHttpsFrontends(rules: VhostRule[], templates: TemplateSet, common: TemplateContext, opts: RenderOptions): string {
  // SNI picks one TLS frontend per host, so every rule of a host goes to the group of the host's
  // certificates and bind options (those of all its services), not of each rule's own. Bind
  // options are part of the group: one app's `ssl-min-ver` or `verify required` must not reach
  // the hosts of another app that merely shares its certificates.
  const hostRules = new Map<string, VhostRule[]>();
  for (const r of rules) {
    const list = hostRules.get(r.hostname);
    if (list) list.push(r);
    else hostRules.set(r.hostname, [r]);
  }
  const groupOfHost = new Map<string, HttpsGroup>();
  for (const [hostname, own] of hostRules) {
    const certs = new Set<string>();
    for (const r of own) for (const c of r.service.sslCert ? [r.service.sslCert] : opts.sslCerts) certs.add(c);
    const sslCerts = [...certs].map((c) => `crt ${c}`).join(' ');
    const bindOpts = groupBindOptions(own);
    groupOfHost.set(hostname, { key: `${sslCerts}\u0000${bindOpts}`, sslCerts, bindOpts });
  }
  const groups = new Map<string, { group: HttpsGroup; rules: VhostRule[] }>();
  for (const r of rules) {
    const group = groupOfHost.get(r.hostname) as HttpsGroup;
    const found = groups.get(group.key);
    if (found) found.rules.push(r);
    else groups.set(group.key, { group, rules: [r] });
  }
  const keys = [...groups.keys()].sort();
  // No `_`: a service's backend name always has one before its port, so the two can't meet.
  const names = new Map(keys.map((key, i) => [key, `https-group-${i + 1}`]));
  let out = templates.get('HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD')({ ...common, name: 'marathon_https_in' });
  // marathon-lb's names too: `backend` (the group's backend = its name), `host`, `bindOpts`.
  const patterns = new Map(rules.map((r) => [r.hostname, String(r.vhost.hostname)]));
  for (const [hostname, group] of groupOfHost) {
    const name = names.get(group.key);
    // marathon-lb's `host` matches with the same pattern as `hostname` (a wildcard's, see hostPatterns).
    const pattern = patterns.get(hostname) ?? hostname;
    out += templates.get('HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_ACL')({ ...common, name, backend: name, hostname: pattern, host: pattern });
  }
  for (const key of keys) {
    const name = names.get(key);
    const { group, rules: grouped } = groups.get(key) as { group: HttpsGroup; rules: VhostRule[] };
    const ctx = { ...common, name, backend: name, sslCerts: group.sslCerts, bindOpts: group.bindOpts };
    out += templates.get('HAPROXY_HTTPS_GROUPED_VHOST_BACKEND_HEAD')(ctx);
    out += templates.get('HAPROXY_HTTPS_GROUPED_VHOST_FRONTEND_HEAD')(ctx) + httpsRules(grouped, templates, false);
  }
  return out;
}

/** One TLS frontend of --group-https-by-vhost: its `crt …` words and its bind options. */
interface HttpsGroup {
  /** Its certificates and bind options, as one comparable text. */
  key: string;
  sslCerts: string;
  bindOpts: string;
}

/** The BIND_OPTIONS of a host's services, each once, each after a space (marathon-lb's `{bindOpts}`). */
function groupBindOptions(rules: VhostRule[]): string {
  const opts = new Set(rules.map((r) => r.service.bindOptions).filter((o): o is string => !!o));
  return [...opts].sort().map((o) => ` ${o}`).join('');
}

/** :9091 routes an app id to the app's first http service port. */
function appIdTargets(parts: ServiceParts[]): ServiceParts[] {
  const first = new Map<string, ServiceParts>();
  for (const p of parts) {
    if (p.service.mode !== 'http') continue;
    const cur = first.get(p.service.appId);
    if (!cur || p.service.portIndex < cur.service.portIndex) first.set(p.service.appId, p);
  }
  return [...first.values()].sort((a, b) => cmp(a.service.appId, b.service.appId));
}

function appIdFrontend(parts: ServiceParts[], templates: TemplateSet, common: TemplateContext, opts: RenderOptions): string {
  let out = templates.get('HAPROXY_HTTP_FRONTEND_APPID_HEAD')(common);
  if (opts.haproxyMap) return out + templates.get('HAPROXY_MAP_HTTP_FRONTEND_APPID_ACL')(common);
  for (const p of appIdTargets(parts)) out += templateFor(templates, p.service, 'HAPROXY_HTTP_FRONTEND_APPID_ACL')(p.ctx);
  return out;
}

function sslCertWords(defaults: string[], parts: ServiceParts[]): string {
  const extra = parts.map((p) => p.service.sslCert).filter((c): c is string => !!c && !defaults.includes(c));
  return [...defaults, ...[...new Set(extra)].sort()].map((c) => `crt ${c}`).join(' ');
}

function domainMapOf(rules: VhostRule[]): string {
  const seen = new Set<string>();
  let out = '';
  for (const r of rules) {
    if (!r.viaMap || seen.has(r.hostname)) continue;
    seen.add(r.hostname);
    out += `${r.hostname} ${r.service.backend}\n`;
  }
  return out;
}

function appMapOf(parts: ServiceParts[]): string {
  return appIdTargets(parts).map((p) => `${p.service.appId.toLowerCase()} ${p.service.backend}\n`).join('');
}
