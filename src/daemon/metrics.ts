/**
 * A small Prometheus text-format registry: counters and gauges with labels, and summaries
 * (count and sum) for durations, each with the largest value seen as a gauge family of its own
 * (`…_max`: a summary's own samples are only its quantiles, count and sum). Enough for mlb-ts; no
 * dependency needed.
 */
type LabelSet = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'summary';
  values: Map<string, { labels: LabelSet; value: number; sum?: number; max?: number }>;
}

function key(labels: LabelSet): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function labelText(labels: LabelSet, extra = ''): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, type: Family['type'], help: string): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /**
   * `zero`: a family without labels shows 0 from the start, so a rate or increase() over it sees
   * its first event (a series that appears with the value 1 has no increase to show).
   */
  declare(name: string, type: Family['type'], help: string, zero = false): void {
    const f = this.family(name, type, help);
    if (zero && !f.values.has('')) f.values.set('', type === 'summary' ? { labels: {}, value: 0, sum: 0, max: 0 } : { labels: {}, value: 0 });
  }

  inc(name: string, labels: LabelSet = {}, by = 1): void {
    const f = this.family(name, 'counter', name);
    const k = key(labels);
    const v = f.values.get(k) ?? { labels, value: 0 };
    v.value += by;
    f.values.set(k, v);
  }

  set(name: string, value: number, labels: LabelSet = {}): void {
    const f = this.family(name, 'gauge', name);
    f.values.set(key(labels), { labels, value });
  }

  observe(name: string, seconds: number, labels: LabelSet = {}): void {
    const f = this.family(name, 'summary', name);
    const k = key(labels);
    const v = f.values.get(k) ?? { labels, value: 0, sum: 0, max: 0 };
    v.value += 1;
    v.sum = (v.sum ?? 0) + seconds;
    v.max = Math.max(v.max ?? 0, seconds);
    f.values.set(k, v);
  }

  get(name: string, labels: LabelSet = {}): number {
    return this.families.get(name)?.values.get(key(labels))?.value ?? 0;
  }

  /** Sum over every label set of a family. */
  total(name: string): number {
    let n = 0;
    for (const v of this.families.get(name)?.values.values() ?? []) n += v.value;
    return n;
  }

  text(): string {
    let out = '';
    for (const [name, f] of [...this.families].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
      for (const v of f.values.values()) {
        if (f.type === 'summary') out += `${name}_count${labelText(v.labels)} ${v.value}\n${name}_sum${labelText(v.labels)} ${v.sum}\n`;
        else out += `${name}${labelText(v.labels)} ${v.value}\n`;
      }
      if (f.type !== 'summary') continue;
      out += `# HELP ${name}_max largest of ${name}\n# TYPE ${name}_max gauge\n`;
      for (const v of f.values.values()) out += `${name}_max${labelText(v.labels)} ${v.max}\n`;
    }
    return out;
  }
}

/** The families mlb-ts exports, declared up front so /metrics lists them from the start. */
export function daemonMetrics(): Metrics {
  const m = new Metrics();
  m.declare('mlb_events_total', 'counter', 'Marathon events received, by type');
  m.declare('mlb_syncs_total', 'counter', 'fetch-and-render cycles, by trigger (one asked for by several triggers counts under each)');
  m.declare('mlb_sync_failures_total', 'counter', 'syncs that failed (Marathon unreachable, bad document …)', true);
  m.declare('mlb_reloads_total', 'counter', 'HAProxy reloads, by reason');
  m.declare('mlb_reload_failures_total', 'counter', 'reloads that failed, by reason');
  m.declare('mlb_haproxy_restart_failures_total', 'counter', 'failed attempts to start again the supervised HAProxy after it exited (retried with backoff)', true);
  m.declare('mlb_runtime_updates_total', 'counter', 'changes applied through the runtime API without a reload');
  m.declare('mlb_runtime_fallbacks_total', 'counter', 'runtime API updates that failed and fell back to a reload', true);
  m.declare('mlb_runtime_via_master_total', 'counter', 'runtime API calls (updates, server-state saves) sent through the master CLI because the admin socket was unreachable', true);
  m.declare('mlb_validation_failures_total', 'counter', 'configs refused by haproxy -c', true);
  m.declare('mlb_apps_dropped_total', 'counter', 'app ports dropped because HAProxy refused their part of the config (one per port)', true);
  m.declare('mlb_render_seconds', 'summary', 'model + render duration', true);
  m.declare('mlb_apply_seconds', 'summary', 'validate + install + reload duration', true);
  m.declare('mlb_apps', 'gauge', 'apps in the last rendered model');
  m.declare('mlb_backends', 'gauge', 'backends in the last rendered config');
  m.declare('mlb_servers', 'gauge', 'servers in the last rendered config');
  m.declare('mlb_stream_connected', 'gauge', '1 while the Marathon event stream is open');
  m.declare('mlb_last_apply_timestamp_seconds', 'gauge', 'unix time of the last successful apply');
  return m;
}
