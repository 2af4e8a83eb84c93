import { createServer, type Server } from 'node:http';
import { errorLine, MlbError } from '../errors.js';
import type { Daemon } from './daemon.js';
import type { Logger } from './log.js';
import type { Reloader } from './reloader.js';

export interface Endpoints {
  server: Server;
  address: string;
  close(): Promise<void>;
}

/**
 * mlb-ts's own HTTP endpoints: health, Prometheus metrics, the installed config and maps
 * (marathon-lb's /_haproxy_get* paths), HAProxy's PIDs, and signals.
 */
export async function startEndpoints(listen: string, daemon: Daemon, reloader: Reloader, log: Logger): Promise<Endpoints> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    const signal = (name: 'hup' | 'usr1') => {
      if (req.method !== 'POST' && req.method !== 'GET') return send(405, 'use POST\n');
      if (name === 'hup') daemon.markDirty('sighup', true);
      else daemon.requestReload('sigusr1');
      log.info({ signal: name, via: 'http' }, `signal ${name.toUpperCase()} received`);
      return send(200, `${name === 'hup' ? 'full resync' : 'reload'} requested\n`);
    };
    switch (path) {
      case '/healthz': {
        // Healthy once Marathon's apps are applied: not while the placeholder of a first start serves nothing.
        // And not while the HAProxy it supervises is down (onHaproxyExit), nor before the reload of
        // the start (--command, an adopted HAProxy) has loaded the apps.
        const ok = daemon.applied !== undefined && !daemon.waitingForMarathon && !daemon.haproxyDown && !daemon.startupReloadPending;
        return send(ok ? 200 : 503, `${JSON.stringify({ ok, haproxyRunning: !daemon.haproxyDown, streamConnected: daemon.streamConnected, lastApply: daemon.applied ? new Date(daemon.applied.at).toISOString() : null, lastError: daemon.lastError ?? null, ipvsError: daemon.ipvsError ?? null })}\n`, 'application/json');
      }
      case '/metrics':
        return send(200, daemon.metrics.text(), 'text/plain; version=0.0.4; charset=utf-8');
      case '/_haproxy_getconfig':
        return send(200, daemon.servedFile('config'));
      case '/_haproxy_getvhostmap':
        return send(200, daemon.servedFile('domain2backend.map'));
      case '/_haproxy_getappmap':
        return send(200, daemon.servedFile('app2backend.map'));
      case '/_haproxy_getpids':
        return void reloader.pids().then(
          (pids) => send(200, `${pids.join(' ')}\n`),
          (e) => send(503, `${errorLine(e)}\n`),
        );
      case '/_mlb_signal/hup':
        return signal('hup');
      case '/_mlb_signal/usr1':
        return signal('usr1');
      default:
        return send(404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new MlbError('E_LISTEN', `--listen ${listen}: cannot listen (${errorLine(e)})`, { cause: e })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : listen;
  return {
    server,
    address,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
