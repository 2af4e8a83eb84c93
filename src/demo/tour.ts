import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon } from '../daemon/daemon.js';
import { startEndpoints } from '../daemon/http.js';
import { createLogger } from '../daemon/log.js';
import { SupervisedReloader } from '../daemon/reloader.js';
import { httpCall } from '../marathon/http.js';
import type { MarathonApp } from '../marathon/types.js';
import { DEFAULTS, type Settings } from '../settings.js';
import { FakeMarathon } from './fake-marathon.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface DemoOptions {
  dir: string;
  ports: Settings['ports'];
  listen: string;
  keepRunning: boolean;
  haproxyBin: string;
  out?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The example apps as a user would POST them: Marathon's reported tasks dropped, the fake starts real ones. */
export function exampleApps(): MarathonApp[] {
  const doc = JSON.parse(readFileSync(join(EXAMPLES_DIR, 'apps.json'), 'utf8')) as { apps: MarathonApp[] };
  return doc.apps.map(({ tasks: _tasks, ...app }) => app);
}

interface Answer {
  status: number;
  task?: string;
}

function get(port: number, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode ?? 0, ...(res.headers['x-task-id'] ? { task: String(res.headers['x-task-id']) } : {}) }));
    });
    req.on('error', () => done({ status: 0 }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Requests the tour sent and how many failed (not 2xx), to report honestly at the end. */
const tally = { sent: 0, failed: 0 };

/** Which tasks answer `n` requests. */
async function answering(port: number, path: string, headers: Record<string, string>, n = 12): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = await get(port, path, headers);
    tally.sent++;
    if (a.status < 200 || a.status > 299) tally.failed++;
    const key = a.task ? shortTaskId(a.task) : `HTTP ${a.status}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

/** `web.00000000-0000-4000-8000-00000000000b` → `web#11`: enough to tell the demo's tasks apart. */
function shortTaskId(id: string): string {
  const [app = id, rest = ''] = id.split('.');
  const n = Number.parseInt(rest.split('-').pop() ?? '', 16);
  return Number.isNaN(n) ? id : `${app}#${n}`;
}

function show(seen: Map<string, number>): string {
  return [...seen].map(([k, v]) => `${k}×${v}`).join(' ');
}

async function until(cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return Date.now() - t0;
    await sleep(20);
  }
  return -1;
}

/**
 * `mlb-ts demo`: a fake Marathon with the example apps (real HTTP tasks on loopback), a real
 * HAProxy and the mlb-ts daemon, then a short tour: routing, a scale-up and a kill applied
 * without a reload, a new app that needs one. Exits when done unless keepRunning.
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const say = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  mkdirSync(o.dir, { recursive: true });
  const fake = await FakeMarathon.start({ apps: exampleApps(), agents: ['127.0.0.1'], stagingMs: 100, healthyAfterMs: 200, killGraceSeconds: 2 });
  const logFile = join(o.dir, 'mlb-ts.log');
  const log = createLogger('info', createWriteStream(logFile));
  const s: Settings = {
    ...DEFAULTS,
    marathon: [fake.url],
    groups: ['external'],
    healthCheck: false,
    strictMode: false,
    haproxyMap: false,
    haproxyConfig: resolve(o.dir, 'haproxy.cfg'),
    sslCerts: [join(EXAMPLES_DIR, 'certs', 'demo.pem')],
    labelTemplates: true,
    dontBindHttpHttps: false,
    groupHttpsByVhost: false,
    sse: true,
    skipValidation: false,
    logLevel: 'info',
    haproxyBin: o.haproxyBin,
    haproxySocket: resolve(o.dir, 'admin.sock'),
    masterSocket: resolve(o.dir, 'master.sock'),
    listen: o.listen,
    ipvs: true,
    ports: o.ports,
    hardStopAfter: '10s',
    spareSlots: 8,
  };
  const holder: { daemon?: Daemon } = {};
  const reloader = new SupervisedReloader(s, s.haproxyConfig, log, () => holder.daemon?.onHaproxyExit());
  const daemon = new Daemon(s, log, reloader);
  holder.daemon = daemon;
  const endpoints = await startEndpoints(s.listen, daemon, reloader, log);
  const stop = async () => {
    await daemon.stop();
    await endpoints.close();
    await fake.close();
  };
  try {
    await daemon.start();
    const P = o.ports;
    say('mlb-ts demo: a fake Marathon with the example apps, a real HAProxy, the mlb-ts daemon');
    say(`  Marathon (fake)  ${fake.url}   apps: ${fake.apps().map((a) => a.id).join(', ')} (tasks are real HTTP servers on 127.0.0.1)`);
    say(`  HAProxy          vhosts :${P.http}   TLS :${P.https}   X-Marathon-App-Id :${P.appId}   stats :${P.stats}/haproxy?stats`);
    say(`  mlb-ts           http://${endpoints.address}/metrics   /healthz   /_haproxy_getconfig   logs: ${logFile}`);
    say(`  files            ${o.dir}/haproxy.cfg, ipvs.rules, vips.hosts, vips.json`);
    await fake.settled(10_000);
    await until(async () => (await get(P.http, '/', { Host: 'web.example.com' })).status === 200, 10_000);
    const web = () => answering(P.http, '/', { Host: 'web.example.com' });

    say('\n1. Routing');
    say(`   curl -H 'Host: web.example.com' 127.0.0.1:${P.http}/          → /web tasks ${show(await web())}`);
    say(`   curl -H 'Host: web.example.com' 127.0.0.1:${P.http}/api/x     → /shop/api ${show(await answering(P.http, '/api/x', { Host: 'web.example.com' }, 3))}`);
    say(`   curl -H 'X-Marathon-App-Id: /web' 127.0.0.1:${P.appId}/      → ${show(await answering(P.appId, '/', { 'X-Marathon-App-Id': '/web' }, 4))}`);
    say(`   curl 127.0.0.1:3141/  (HAPROXY_0_PORT of /httpi)        → ${show(await answering(3141, '/', {}, 10))}`);

    const reloads0 = daemon.metrics.total('mlb_reloads_total');
    say('\n2. Scale /web 2 → 4 through Marathon\'s API (PUT /v2/apps/web {"instances": 4})');
    await httpCall(`${fake.url}/v2/apps/web?force=true`, { method: 'PUT', body: { instances: 4 } });
    const t = await until(async () => (await web()).size >= 4, 10_000);
    say(`   all 4 tasks answer ${t}ms later: ${show(await web())}`);
    say(`   reloads: ${daemon.metrics.total('mlb_reloads_total') - reloads0}, runtime API updates: ${daemon.metrics.total('mlb_runtime_updates_total')}`);

    const victim = fake.tasks('/web')[0];
    if (victim) {
      say(`\n3. Kill task ${victim.id} (Marathon's TASK_KILLING: it drains, then goes)`);
      const res = await httpCall(`${fake.url}/v2/apps/web/tasks/${encodeURIComponent(victim.id)}?scale=true&force=true`, { method: 'DELETE' });
      if (res.status !== 200) say(`   Marathon answered HTTP ${res.status}: ${res.body.toString().slice(0, 200)}`);
      const gone = await until(async () => !(await web()).has(shortTaskId(victim.id)), 10_000);
      say(`   ${shortTaskId(victim.id)} gets no new requests ${gone}ms later (TASK_KILLING → drain; its open requests finish)`);
      say(`   answering now: ${show(await web())}   reloads: ${daemon.metrics.total('mlb_reloads_total') - reloads0}`);
    }

    say('\n4. Deploy a new app /hello with HAPROXY_0_VHOST=hello.example.com (a new backend: a reload, with its reason)');
    await httpCall(`${fake.url}/v2/apps`, { method: 'POST', body: { id: '/hello', instances: 2, portDefinitions: [{ port: 0 }], labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'hello.example.com' } } });
    await until(async () => (await get(P.http, '/', { Host: 'hello.example.com' })).status === 200, 15_000);
    say(`   curl -H 'Host: hello.example.com' 127.0.0.1:${P.http}/   → ${show(await answering(P.http, '/', { Host: 'hello.example.com' }, 6))}`);
    const reloadLines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"HAProxy reloaded"'));
    const last = reloadLines.length ? (JSON.parse(reloadLines[reloadLines.length - 1] as string) as { reason: string; change: string }) : undefined;
    say(`   reloads: ${daemon.metrics.total('mlb_reloads_total') - reloads0}${last ? ` (reason: ${last.reason}: ${last.change})` : ''}`);

    const outcome = tally.failed === 0 ? `all ${tally.sent} requests got a 2xx` : `${tally.failed} of ${tally.sent} requests failed`;
    say(`\nDone: ${daemon.metrics.total('mlb_reloads_total')} reloads and ${daemon.metrics.total('mlb_runtime_updates_total')} runtime updates in all; ${outcome}.`);
    if (o.keepRunning) {
      say(`Still running: try the commands above, scale with curl -X PUT ${fake.url}/v2/apps/web -d '{"instances":6}'. Ctrl-C stops.`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    }
    return tally.failed === 0 ? 0 : 1;
  } finally {
    await stop();
  }
}
