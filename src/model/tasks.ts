import type { MarathonApp, Task } from '../marathon/types.js';
import type { ServerState } from './types.js';

/**
 * States that take traffic, as marathon-lb has it: running, and lost or unreachable (Marathon lost
 * touch with the agent, which often still serves: marathon-lb stays optimistic, and HAProxy's
 * checks and retries cover an agent that is really gone).
 */
const SERVING = new Set(['TASK_RUNNING', 'TASK_LOST', 'TASK_UNREACHABLE']);

/**
 * Whether and how a task takes part: `ready`, `drain` (being killed: existing connections
 * finish, nothing new), or undefined (no traffic at all: staging, finished, failed…).
 * With `healthCheck` (-H), a task must have a result for every Marathon check, all alive.
 */
export function taskState(app: MarathonApp, task: Task, healthCheck: boolean): ServerState | undefined {
  if (!task.host) return undefined;
  const state = task.state ?? 'TASK_RUNNING';
  if (state === 'TASK_KILLING') return 'drain';
  if (!SERVING.has(state)) return undefined;
  if (healthCheck && !isHealthy(app, task)) return undefined;
  return 'ready';
}

export function isHealthy(app: MarathonApp, task: Task): boolean {
  const checks = app.healthChecks?.length ?? 0;
  if (checks === 0) return true;
  const results = task.healthCheckResults ?? [];
  return results.length >= checks && results.every((r) => r.alive === true);
}
