import { describe, expect, it } from 'vitest';
import {
  APP_LABELS,
  type ClassifiedLabel,
  classifyLabel,
  labelReference,
  PORT_LABELS,
} from '../../../../src/model/labels/registry.js';
import { PORT_TEMPLATE_NAMES, TEMPLATES } from '../../../../src/render/template-registry.js';

describe('classifyLabel', () => {
  it.each<[string, ClassifiedLabel]>([
    ['HAPROXY_GROUP', { kind: 'app', key: 'group' }],
    ['HAPROXY_APP_ID', { kind: 'app', key: 'appId' }],
    ['HAPROXY_DEPLOYMENT_GROUP', { kind: 'app', key: 'deploymentGroup' }],
    ['HAPROXY_DEPLOYMENT_ALT_PORT', { kind: 'app', key: 'deploymentAltPort' }],
    ['HAPROXY_DEPLOYMENT_COLOUR', { kind: 'app', key: 'deploymentColour' }],
    ['HAPROXY_DEPLOYMENT_STARTED_AT', { kind: 'app', key: 'deploymentStartedAt' }],
    ['HAPROXY_DEPLOYMENT_TARGET_INSTANCES', { kind: 'app', key: 'deploymentTargetInstances' }],
    ['HAPROXY_DEPLOYMENT_NEW_INSTANCES', { kind: 'app', key: 'deploymentNewInstances' }],
    ['HAPROXY_0_GROUP', { kind: 'port', index: 0, key: 'group' }],
    ['HAPROXY_0_VHOST', { kind: 'port', index: 0, key: 'vhost' }],
    ['HAPROXY_1_PORT', { kind: 'port', index: 1, key: 'port' }],
    ['HAPROXY_12_MODE', { kind: 'port', index: 12, key: 'mode' }],
    ['HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL', { kind: 'port', index: 0, key: 'allowedNetworks' }],
    ['HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX', { kind: 'port', index: 0, key: 'healthCheckPortIndex' }],
    ['HAPROXY_2_HTTP_BACKEND_PROXYPASS_PATH', { kind: 'port', index: 2, key: 'proxypassPath' }],
    ['HAPROXY_0_HTTP_BACKEND_REDIR', { kind: 'port', index: 0, key: 'redirPath' }],
    ['HAPROXY_0_BACKEND_HEAD', { kind: 'template', index: 0, template: 'HAPROXY_BACKEND_HEAD' }],
    ['HAPROXY_3_FRONTEND_HEAD', { kind: 'template', index: 3, template: 'HAPROXY_FRONTEND_HEAD' }],
    ['HAPROXY_0_HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH', { kind: 'template', index: 0, template: 'HAPROXY_HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH' }],
    ['HAPROXY_0_BACKEND_SERVER_OPTIONS', { kind: 'template', index: 0, template: 'HAPROXY_BACKEND_SERVER_OPTIONS' }],
    // global templates are not per-port: no label overrides them
    ['HAPROXY_0_HEAD', { kind: 'unknown' }],
    ['HAPROXY_0_HTTP_FRONTEND_HEAD', { kind: 'unknown' }],
    ['HAPROXY_0_MAP_HTTP_FRONTEND_ACL', { kind: 'unknown' }],
    ['HAPROXY_BACKEND_HEAD', { kind: 'unknown' }],
    ['HAPROXY_VHOST', { kind: 'unknown' }],
    ['HAPROXY_0_VHOTS', { kind: 'unknown' }],
    ['HAPROXY_0_', { kind: 'unknown' }],
    ['HAPROXY_X_VHOST', { kind: 'unknown' }],
    ['HAPROXY_-1_VHOST', { kind: 'unknown' }],
    ['HAPROXY_0_vhost', { kind: 'unknown' }],
    ['HAPROXY_', { kind: 'unknown' }],
    ['haproxy_0_vhost', { kind: 'other' }],
    ['MARATHON_SINGLE_INSTANCE_APP', { kind: 'other' }],
    ['DCOS_SERVICE_NAME', { kind: 'other' }],
    ['', { kind: 'other' }],
  ])('%s → %j', (key, expected) => {
    expect(classifyLabel(key)).toEqual(expected);
  });
});

describe('labelReference', () => {
  const docs = labelReference();
  const names = docs.map((d) => d.name);

  it('lists every app label, every port label and every per-port template exactly once', () => {
    const portLabelNames = new Set(Object.values(PORT_LABELS).map((s) => s.name));
    const templateLabels = [...PORT_TEMPLATE_NAMES].map((t) => `HAPROXY_{n}_${t.slice('HAPROXY_'.length)}`);
    const expected = new Set([...Object.values(APP_LABELS).map((s) => s.name), ...portLabelNames, ...templateLabels]);
    expect([...names].sort()).toEqual([...expected].sort());
    expect(new Set(names).size).toBe(names.length);
  });

  it('a template whose label name is a port label is documented once, as the port label (the label is the value)', () => {
    expect(classifyLabel('HAPROXY_0_HTTP_BACKEND_REDIR')).toEqual({ kind: 'port', index: 0, key: 'redirPath' });
    const redir = docs.filter((d) => d.name === 'HAPROXY_{n}_HTTP_BACKEND_REDIR');
    expect(redir).toHaveLength(1);
    expect(redir[0]?.type).toBe('path');
  });

  it('leaves out the global templates', () => {
    const globals = TEMPLATES.filter((t) => t.scope === 'global').map((t) => `HAPROXY_{n}_${t.name.slice('HAPROXY_'.length)}`);
    expect(globals.length).toBeGreaterThan(0);
    for (const g of globals) expect(names).not.toContain(g);
  });

  it('documents every entry: type, default and description are filled in', () => {
    for (const d of docs) {
      expect(d.type, d.name).not.toBe('');
      expect(d.default, d.name).not.toBe('');
      expect(d.description.trim().length, d.name).toBeGreaterThan(5);
      expect(d.description, d.name).not.toMatch(/: $/);
    }
  });

  it('every documented name classifies back to what it documents', () => {
    for (const d of docs) {
      const key = d.name.replace('{n}', '4');
      const c = classifyLabel(key);
      if (d.type === 'template') {
        expect(c, key).toEqual({ kind: 'template', index: 4, template: d.name.replace('_{n}', '') });
      } else if (d.scope === 'port') {
        expect(c.kind, key).toBe('port');
        expect(c.kind === 'port' && c.index).toBe(4);
        expect(c.kind === 'port' && PORT_LABELS[c.key].name).toBe(d.name);
      } else {
        expect(c.kind, key).toBe('app');
        expect(c.kind === 'app' && APP_LABELS[c.key].name).toBe(d.name);
      }
    }
  });

  it('names each per-port template default file', () => {
    const backendHead = docs.find((d) => d.name === 'HAPROXY_{n}_BACKEND_HEAD');
    expect(backendHead).toMatchObject({ scope: 'port', type: 'template', default: 'templates/HAPROXY_BACKEND_HEAD.hbs' });
  });
});
