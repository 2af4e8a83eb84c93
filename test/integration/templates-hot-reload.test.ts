import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeMarathon } from '../../src/demo/fake-marathon.js';
import { eventually, isReloadDone, type RunningDaemon, sleep, startDaemon } from '../helpers/daemon.js';
import { request } from '../helpers/http.js';

/** Issue 6: a change in --templates DIR applies by itself (no signal), through the validated path. */
const DEFAULT_HTTP_OPTIONS = readFileSync('templates/HAPROXY_BACKEND_HTTP_OPTIONS.hbs', 'utf8');

let fake: FakeMarathon;
let d: RunningDaemon;
let tplDir: string;

beforeAll(async () => {
  tplDir = mkdtempSync(join(tmpdir(), 'mlb-hot-'));
  fake = await FakeMarathon.start({ apps: [{ id: '/web', instances: 2, portDefinitions: [{ port: 0 }], labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'hot.test' } }], stagingMs: 30 });
  await fake.settled(8000);
  d = await startDaemon(fake.url, ['--reload-interval', '0.5', '--debounce-ms', '20', '--hard-stop-after', '5s', '--templates', tplDir]);
  await eventually(async () => (await request({ port: d.ports.http, hostHeader: 'hot.test' })).status === 200, 10_000, '/web served');
}, 30_000);

afterAll(async () => {
  await d?.stop();
  await fake?.close();
  rmSync(tplDir, { recursive: true, force: true });
});

async function header(): Promise<string | undefined> {
  const res = await request({ port: d.ports.http, hostHeader: 'hot.test' });
  expect(res.status).toBe(200);
  const v = res.headers['x-hot'];
  return Array.isArray(v) ? v[0] : v;
}

describe('template hot-reload (--templates DIR watched)', () => {
  it('applies a new override without a signal', async () => {
    const mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), `${DEFAULT_HTTP_OPTIONS}  http-response set-header X-Hot one\n`);
    const reload = await d.waitForLog(isReloadDone, 10_000, mark);
    expect(reload.reason).toBe('templates_changed');
    // The watcher reports the file once it has stopped changing (100 ms); a sync started by an
    // event meanwhile may already have applied it (the templates' signature changed).
    await d.waitForLog((l) => l.msg === 'template file changed', 5000, mark);
    expect(await header()).toBe('one');
  });

  it('rejects an override HAProxy refuses: reason logged, the running config stays', async () => {
    const installed = d.installed();
    const mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), `${DEFAULT_HTTP_OPTIONS}  http-response no-such-action here\n`);
    const err = await d.waitForLog((l) => l.level === 'error' && JSON.stringify(l).includes('no-such-action'), 10_000, mark);
    expect(JSON.stringify(err)).toMatch(/HAProxy rejects the changed templates/);
    await sleep(800);
    expect(d.installed()).toBe(installed);
    expect(d.logsMatching(isReloadDone, mark)).toEqual([]);
    expect(await header()).toBe('one');
  });

  it('rejects a template that does not compile, then applies the fix', async () => {
    const installed = d.installed();
    let mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), `${DEFAULT_HTTP_OPTIONS}  {{#if}}\n`);
    await d.waitForLog((l) => l.level === 'error' && /template rejected/.test(String(l.msg)), 10_000, mark);
    await sleep(500);
    expect(d.installed()).toBe(installed);

    mark = d.mark();
    writeFileSync(join(tplDir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), `${DEFAULT_HTTP_OPTIONS}  http-response set-header X-Hot two\n`);
    await d.waitForLog(isReloadDone, 10_000, mark);
    await eventually(async () => (await header()) === 'two', 5000, 'the fixed template served');
  });
});

describe('a --templates file every backend goes through, refused by HAProxy from the start', () => {
  let fake2: FakeMarathon;
  let d2: RunningDaemon;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-bad-start-'));
    writeFileSync(join(dir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), `${DEFAULT_HTTP_OPTIONS}  http-response no-such-action here\n`);
    fake2 = await FakeMarathon.start({ apps: [{ id: '/cold', instances: 1, portDefinitions: [{ port: 10990 }], labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'cold.test' } }], stagingMs: 30 });
    await fake2.settled(8000);
    d2 = await startDaemon(fake2.url, ['--reload-interval', '0.5', '--debounce-ms', '20', '--hard-stop-after', '5s', '--templates', dir]);
  }, 30_000);

  afterAll(async () => {
    await d2?.stop();
    await fake2?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blames no app (none dropped, no config without them installed) and says why; the fixed file then applies', async () => {
    const err = await d2.waitForLog((l) => l.level === 'error' && JSON.stringify(l).includes('no app is to blame'), 10_000);
    expect(JSON.stringify(err)).toMatch(/no-such-action/);
    expect(d2.logsMatching((l) => /dropped/.test(String(l.msg)))).toEqual([]);
    expect(d2.installed()).not.toMatch(/backend cold_/);
    const mark = d2.mark();
    writeFileSync(join(dir, 'HAPROXY_BACKEND_HTTP_OPTIONS.hbs'), DEFAULT_HTTP_OPTIONS);
    await d2.waitForLog(isReloadDone, 15_000, mark);
    await eventually(async () => (await request({ port: d2.ports.http, hostHeader: 'cold.test' })).status === 200, 10_000, '/cold served');
  });
});
