import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MarathonApp } from '../../src/marathon/types.js';
import { runCli, type CliRun } from './cli.js';
import { freePorts } from './ports.js';

/** The fixed frontends of a rendered config, moved to free unprivileged ports. */
export interface LbPorts {
  http: number;
  https: number;
  appId: number;
  stats: number;
}

/** Self-signed test certificate for the TLS frontends. */
export const TEST_CERT = resolve('test/fixtures/certs/default.pem');

export async function freeLbPorts(): Promise<LbPorts> {
  return (await freeLbAndServicePorts(0)).ports;
}

/**
 * The frontends' ports and `n` service ports, all distinct: picked in one go, as two picks can
 * hand out the same port (the first pick's are free again by the second), and mlb-ts then
 * refuses the service port as one of its own frontends'.
 */
export async function freeLbAndServicePorts(n: number): Promise<{ ports: LbPorts; service: number[] }> {
  const [http, https, appId, stats, ...service] = (await freePorts(4 + n)) as [number, number, number, number, ...number[]];
  return { ports: { http, https, appId, stats }, service };
}

export interface RenderedLb {
  dir: string;
  config: string;
  run: CliRun;
}

/**
 * Writes `apps` as a Marathon apps document into `dir` and renders it there with the real
 * CLI (`mlb-ts render`), on the given ports, with the admin socket in `dir` and mlb-ts's own
 * endpoints off. `extra` are more flags (`--group` is not added: pass it).
 */
export async function renderApps(dir: string, apps: MarathonApp[], ports: LbPorts, extra: string[]): Promise<RenderedLb> {
  const doc = join(dir, 'apps.json');
  writeFileSync(doc, JSON.stringify({ apps }, null, 2));
  const run = await runCli([
    'render', '-m', doc, '--out', dir,
    '--http-port', String(ports.http), '--https-port', String(ports.https),
    '--appid-port', String(ports.appId), '--stats-port', String(ports.stats),
    '--haproxy-socket', join(dir, 'admin.sock'), '--ssl-certs', TEST_CERT, '--listen', '',
    ...extra,
  ]);
  if (run.code !== 0) throw new Error(`mlb-ts render exited ${run.code}: ${run.stderr}`);
  return { dir, config: readFileSync(join(dir, 'haproxy.cfg'), 'utf8'), run };
}

/** Every port a rendered config binds: the fixed frontends and the given service ports. */
export function boundPorts(ports: LbPorts, servicePorts: Iterable<number>): number[] {
  return [ports.http, ports.https, ports.appId, ports.stats, ...servicePorts];
}
