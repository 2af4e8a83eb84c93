/**
 * Shared pieces of the daemon benchmarks: free ports, the daemon as a child process (temp
 * dirs, JSON logs kept, stopped by PID), its /metrics, a process's RSS, one-shot HTTP requests
 * on fresh connections. Loopback only; everything is bounded in time.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(new URL('..', import.meta.url).pathname);
export const MAIN = join(ROOT, 'dist/cli/main.js');
export const TEST_CERT = join(ROOT, 'test/fixtures/certs/default.pem');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What this process started, so an interrupted run (Ctrl-C, SIGTERM) still stops its
// daemons (by PID; each stops its own HAProxy) and removes its temp dirs.
const liveChildren = new Set();
const liveDirs = new Set();
let interruptHooked = false;
function hookInterrupt() {
  if (interruptHooked) return;
  interruptHooked = true;
  const onSignal = async (signal) => {
    for (const c of liveChildren) c.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while ([...liveChildren].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(50);
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** A temp dir removed by removeTempDir (or on interrupt). */
export function makeTempDir(prefix) {
  hookInterrupt();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}
export const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : NaN);
export const round = (x, d = 0) => (Number.isFinite(x) ? +x.toFixed(d) : x);

/** Integer env var, or the default. */
export function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
  return n;
}

export function envList(name, dflt) {
  const v = process.env[name];
  return v ? v.split(',').map((x) => Number(x.trim())).filter((x) => Number.isFinite(x) && x > 0) : dflt;
}

/** `n` distinct ports, free on 127.0.0.1 a moment ago (held together so none repeats). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      servers.push(
        await new Promise((res, rej) => {
          const s = createServer();
          s.once('error', rej);
          s.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => res(s));
        }),
      );
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}

/** One request on a fresh connection (no agent, Connection: close). Never rejects: errors come back as `{ error }`. */
export function get({ port, path = '/', host, method = 'GET', timeoutMs = 2000 }) {
  return new Promise((done) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false, headers: { host: host ?? `127.0.0.1:${port}`, connection: 'close' } });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => {
        clearTimeout(timer);
        done({ error: e.message });
      });
      res.on('end', () => {
        clearTimeout(timer);
        done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      done({ error: e.message });
    });
    req.end();
  });
}

/** Prometheus text → { 'name{labels}': value } and per-family totals. */
export function parseMetrics(text) {
  const series = {};
  const totals = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    series[`${m[1]}${m[2] ?? ''}`] = v;
    totals[m[1]] = (totals[m[1]] ?? 0) + v;
  }
  return { series, totals };
}

/** Resident set size of a process in MB (VmRSS), or NaN when it is gone. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Templates that bind the fixed frontends (http, https, app-id, stats) to 127.0.0.1 instead of
 * `*`: the benchmark exposes nothing beyond loopback. Same templates otherwise.
 */
export function loopbackTemplates(dir) {
  mkdirSync(dir, { recursive: true });
  const names = ['HAPROXY_HEAD', 'HAPROXY_HTTP_FRONTEND_HEAD', 'HAPROXY_HTTPS_FRONTEND_HEAD', 'HAPROXY_HTTP_FRONTEND_APPID_HEAD'];
  for (const n of names) {
    const text = readFileSync(join(ROOT, 'templates', `${n}.hbs`), 'utf8');
    writeFileSync(join(dir, `${n}.hbs`), text.replace(/bind \*:/g, 'bind 127.0.0.1:').replace(/bind 0\.0\.0\.0:/g, 'bind 127.0.0.1:'));
  }
  return dir;
}

/**
 * The daemon (`mlb-ts --sse …`) as a child process of this one, files and sockets in `dir`,
 * every port free. Its JSON log lines are kept in `logs` (parsed) when `keepLogs`, else
 * written to dir/daemon.log. `extra` are more flags; `nodeArgs` go to node (e.g. --cpu-prof).
 */
