import type { LbModel, Server, Service } from '../../src/model/types.js';
import { MlbError } from '../../src/errors.js';
import { expect } from 'vitest';

/** Builders for the model itself (plan/ tests start from models, not from Marathon apps). */
export function server(ip: string, port: number, over: Partial<Server> = {}): Server {
  return { name: `s_${ip.replace(/\./g, '_')}_${port}`, id: port, host: ip, ip, port, state: 'ready', taskId: `t-${ip}-${port}`, appId: '/app', ...over };
}

export function service(backend: string, servers: Server[] = [], over: Partial<Service> = {}): Service {
  return {
    appId: `/${backend}`,
    sourceAppIds: [`/${backend}`],
    sourcePortIndexes: [0],
    portIndex: 0,
    servicePort: 10000,
    servicePortSource: 'marathon',
    backend,
    mode: 'http',
    vhosts: [],
    backendWeight: 0,
    bindAddr: '*',
    bindOptions: '',
    balance: 'roundrobin',
    sticky: false,
    redirectToHttps: false,
    useHsts: false,
    templates: {},
    servers,
    ...over,
  };
}

export const model = (...services: Service[]): LbModel => ({ services });

/** The MlbError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<MlbError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MlbError);
    return e as MlbError;
  }
  throw new Error('expected a rejection');
}
