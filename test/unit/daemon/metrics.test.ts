import { describe, expect, it } from 'vitest';
import { daemonMetrics, Metrics } from '../../../src/daemon/metrics.js';

describe('Metrics', () => {
  it('an empty registry exposes nothing', () => {
    expect(new Metrics().text()).toBe('');
  });

  it('counters: HELP and TYPE, then one line per label set; inc adds up', () => {
    const m = new Metrics();
    m.declare('mlb_reloads_total', 'counter', 'HAProxy reloads, by reason');
    m.inc('mlb_reloads_total', { reason: 'backend added' });
    m.inc('mlb_reloads_total', { reason: 'backend added' }, 2);
    m.inc('mlb_reloads_total', { reason: 'sighup' });
    expect(m.text()).toBe(
      ['# HELP mlb_reloads_total HAProxy reloads, by reason', '# TYPE mlb_reloads_total counter', 'mlb_reloads_total{reason="backend added"} 3', 'mlb_reloads_total{reason="sighup"} 1', ''].join('\n'),
    );
  });

  it('a declared family without values still lists its HELP and TYPE', () => {
    const m = new Metrics();
    m.declare('mlb_servers', 'gauge', 'servers in the last rendered config');
    expect(m.text()).toBe('# HELP mlb_servers servers in the last rendered config\n# TYPE mlb_servers gauge\n');
  });

  it('an undeclared family is created on first use, its name as help', () => {
    const m = new Metrics();
    m.inc('x_total');
    m.set('y', 2.5);
    m.observe('z_seconds', 1);
    expect(m.text()).toContain('# HELP x_total x_total\n# TYPE x_total counter\nx_total 1\n');
    expect(m.text()).toContain('# HELP y y\n# TYPE y gauge\ny 2.5\n');
    expect(m.text()).toContain('# TYPE z_seconds summary\n');
  });

  it('gauges: set replaces', () => {
    const m = new Metrics();
    m.set('mlb_backends', 4);
    m.set('mlb_backends', 2);
    expect(m.get('mlb_backends')).toBe(2);
    expect(m.text()).toMatch(/\nmlb_backends 2\n$/);
  });

  it('summaries: _count and _sum per label set; the largest value as a gauge family of its own (_max)', () => {
    const m = new Metrics();
    m.declare('mlb_apply_seconds', 'summary', 'validate + install + reload duration');
    for (const s of [0.5, 2, 0.25]) m.observe('mlb_apply_seconds', s);
    m.observe('mlb_apply_seconds', 7, { kind: 'reload' });
    expect(m.text()).toBe(
      [
        '# HELP mlb_apply_seconds validate + install + reload duration',
        '# TYPE mlb_apply_seconds summary',
        'mlb_apply_seconds_count 3',
        'mlb_apply_seconds_sum 2.75',
        'mlb_apply_seconds_count{kind="reload"} 1',
        'mlb_apply_seconds_sum{kind="reload"} 7',
        '# HELP mlb_apply_seconds_max largest of mlb_apply_seconds',
        '# TYPE mlb_apply_seconds_max gauge',
        'mlb_apply_seconds_max 2',
        'mlb_apply_seconds_max{kind="reload"} 7',
        '',
      ].join('\n'),
    );
    expect(m.get('mlb_apply_seconds')).toBe(3);
  });

  it.each([
    ['a double quote', 'say "hi"', 'say \\"hi\\"'],
    ['a backslash', 'C:\\dir', 'C:\\\\dir'],
    ['a newline', 'two\nlines', 'two\\nlines'],
    ['all of them', '"\\\n', '\\"\\\\\\n'],
    ['nothing special', 'app /web: dropped', 'app /web: dropped'],
  ])('label values are escaped: %s', (_name, value, escaped) => {
    const m = new Metrics();
    m.inc('e_total', { reason: value });
    expect(m.text().split('\n')[2]).toBe(`e_total{reason="${escaped}"} 1`);
  });

  it('labels are sorted by name, in the line and for identity', () => {
    const m = new Metrics();
    m.inc('c_total', { b: '2', a: '1' });
    m.inc('c_total', { a: '1', b: '2' });
    expect(m.text().split('\n')[2]).toBe('c_total{a="1",b="2"} 2');
    expect(m.get('c_total', { b: '2', a: '1' })).toBe(2);
  });

  it('families are listed in name order', () => {
    const m = new Metrics();
    m.set('b_gauge', 1);
    m.inc('a_total');
    m.set('c_gauge', 1);
    expect(m.text().split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2])).toEqual(['a_total', 'b_gauge', 'c_gauge']);
  });

  it('get: one label set (0 when unknown); total: every label set of a family', () => {
    const m = new Metrics();
    m.inc('mlb_events_total', { type: 'status_update_event' }, 5);
    m.inc('mlb_events_total', { type: 'api_post_event' }, 2);
    m.inc('mlb_events_total');
    expect(m.get('mlb_events_total', { type: 'status_update_event' })).toBe(5);
    expect(m.get('mlb_events_total', { type: 'api_post_event' })).toBe(2);
    expect(m.get('mlb_events_total')).toBe(1);
    expect(m.get('mlb_events_total', { type: 'other' })).toBe(0);
    expect(m.get('nope')).toBe(0);
    expect(m.total('mlb_events_total')).toBe(8);
    expect(m.total('nope')).toBe(0);
  });
});

describe('daemonMetrics', () => {
  it('declares every family up front, each with HELP and TYPE; counters and summaries without labels start at 0', () => {
    const text = daemonMetrics().text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(types).toContainEqual(['mlb_reloads_total', 'counter']);
    expect(types).toContainEqual(['mlb_apply_seconds', 'summary']);
    expect(types).toContainEqual(['mlb_apply_seconds_max', 'gauge']);
    expect(types).toContainEqual(['mlb_stream_connected', 'gauge']);
    expect(types).toContainEqual(['mlb_runtime_via_master_total', 'counter']);
    expect(types).toContainEqual(['mlb_haproxy_restart_failures_total', 'counter']);
    expect(types).toHaveLength(20);
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const name of ['mlb_sync_failures_total', 'mlb_validation_failures_total', 'mlb_apps_dropped_total', 'mlb_runtime_fallbacks_total', 'mlb_render_seconds_count', 'mlb_apply_seconds_max']) expect(samples).toContain(`${name} 0`);
    // Those with labels have no series until a label set is seen.
    expect(samples.filter((l) => /^mlb_(reloads|syncs|events)_total/.test(l))).toEqual([]);
    for (const [name] of types) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    // Every sample belongs to the family whose TYPE line came last before it.
    let family = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) family = line.split(' ')[2] as string;
      else if (line && !line.startsWith('#')) expect(line.split(/[{ ]/)[0]?.replace(/_(count|sum)$/, '')).toBe(family);
    }
  });
});
