import { resolve } from 'node:path';
import { DEFAULT_PORTS, type RenderOptions } from '../../src/render/haproxy-config.js';

export const DEFAULT_CERT = resolve('test/fixtures/certs/default.pem');

/** Render options as the CLI's defaults give them (paths under /etc/haproxy), with `o` over them. */
export function renderOptions(o: Partial<RenderOptions> = {}): RenderOptions {
  return {
    haproxyDir: '/etc/haproxy',
    sslCerts: [DEFAULT_CERT],
    haproxyMap: false,
    dontBindHttpHttps: false,
    groupHttpsByVhost: false,
    adminSocket: '/run/haproxy/socket',
    stateFile: '/etc/haproxy/haproxy.state',
    hardStopAfter: '5m',
    ports: DEFAULT_PORTS,
    mlbApi: '',
    ...o,
  };
}

/**
 * marathon-lb-format text of the templates marathon-lb copies verbatim: HAProxy's single braces,
 * a log format, no fields; each a valid part of a config.
 */
export const VERBATIM_TEXT: Record<string, string> = {
  HAPROXY_HEAD:
    'global\n  log stdout format raw local0 notice\n\ndefaults\n  log global\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\n' +
    'listen stats\n  bind 127.0.0.1:9090\n  mode http\n  log-format "%{+Q}r %ST"\n  monitor-uri /_haproxy_health_check\n  http-request deny if { path_beg /private }\n',
  HAPROXY_HTTP_FRONTEND_HEAD: '\nfrontend marathon_http_in\n  bind *:80\n  mode http\n  http-request set-header X-Host %[req.hdr(host)] if { req.hdr(host) -m found }\n',
  HAPROXY_HTTP_FRONTEND_APPID_HEAD: '\nfrontend marathon_http_appid_in\n  bind *:9091\n  mode http\n  http-request deny if !{ req.hdr(x-marathon-app-id) -m found }\n',
  HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD: '\nfrontend marathon_https_in\n  bind *:443\n  mode tcp\n  tcp-request inspect-delay 5s\n  tcp-request content accept if { req_ssl_hello_type 1 }\n',
  HAPROXY_BACKEND_HTTP_OPTIONS: '  option forwardfor\n  http-request set-header X-Forwarded-Port %[dst_port]\n  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n',
  HAPROXY_BACKEND_STICKY_OPTIONS: '  cookie mesosphere_server_id insert indirect nocache\n  http-response set-header X-Sticky 1 if { res.cook(mesosphere_server_id) -m found }\n',
  HAPROXY_BACKEND_HSTS_OPTIONS: '  http-response set-header Strict-Transport-Security "max-age=15768000" if { ssl_fc }\n',
  HAPROXY_HTTP_BACKEND_ACL_ALLOW_DENY: '  http-request allow if network_allowed\n  http-request deny if !{ src 127.0.0.1 }\n',
  HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY: '  tcp-request content accept if network_allowed\n  tcp-request content reject if !{ src 127.0.0.1 }\n',
};
