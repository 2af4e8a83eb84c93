import { causeOf, MlbError } from '../errors.js';
import { isHttpUrl, type MarathonSource } from '../marathon/client.js';
import { displayUrl, httpCall } from '../marathon/http.js';

/** The changes zdd makes through Marathon's REST API. */

interface Answer {
  status: number;
  /** As messages show it (displayUrl). */
  url: string;
  message: string;
}

/** `locked`: a deployment holds the app (HTTP 409); try again once it is over. `gone`: no such task (any more). */
export type WriteResult = 'done' | 'locked' | 'gone';

function messageOf(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const json = JSON.parse(text) as { message?: unknown; details?: unknown };
    const details = json.details === undefined ? '' : ` ${JSON.stringify(json.details)}`;
    return `${typeof json.message === 'string' ? json.message : text}${details}`.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

/** One request to the first Marathon that answers (a refused connection tries the next URL). */
async function call(src: MarathonSource, method: string, path: string, body?: unknown): Promise<Answer> {
  const failures: string[] = [];
  for (const base of src.urls.filter(isHttpUrl)) {
    const url = `${base.replace(/\/+$/, '')}${path}`;
    try {
      const res = await httpCall(url, { method, body, auth: src.auth, ca: src.ca, timeoutMs: src.timeoutMs });
      return { status: res.status, url: displayUrl(url), message: messageOf(res.body) };
    } catch (e) {
      failures.push(`${displayUrl(url)}: ${causeOf(e)}`);
    }
  }
  throw new MlbError('E_MARATHON_UNREACHABLE', `${method} ${path}: no Marathon answered (${failures.join('; ') || 'no http(s) URL given'})`);
}

function resultOf(a: Answer, method: string, what: string): WriteResult {
  if (a.status >= 200 && a.status < 300) return 'done';
  if (a.status === 409) return 'locked';
  throw new MlbError('E_MARATHON_HTTP', `${what}: ${method} ${a.url} answered HTTP ${a.status}: ${a.message}`);
}

function appPath(appId: string): string {
  return `/v2/apps/${appId.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
}

export async function createApp(src: MarathonSource, def: object & { id: string }): Promise<void> {
  const a = await call(src, 'POST', '/v2/apps', def);
  if (a.status === 409) throw new MlbError('E_ZDD', `cannot create ${def.id}: Marathon says ${a.message}`);
  resultOf(a, 'POST', `create ${def.id}`);
}

export async function scaleApp(src: MarathonSource, appId: string, instances: number): Promise<WriteResult> {
  return resultOf(await call(src, 'PUT', appPath(appId), { instances }), 'PUT', `scale ${appId} to ${instances}`);
}

/**
 * Kills one task and lowers the app's instances by one. `force`: each such kill starts a
 * scale deployment that lasts as long as the task's kill grace period; without it the next
 * kill would wait for that (HTTP 409), serializing the drain for no benefit.
 */
export async function killTask(src: MarathonSource, appId: string, taskId: string): Promise<WriteResult> {
  const path = `${appPath(appId)}/tasks/${encodeURIComponent(taskId)}?scale=true&force=true`;
  const a = await call(src, 'DELETE', path);
  return a.status === 404 ? 'gone' : resultOf(a, 'DELETE', `kill ${taskId}`);
}

export async function deleteApp(src: MarathonSource, appId: string): Promise<WriteResult> {
  return resultOf(await call(src, 'DELETE', appPath(appId)), 'DELETE', `delete ${appId}`);
}
