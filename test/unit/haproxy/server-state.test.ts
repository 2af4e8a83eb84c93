import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredServers, serverStateFile } from '../../../src/haproxy/server-state.js';
import { socketCommand } from '../../../src/haproxy/socket.js';
import { startHaproxy } from '../../helpers/haproxy.js';
import { freePorts } from '../../helpers/ports.js';

describe('configuredServers', () => {
  it('the servers of backends and listen sections: address, port, check port, weight', () => {
    const config = [
      'global',
      '  server-state-file /x/haproxy.state',
      'defaults',
      '  mode http',
      'frontend fe',
      '  bind 127.0.0.1:80',
      'backend web_10000',
      '  balance roundrobin',
      '  server 10_0_0_1_31000 10.0.0.1:31000 id 1 check inter 2s fall 1 port 31001 check-ssl verify none',
      '  server 10_0_0_2_31000 10.0.0.2:31000 id 2 check inter 2s weight 0',
      '\tserver mlb_spare_1 127.0.0.1:1 id 2147482625 disabled',
      '  # server commented 10.0.0.3:1',
      '  server six [::1]:8080 weight 3 # a comment weight 9',
      '  server named db.example:5432',
      '  server noport 10.0.0.4',
      'listen stats',
      '  bind :9090',
      '  server local 127.0.0.1:8000',
      '',
    ].join('\n');
    expect([...configuredServers(config)]).toEqual([
      ['web_10000/10_0_0_1_31000', { addr: '10.0.0.1', port: 31000, checkPort: 31001, weight: 1, id: 1 }],
      ['web_10000/10_0_0_2_31000', { addr: '10.0.0.2', port: 31000, checkPort: 0, weight: 0, id: 2 }],
      ['web_10000/mlb_spare_1', { addr: '127.0.0.1', port: 1, checkPort: 0, weight: 1, id: 2147482625 }],
      ['web_10000/six', { addr: '::1', port: 8080, checkPort: 0, weight: 3 }],
      ['web_10000/named', { addr: 'db.example', port: 5432, checkPort: 0, weight: 1 }],
      ['web_10000/noport', { addr: '10.0.0.4', port: 0, checkPort: 0, weight: 1 }],
      ['stats/local', { addr: '127.0.0.1', port: 8000, checkPort: 0, weight: 1 }],
    ]);
  });

  it('default-server lines of the defaults section and of the backend; the server line wins', () => {
    const config = [
      'defaults',
      '  default-server weight 5',
      'backend a',
      '  server a1 10.0.0.1:1',
      '  default-server port 99',
      '  server a2 10.0.0.1:2',
      '  server a3 10.0.0.1:3 weight 1 port 7',
      'backend b',
      '  server b1 10.0.0.1:4',
      'defaults',
      'backend c',
      '  server c1 10.0.0.1:5',
    ].join('\n');
    const servers = configuredServers(config);
    expect(['a/a1', 'a/a2', 'a/a3', 'b/b1', 'c/c1'].map((k) => servers.get(k))).toEqual([
      { addr: '10.0.0.1', port: 1, checkPort: 0, weight: 5 },
      { addr: '10.0.0.1', port: 2, checkPort: 99, weight: 5 },
      { addr: '10.0.0.1', port: 3, checkPort: 7, weight: 1 },
      { addr: '10.0.0.1', port: 4, checkPort: 0, weight: 5 },
      { addr: '10.0.0.1', port: 5, checkPort: 0, weight: 1 },
    ]);
  });
});

