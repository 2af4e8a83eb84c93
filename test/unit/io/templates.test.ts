import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTemplateDir } from '../../../src/io/templates.js';
import { TEMPLATES } from '../../../src/render/template-registry.js';

describe('readTemplateDir (--templates DIR)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlb-tpl-dir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const dirWith = (files: Record<string, string>) => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['Handlebars and marathon-lb format side by side', { 'HAPROXY_BACKEND_HEAD.hbs': 'a', HAPROXY_FRONTEND_HEAD: 'b' }, { HAPROXY_BACKEND_HEAD: 'handlebars', HAPROXY_FRONTEND_HEAD: 'marathon-lb' }],
    ['files that are no template (a README, a backup, a dotfile) are skipped', { README: 'x', 'notes.txt': 'x', '.HAPROXY_HEAD.swp': 'x', 'HAPROXY_HEAD~': 'x', HAPROXY_HEAD: 'h' }, { HAPROXY_HEAD: 'marathon-lb' }],
    [
      "marathon-lb's pieces it declares and never renders load too",
      { HAPROXY_HTTPS_FRONTEND_AUTH_ACL_ONLY: 'x', HAPROXY_HTTPS_FRONTEND_AUTH_REQUEST_ONLY: 'x', HAPROXY_HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH: 'x', HAPROXY_MAP_HTTP_FRONTEND_ACL_ONLY: 'x', HAPROXY_HTTPS_FRONTEND_ACL_ONLY_WITH_PATH: 'x' },
      { HAPROXY_HTTPS_FRONTEND_AUTH_ACL_ONLY: 'marathon-lb', HAPROXY_HTTPS_FRONTEND_AUTH_REQUEST_ONLY: 'marathon-lb', HAPROXY_HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH: 'marathon-lb', HAPROXY_MAP_HTTP_FRONTEND_ACL_ONLY: 'marathon-lb', HAPROXY_HTTPS_FRONTEND_ACL_ONLY_WITH_PATH: 'marathon-lb' },
    ],
  ])('%s', (_name, files, expected) => {
    const got = readTemplateDir(dirWith(files));
    expect(Object.fromEntries([...got].map(([name, t]) => [name, t.format]))).toEqual(expected);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a HAPROXY_ name that is no template (a typo)', { HAPROXY_BACKEND_HEDA: 'x' }, /HAPROXY_BACKEND_HEDA is not a template name/],
    ['one template twice', { HAPROXY_HEAD: 'x', 'HAPROXY_HEAD.hbs': 'y' }, /HAPROXY_HEAD is given twice/],
  ])('%s: E_TEMPLATE_DIR', (_name, files, message) => {
    expect(() => readTemplateDir(dirWith(files))).toThrow(message);
  });

  it("every name of marathon-lb's template registry is one of ours (53)", () => {
    const ours = new Set(TEMPLATES.map((t) => t.name));
    const marathonLb = [
      'HEAD', 'USERLIST_HEAD', 'HTTP_FRONTEND_HEAD', 'HTTP_FRONTEND_APPID_HEAD', 'HTTPS_FRONTEND_HEAD', 'HTTPS_GROUPED_FRONTEND_HEAD',
      'HTTPS_GROUPED_VHOST_FRONTEND_HEAD', 'HTTPS_GROUPED_VHOST_BACKEND_HEAD', 'HTTPS_GROUPED_VHOST_FRONTEND_ACL', 'FRONTEND_HEAD', 'BACKEND_HEAD',
      'BACKEND_REDIRECT_HTTP_TO_HTTPS', 'BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH', 'BACKEND_HSTS_OPTIONS', 'HTTP_FRONTEND_ACL', 'MAP_HTTP_FRONTEND_ACL',
      'HTTP_FRONTEND_ACL_WITH_AUTH', 'HTTP_FRONTEND_ACL_ONLY', 'MAP_HTTP_FRONTEND_ACL_ONLY', 'HTTP_FRONTEND_ROUTING_ONLY', 'HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH',
      'HTTP_FRONTEND_ACL_WITH_PATH', 'HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH', 'HTTP_FRONTEND_ACL_ONLY_WITH_PATH', 'HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH',
      'HTTPS_FRONTEND_ACL_ONLY_WITH_PATH', 'HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH', 'HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH',
      'HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH', 'HTTP_FRONTEND_APPID_ACL', 'MAP_HTTP_FRONTEND_APPID_ACL', 'HTTPS_FRONTEND_ACL', 'MAP_HTTPS_FRONTEND_ACL',
      'HTTPS_FRONTEND_ACL_WITH_AUTH', 'HTTPS_FRONTEND_AUTH_ACL_ONLY', 'HTTPS_FRONTEND_AUTH_REQUEST_ONLY', 'HTTPS_FRONTEND_ACL_WITH_PATH',
      'HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH', 'BACKEND_HTTP_OPTIONS', 'HTTP_BACKEND_PROXYPASS_GLUE', 'HTTP_BACKEND_REVPROXY_GLUE', 'HTTP_BACKEND_REDIR',
      'BACKEND_HTTP_HEALTHCHECK_OPTIONS', 'BACKEND_TCP_HEALTHCHECK_OPTIONS', 'BACKEND_STICKY_OPTIONS', 'BACKEND_SERVER_OPTIONS',
      'BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS', 'BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS', 'FRONTEND_BACKEND_GLUE', 'HTTP_BACKEND_NETWORK_ALLOWED_ACL',
      'HTTP_BACKEND_ACL_ALLOW_DENY', 'TCP_BACKEND_NETWORK_ALLOWED_ACL', 'TCP_BACKEND_ACL_ALLOW_DENY',
    ].map((n) => `HAPROXY_${n}`);
    expect(marathonLb).toHaveLength(53);
    expect(marathonLb.filter((n) => !ours.has(n))).toEqual([]);
  });
});
