import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadAndVerify, showProc } from '../../src/haproxy/master.js';
import { drainable, readStats, sessionsOn, setServerState, type LbSource } from '../../src/zdd/lb.js';
import { eventually } from '../helpers/daemon.js';
import { type RunningHaproxy, retryWhilePortTaken, startHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';

/**
 * zdd watching a load balancer through its master CLI sees the sessions of every worker: after
 * a reload, an old worker still finishing a connection to the task counts, where the admin
 * socket (the current worker only) sees none.
 */
describe('zdd and a master CLI: sessions of old workers count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-zdd-master-'));
  const admin = join(dir, 'admin.sock');
  const master = join(dir, 'master.sock');
  const held: Socket[] = [];
  let task: Server;
  let taskAddr = '';
  let hp: RunningHaproxy | undefined;
  let client: Socket | undefined;

  const viaMaster: LbSource = { kind: 'master', path: master };
  const viaAdmin: LbSource = { kind: 'socket', path: admin };

  beforeAll(async () => {
    // The "task": accepts connections and holds them open.
    task = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => task.listen(0, '127.0.0.1', r));
    const address = task.address();
    taskAddr = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    let port = 0;
    hp = await retryWhilePortTaken(async () => {
      port = await freePort();
      writeFileSync(
        join(dir, 'haproxy.cfg'),
        [
          'global',
          `  stats socket ${admin} mode 600 level admin expose-fd listeners`,
          'defaults',
          '  mode tcp',
          '  timeout connect 2s',
          '  timeout client 30s',
          '  timeout server 30s',
          'frontend fe',
          `  bind 127.0.0.1:${port}`,
          '  default_backend shop_8080',
          'backend shop_8080',
          `  server task_1 ${taskAddr}`,
          '',
        ].join('\n'),
      );
      return startHaproxy(join(dir, 'haproxy.cfg'), { masterSocket: master, ports: [port] });
    });
    // The readiness probe of startHaproxy connected too: wait for it to be gone.
    await eventually(async () => sessionsOn(await readStats(viaAdmin), new Set([taskAddr])).sessions === 0, 5000, 'no session yet');
    client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    await eventually(async () => sessionsOn(await readStats(viaAdmin), new Set([taskAddr])).sessions === 1, 5000, 'one session through the worker');
  });

  afterAll(async () => {
    client?.destroy();
    for (const s of held) s.destroy();
    await hp?.stop();
    await new Promise<void>((r) => task.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('before a reload: the master CLI reads the one worker, tagged with its pid', async () => {
    const proc = await showProc(master);
    expect(proc.workers).toHaveLength(1);
    const rows = (await readStats(viaMaster)).filter((r) => r.addr === taskAddr);
    expect(rows).toEqual([expect.objectContaining({ proxy: 'shop_8080', server: 'task_1', scur: 1, worker: proc.workers[0]?.pid })]);
  });

  it('after a reload: the old worker still holds the session; only the master CLI sees it', async () => {
    const proc = await reloadAndVerify(master);
    expect(proc.oldWorkers).toHaveLength(1);
    const addrs = new Set([taskAddr]);
    expect(sessionsOn(await readStats(viaAdmin), addrs).sessions).toBe(0);
    const all = await readStats(viaMaster);
    expect(sessionsOn(all, addrs).sessions).toBe(1);
    expect(new Set(all.filter((r) => r.addr === taskAddr).map((r) => r.worker))).toEqual(new Set([proc.workers[0]?.pid, proc.oldWorkers[0]?.pid]));
  });

  it('draining through the master CLI drains the server of the current worker (an old one takes no new connection)', async () => {
    const addrs = new Set([taskAddr]);
    const proc = await showProc(master);
    expect(proc.workers).toHaveLength(1);
    const refs = drainable(await readStats(viaMaster), addrs);
    expect(refs).toEqual([{ server: 'shop_8080/task_1', worker: proc.workers[0]?.pid }]);
    for (const ref of refs) await setServerState({ kind: 'master', path: master }, ref, 'drain');
    const current = (await readStats(viaMaster)).filter((r) => r.addr === taskAddr && !r.old);
    expect(current.map((r) => r.status)).toEqual(['DRAIN']);
    expect(drainable(await readStats(viaMaster), addrs)).toEqual([]);
    // and the session on the old worker still counts until it ends
    expect(sessionsOn(await readStats(viaMaster), addrs).sessions).toBe(1);
  });

  it('once the session ends the old worker goes, and no session is left anywhere', async () => {
    client?.destroy();
    for (const s of held) s.destroy();
    await eventually(async () => (await showProc(master)).oldWorkers.length === 0, 10_000, 'old worker gone');
    expect(sessionsOn(await readStats(viaMaster), new Set([taskAddr])).sessions).toBe(0);
  });
});
