import { it } from 'vitest';
import { FakeMarathon } from '../../src/demo/fake-marathon.js';
import { startDaemon, sleep } from '../helpers/daemon.js';
import { freePorts } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { startLoad, describeLoad } from '../helpers/load.js';

it('scratch', async () => {
  const [sp, sp2] = await freePorts(2);
  const fake = await FakeMarathon.start({ killGraceSeconds: 2, apps: [
    { id: '/web', instances: 2, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test', HAPROXY_0_BIND_ADDR: '127.0.0.1' }, portDefinitions: [{ port: sp!, protocol: 'tcp' }] },
    { id: '/side', instances: 1, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'side.test', HAPROXY_0_BIND_ADDR: '127.0.0.1' }, portDefinitions: [{ port: sp2!, protocol: 'tcp' }] },
  ] });
  await fake.settled();
  const d = await startDaemon(fake.url, ['--reload-interval', '0.5', '--debounce-ms', '20', '--hard-stop-after', '5s']);
  try {
    console.log(await d.pids());
    const r = await request({ port: d.ports.http, hostHeader: 'web.test' });
    console.log(r.status, r.headers['x-task-id']);
    const load = startLoad({ port: d.ports.http, hostHeader: 'web.test', concurrency: 8, maxRequests: 20000, maxSeconds: 12, keepAlive: process.env.KA === '1' });
    for (let i = 0; i < 10; i++) {
      fake.updateApp('/side', { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `side${i}.test`, HAPROXY_0_BIND_ADDR: '127.0.0.1' } });
      await sleep(1000);
    }
    const res = await load.stop();
    console.log(describeLoad(res));
    console.log(await d.pids());
    console.log(d.logs.filter(l => l.level !== 'debug').map(l => JSON.stringify(l)).join('\n'));
  } finally {
    console.log(await d.stop());
    await fake.close();
  }
}, 60000);