describe('serverStateFile', () => {
  // HAProxy 2.6's `show servers state` columns.
  const HEADER =
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
  const row = (o: { be?: string; name: string; addr?: string; admin?: number; uweight?: number; iweight?: number; port: number; checkPort?: number }) =>
    `8 ${o.be ?? 'web_1'} 1 ${o.name} ${o.addr ?? '127.0.0.1'} 2 ${o.admin ?? 0} ${o.uweight ?? 1} ${o.iweight ?? 1} 12 6 3 4 6 0 0 1 - ${o.port} - 0 ${o.checkPort ?? 0} - - 0`;
  const answer = (...rows: string[]) => ['1', HEADER, ...rows, '', ''].join('\n');
  const rows = (file: string) => file.split('\n').slice(2).filter(Boolean);

  /** The config the next worker loads. */
  const next = configuredServers(
    [
      'backend web_1',
      '  server t_21005 127.0.0.1:21005 id 1 check port 31005',
      '  server t_21008 127.0.0.1:21008 id 2 check',
      '  server t_21009 127.0.0.1:21009 id 3 check weight 0',
      '  server t_21010 127.0.0.1:21010 id 4 check',
      '  server mlb_spare_1 127.0.0.1:1 id 5 disabled',
      '',
    ].join('\n'),
  );

  it('not a `show servers state` answer → undefined', () => {
    expect(serverStateFile('Unknown command\n')).toBeUndefined();
    expect(serverStateFile(`1\n${HEADER.slice(2)}\n`)).toBeUndefined();
  });

  it('without the next config: the version, the header and every server not in maintenance or drain, as they were', () => {
    const ready = row({ name: 't_21005', port: 21008 });
    const file = serverStateFile(answer(ready, row({ name: 'm', port: 1, admin: 1 }), row({ name: 'd', port: 2, admin: 8 }), row({ name: 'spare', port: 3, admin: 4 })));
    expect(file).toBe(`1\n${HEADER}\n${ready}\n`);
  });

  it('with it: a slot the runtime API pointed at another port, check port or address is left out (HAProxy would apply the saved port)', () => {
    const file = serverStateFile(
      answer(
        row({ name: 't_21005', port: 21008, checkPort: 31005 }), // the slot of 21005, now at 21008
        row({ name: 't_21008', port: 21008, checkPort: 31005 }), // a check port the config does not give
        row({ name: 't_21010', port: 21010, addr: '127.0.0.2' }),
        row({ name: 'mlb_spare_1', port: 21005, admin: 4 }),
      ),
      next,
    ) as string;
    expect(rows(file)).toEqual([]);
  });

  it('with it: servers the next config does not have are left out, in other backends too', () => {
    const file = serverStateFile(answer(row({ name: 'gone', port: 21011 }), row({ be: 'other_2', name: 't_21005', port: 21005, checkPort: 31005 })), next) as string;
    expect(rows(file)).toEqual([]);
  });

  it('with it: servers where the config has them are kept, health and check state as saved, at the weight the config gives', () => {
    const file = serverStateFile(
      answer(
        row({ name: 't_21005', port: 21005, checkPort: 31005 }),
        // drained at runtime (weight 0); the next config has it ready again
        row({ name: 't_21008', port: 21008, uweight: 0, iweight: 1 }),
        // loaded draining, made ready at runtime; the next config has it draining
        row({ name: 't_21009', port: 21009, uweight: 1, iweight: 0 }),
      ),
      next,
    ) as string;
    expect(file.split('\n').slice(0, 2)).toEqual(['1', HEADER]);
    expect(rows(file)).toEqual([
      row({ name: 't_21005', port: 21005, checkPort: 31005 }),
      row({ name: 't_21008', port: 21008, uweight: 1, iweight: 1 }),
      row({ name: 't_21009', port: 21009, uweight: 0, iweight: 0 }),
    ]);
  });

  it('with it: a task that joined through a spare slot keeps its health under the name and id the next config gives it', () => {
    // mlb_spare_1 filled at runtime with 127.0.0.1:21010, found DOWN (op state 0); admin 4 is the config's `disabled`.
    const spare = row({ name: 'mlb_spare_1', port: 21010, admin: 4 }).replace(/^8 web_1 1 mlb_spare_1 127\.0\.0\.1 2 /, '8 web_1 2147482625 mlb_spare_1 127.0.0.1 0 ');
    const file = serverStateFile(answer(spare, row({ name: 'mlb_spare_2', port: 21011, admin: 5 })), next) as string;
    expect(rows(file)).toEqual([row({ name: 't_21010', port: 21010 }).replace(/^8 web_1 1 t_21010 127\.0\.0\.1 2 /, '8 web_1 4 t_21010 127.0.0.1 0 ')]);
  });

  it('a hostname in the config: the port decides (HAProxy resolves the name; the state has the IP)', () => {
    const named = configuredServers('backend db_1\n  server pg db.example:5432\n');
    const kept = row({ be: 'db_1', name: 'pg', port: 5432, addr: '10.1.2.3' });
    expect(rows(serverStateFile(answer(kept, row({ be: 'db_1', name: 'pg', port: 5433 })), named) as string)).toEqual([kept]);
  });
});

describe('serverStateFile and a real HAProxy', () => {
  it('a task found DOWN in a spare slot starts DOWN under the name the next config gives it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-state-'));
    const [port, task] = (await freePorts(2)) as [number, number];
    const config = [
      'global',
      `  stats socket ${join(dir, 'admin.sock')} mode 600 level admin`,
      `  server-state-file ${join(dir, 'haproxy.state')}`,
      'defaults',
      '  mode http',
      '  load-server-state-from-file global',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'backend web_1',
      `  server t_${task} 127.0.0.1:${task} id 4 check inter 60s`,
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend web_1',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    // What the worker before said: mlb_spare_1 (id 2147482625, the config's `disabled`) holds that task, DOWN.
    const HEADER =
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
    const answer = ['1', HEADER, `1 web_1 2147482625 mlb_spare_1 127.0.0.1 0 4 1 1 12 6 3 0 6 0 0 1 - ${task} - 0 0 - - 0`, ''].join('\n');
    writeFileSync(join(dir, 'haproxy.state'), serverStateFile(answer, configuredServers(readFileSync(join(dir, 'haproxy.cfg'), 'utf8'))) as string);
    // The task answers (a check would find it UP): only the saved state can say DOWN.
    const listener = createServer((c) => c.end());
    await new Promise<void>((r) => listener.listen(task, '127.0.0.1', r));
    const h = await startHaproxy(join(dir, 'haproxy.cfg'));
    try {
      const stat = await socketCommand(join(dir, 'admin.sock'), 'show stat');
      const line = stat.split('\n').find((l) => l.startsWith(`web_1,t_${task},`)) ?? '';
      expect(line.split(',')[17], line).toMatch(/^DOWN/);
    } finally {
      await h.stop();
      await new Promise((r) => listener.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
