import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../../helpers/models.js';
import { runCommands, saveServerState } from '../../../src/haproxy/runtime.js';
import { configuredServers } from '../../../src/haproxy/server-state.js';
import { socketCommand } from '../../../src/haproxy/socket.js';
import { type RunningHaproxy, retryWhilePortTaken, startHaproxy } from '../../helpers/haproxy.js';
import { freePort } from '../../helpers/ports.js';

/** Servers s1..s60 in backend `be`; `off` is disabled in the config. */
const SERVERS = Array.from({ length: 60 }, (_, i) => `s${i + 1}`);

interface ServerRow {
  name: string;
  admin: number;
  weight: number;
}

function stateRows(text: string): ServerRow[] {
  const lines = text.split('\n');
  const cols = (lines.find((l) => l.startsWith('# be_id')) ?? '').replace(/^#\s*/, '').split(/\s+/);
  return lines
    .filter((l) => /^\d+ /.test(l) && l.split(/\s+/).length > 3)
    .map((l) => {
      const f = l.split(/\s+/);
      return { name: f[cols.indexOf('srv_name')] as string, admin: Number(f[cols.indexOf('srv_admin_state')]), weight: Number(f[cols.indexOf('srv_uweight')]) };
    });
}

describe('the runtime API against a real HAProxy admin socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-ts-runtime-'));
  const cfgPath = join(dir, 'haproxy.cfg');
  const admin = join(dir, 'admin.sock');
  const master = join(dir, 'master.sock');
  let hp: RunningHaproxy | undefined;

  const servers = async () => new Map(stateRows(await socketCommand(admin, 'show servers state be')).map((r) => [r.name, r]));

  beforeAll(async () => {
    hp = await retryWhilePortTaken(async () => {
      const port = await freePort();
      writeFileSync(
        cfgPath,
        [
          'global',
          `  stats socket ${admin} mode 600 level admin`,
          'defaults',
          '  mode http',
          '  timeout connect 2s',
          '  timeout client 5s',
          '  timeout server 5s',
          'frontend fe',
          `  bind 127.0.0.1:${port}`,
          '  default_backend be',
          'backend be',
          ...SERVERS.map((s, i) => `  server ${s} 127.0.0.1:${20000 + i}`),
          '  server off 127.0.0.1:1 disabled',
          '',
        ].join('\n'),
      );
      return startHaproxy(cfgPath, { masterSocket: master, ports: [port] });
    });
  });

  afterAll(async () => {
    await hp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('runCommands', () => {
    it('a valid `set server … state drain` succeeds and takes effect', async () => {
      expect((await servers()).get('s1')?.admin).toBe(0);
      await runCommands(admin, ['set server be/s1 state drain']);
      expect((await servers()).get('s1')?.admin).not.toBe(0);
      await runCommands(admin, ['set server be/s1 state ready']);
      expect((await servers()).get('s1')?.admin).toBe(0);
    });

    it('no commands: nothing sent, nothing thrown', async () => {
      await expect(runCommands(join(dir, 'no-such.sock'), [])).resolves.toBeUndefined();
    });

    it.each([
      ['an unknown server', 'set server be/nosuch state drain', /No such server/],
      ['an unknown backend', 'set server nobackend/s1 state drain', /No such (backend|server)/i],
      ['an unknown command', 'frobnicate everything', /Unknown command/i],
      ['an address that is not one', 'set server be/s2 addr notanip port 5', /Invalid addr 'notanip'/],
      ['a map HAProxy did not load', 'add map /nonexistent.map a.test be', /Unknown map identifier/],
    ])('%s → E_RUNTIME naming the refusal', async (_name, command, refusal) => {
      const e = await rejection(runCommands(admin, [command]));
      expect(e.code).toBe('E_RUNTIME');
      expect(e.message).toMatch(/^HAProxy refused a runtime command \(/);
      expect(e.message).toMatch(refusal);
      expect(e.message).toContain(command);
    });

    it('more than 40 commands: all applied, in batches', async () => {
      const commands = SERVERS.slice(0, 45).map((s) => `set server be/${s} weight 7`);
      await runCommands(admin, commands);
      const after = await servers();
      for (const s of SERVERS.slice(0, 45)) expect(after.get(s)?.weight, s).toBe(7);
      expect(after.get('s46')?.weight).toBe(1);
      await runCommands(admin, SERVERS.slice(0, 45).map((s) => `set server be/${s} weight 1`));
      expect([...(await servers()).values()].filter((r) => r.name !== 'off').every((r) => r.weight === 1)).toBe(true);
    });

    it('a refusal in the second batch: the first batch was applied, the error quotes only the failing batch, later batches are not sent', async () => {
      const commands = [
        ...SERVERS.slice(0, 40).map((s) => `set server be/${s} weight 3`),
        'set server be/s41 weight 3',
        'set server be/nosuch weight 3',
        ...SERVERS.slice(41, 50).map((s) => `set server be/${s} weight 3`),
      ];
      expect(commands).toHaveLength(51);
      const e = await rejection(runCommands(admin, commands));
      expect(e.code).toBe('E_RUNTIME');
      expect(e.message).toMatch(/No such server/);
      expect(e.message).toContain('in: set server be/s41 weight 3; set server be/nosuch weight 3');
      expect(e.message).not.toContain('be/s1 weight');
      const after = await servers();
      for (const s of SERVERS.slice(0, 40)) expect(after.get(s)?.weight, s).toBe(3);
      await runCommands(admin, SERVERS.map((s) => `set server be/${s} weight 1`));
    });

    it('batch size is honoured: a refusal in batch 3 of 2 leaves batches 1–2 applied and 4 unsent', async () => {
      const commands = ['s1', 's2', 's3', 's4', 'nosuch', 's6', 's7', 's8'].map((s) => `set server be/${s} weight 9`);
      const e = await rejection(runCommands(admin, commands, 2));
      expect(e.message).toMatch(/in: set server be\/nosuch weight 9; set server be\/s6 weight 9$/);
      const after = await servers();
      expect(['s1', 's2', 's3', 's4', 's6', 's7', 's8'].map((s) => after.get(s)?.weight)).toEqual([9, 9, 9, 9, 9, 1, 1]);
      await runCommands(admin, SERVERS.slice(0, 10).map((s) => `set server be/${s} weight 1`));
    });

    it.each<[string, () => string]>([
      ['no socket file', () => join(dir, 'no-such.sock')],
      ['a file that is no socket', () => {
        writeFileSync(join(dir, 'plain-file.sock'), '');
        return join(dir, 'plain-file.sock');
      }],
    ])('%s → E_RUNTIME_UNREACHABLE (nothing was sent)', async (_name, path) => {
      const e = await rejection(runCommands(path(), ['show info']));
      expect(e.code).toBe('E_RUNTIME_UNREACHABLE');
      expect(e.message).toMatch(/can't be reached \((ENOENT|ECONNREFUSED|ENOTSOCK)\); no command sent/);
    });

    describe('through the master CLI (@1: the current worker)', () => {
      it('applies every command of every batch', async () => {
        const commands = SERVERS.slice(0, 45).map((s) => `set server be/${s} weight 5`);
        await runCommands({ masterSocket: master }, [...commands, 'set server be/s46 state drain']);
        const after = await servers();
        for (const s of SERVERS.slice(0, 45)) expect(after.get(s)?.weight, s).toBe(5);
        expect(after.get('s46')?.admin).toBeGreaterThan(0);
        await runCommands({ masterSocket: master }, [...SERVERS.slice(0, 45).map((s) => `set server be/${s} weight 1`), 'set server be/s46 state ready']);
        expect((await servers()).get('s46')?.admin).toBe(0);
      });

      it('a refusal is E_RUNTIME naming it', async () => {
        const e = await rejection(runCommands({ masterSocket: master }, ['set server be/nosuch state drain']));
        expect(e.code).toBe('E_RUNTIME');
        expect(e.message).toMatch(/No such server/);
      });

      it('saves the same server state as the admin socket does', async () => {
        const viaAdmin = join(dir, 'admin.state');
        const viaMaster = join(dir, 'master.state');
        await saveServerState(admin, viaAdmin);
        await saveServerState({ masterSocket: master }, viaMaster);
        const rows = (f: string) => stateRows(readFileSync(f, 'utf8')).map((r) => [r.name, r.admin, r.weight]);
        expect(rows(viaMaster)).toEqual(rows(viaAdmin));
        expect(rows(viaMaster)).toHaveLength(SERVERS.length);
      });
    });
  });

  describe('saveServerState', () => {
    it('writes the version line and header, then the servers not in maint or drain', async () => {
      await runCommands(admin, ['set server be/s2 state maint', 'set server be/s3 state drain']);
      try {
        const file = join(dir, 'haproxy.state');
        await saveServerState(admin, file);
        const text = readFileSync(file, 'utf8');
        const lines = text.split('\n');
        expect(lines[0]).toBe('1');
        expect(lines[1]).toMatch(/^# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state /);
        expect(text.endsWith('\n')).toBe(true);
        const names = stateRows(text).map((r) => r.name);
        expect(names).not.toContain('s2');
        expect(names).not.toContain('s3');
        expect(names).not.toContain('off');
        expect(names).toEqual(SERVERS.filter((s) => s !== 's2' && s !== 's3'));
        expect(stateRows(text).every((r) => r.admin === 0)).toBe(true);
        expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      } finally {
        await runCommands(admin, ['set server be/s2 state ready', 'set server be/s3 state ready']);
      }
    });

    it('with the config the next worker loads: a server pointed at another port and one that config lacks are left out; weights are its own', async () => {
      await runCommands(admin, ['set server be/s4 addr 127.0.0.1 port 29999', 'set server be/s5 weight 0']);
      try {
        const file = join(dir, 'next.state');
        const next = configuredServers(readFileSync(cfgPath, 'utf8').replace(/\n {2}server s6 .*/, ''));
        expect(next.has('be/s6')).toBe(false);
        await saveServerState(admin, file, next);
        const rows = stateRows(readFileSync(file, 'utf8'));
        expect(rows.map((r) => r.name)).toEqual(SERVERS.filter((s) => s !== 's4' && s !== 's6'));
        expect(rows.find((r) => r.name === 's5')?.weight).toBe(1);
        expect(rows.every((r) => r.admin === 0 && r.weight === 1)).toBe(true);
      } finally {
        await runCommands(admin, ['set server be/s4 addr 127.0.0.1 port 20003', 'set server be/s5 weight 1']);
      }
    });

    it('replaces an earlier state file', async () => {
      const file = join(dir, 'replaced.state');
      writeFileSync(file, 'stale\n');
      await saveServerState(admin, file);
      expect(readFileSync(file, 'utf8').startsWith('1\n# be_id')).toBe(true);
    });

    it("a socket that does not answer `show servers state` (the master CLI) → E_RUNTIME, no file", async () => {
      const file = join(dir, 'never.state');
      const e = await rejection(saveServerState(master, file));
      expect(e.code).toBe('E_RUNTIME');
      expect(e.message).toMatch(/unexpected 'show servers state' answer/);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(`${file}.tmp`)).toBe(false);
    });
  });
});