export async function startDaemon({ dir, marathon, extra = [], keepLogs = true, readyTimeoutMs = 30_000, nodeArgs = [] }) {
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  const [http, https, appId, stats, listen] = await freePorts(5);
  const ports = { http, https, appId, stats, listen };
  const flags = [
    '--group', 'external', '-m', marathon,
    '--haproxy-config', join(dir, 'haproxy.cfg'),
    '--haproxy-socket', join(run, 'admin.sock'),
    '--master-socket', join(run, 'master.sock'),
    '--listen', `127.0.0.1:${listen}`,
    '--http-port', String(http), '--https-port', String(https), '--appid-port', String(appId), '--stats-port', String(stats),
    '--ssl-certs', TEST_CERT,
    '--templates', loopbackTemplates(join(dir, 'templates')),
    ...extra,
  ];
  hookInterrupt();
  const child = spawn(process.execPath, [...nodeArgs, MAIN, '--sse', ...flags], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const logs = [];
  const stderrTail = [];
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
    liveChildren.delete(child);
  });
  if (keepLogs) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line, time: Date.now() });
      }
    });
  } else {
    child.stdout.pipe(createWriteStream(join(dir, 'daemon.log')));
  }
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const d = {
    child,
    pid: child.pid,
    ports,
    flags,
    logs,
    dir,
    adminSocket: join(run, 'admin.sock'),
    get exited() {
      return exited;
    },
    async metrics() {
      const res = await get({ port: listen, path: '/metrics', timeoutMs: 5000 });
      if (res.error || res.status !== 200) throw new Error(`/metrics: ${res.error ?? res.status}`);
      return parseMetrics(res.body);
    },
    async config() {
      const res = await get({ port: listen, path: '/_haproxy_getconfig', timeoutMs: 5000 });
      return res.body ?? '';
    },
    hup() {
      return get({ port: listen, path: '/_mlb_signal/hup', method: 'POST', timeoutMs: 5000 });
    },
    /** What `mlb-ts --dry-run` with the daemon's flags renders from Marathon's current state. */
    dryRun() {
      // Asynchronous: the Marathon it asks may live in this very process.
      return new Promise((resolve, reject) => {
        execFile(process.execPath, [MAIN, '--dry-run', ...flags], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`mlb-ts --dry-run failed (${err.code ?? err.signal}): ${String(stderr).slice(-500)}`));
          else resolve(stdout);
        });
      });
    },
    async stop(timeoutMs = 15_000) {
      if (exited) return exited;
      const gone = new Promise((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(timeoutMs)]);
      if (!exited) {
        child.kill('SIGKILL');
        await Promise.race([gone, sleep(5000)]);
      }
      return exited;
    },
    describeFailure() {
      const tail = keepLogs ? logs.slice(-10).map((l) => l.msg + (l.err ? ` (${l.err})` : '')).join(' | ') : '';
      return `daemon ${exited ? `exited ${JSON.stringify(exited)}` : 'running'}; stderr: ${stderrTail.join(' | ')}; logs: ${tail}`;
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`daemon did not start: ${d.describeFailure()}`);
    const res = await get({ port: listen, path: '/healthz', timeoutMs: 1000 });
    if (res.status === 200) break;
    if (Date.now() > deadline) {
      await d.stop();
      throw new Error(`daemon not healthy within ${readyTimeoutMs} ms: ${d.describeFailure()}`);
    }
    await sleep(50);
  }
  return d;
}

/** Prints a table with a heading. */
export function table(title, rows) {
  console.log(`\n${title}`);
  console.table(rows);
}

/** One command on an HAProxy CLI socket; resolves with the whole answer (or rejects). */
export function socketCommand(path, command, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const chunks = [];
    const timer = setTimeout(() => sock.destroy(new Error(`no answer from ${path}`)), timeoutMs);
    sock.on('connect', () => sock.end(`${command}\n`));
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * `show servers state` of the running HAProxy: per backend, the servers that take new
 * traffic (no srv_admin_state flag but 0x04: neither maintenance nor drain), as `ip:port`.
 */
export async function enabledServers(adminSocket) {
  const text = await socketCommand(adminSocket, 'show servers state');
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# be_id'));
  if (!header) throw new Error(`unexpected 'show servers state' answer: ${text.slice(0, 120)}`);
  const cols = header.replace(/^#\s*/, '').split(/\s+/);
  const at = (name) => cols.indexOf(name);
  const out = new Map();
  for (const l of lines) {
    if (!l.trim() || l.startsWith('#') || /^\d+\s*$/.test(l)) continue;
    const f = l.split(/\s+/);
    const be = f[at('be_name')];
    if (!out.has(be)) out.set(be, new Set());
    // 0x04 (configured `disabled`) stays set on a spare slot the runtime API made ready: it serves.
    if ((Number(f[at('srv_admin_state')]) & ~0x04) === 0) out.get(be).add(`${f[at('srv_addr')]}:${f[at('srv_port')]}`);
  }
  return out;
}

/** Waits until `pred()` is truthy (checked every `everyMs`), or the time is up; returns whether it held. */
export async function until(pred, timeoutMs, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}
