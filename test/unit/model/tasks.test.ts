import { describe, expect, it } from 'vitest';
import type { ServerState } from '../../../src/model/types.js';
import { isHealthy, taskState } from '../../../src/model/tasks.js';
import { app, inState, task, withHealth, withHealthChecks, withPortDefinitions, withTasks } from '../../helpers/builders.js';

const noChecks = app('/a', withPortDefinitions(10000));
const twoChecks = app('/a', withPortDefinitions(10000), withHealthChecks({ protocol: 'HTTP', path: '/' }, { protocol: 'TCP' }));

describe('taskState', () => {
  it.each<[string, ServerState | undefined]>([
    ['TASK_RUNNING', 'ready'],
    ['TASK_KILLING', 'drain'],
    ['TASK_STAGING', undefined],
    ['TASK_STARTING', undefined],
    ['TASK_FINISHED', undefined],
    ['TASK_FAILED', undefined],
    ['TASK_KILLED', undefined],
    // kept, as marathon-lb keeps them (LABELS.md): the agent often still serves
    ['TASK_LOST', 'ready'],
    ['TASK_UNREACHABLE', 'ready'],
    ['TASK_GONE', undefined],
    ['TASK_ERROR', undefined],
    ['task_running', undefined],
  ])('%s → %s', (state, expected) => {
    expect(taskState(noChecks, task('10.0.0.1', [31000], inState(state)), false)).toBe(expected);
  });

  it('a task without a state is running (older Marathons omit it)', () => {
    const t = task('10.0.0.1', [31000]);
    delete t.state;
    expect(taskState(noChecks, t, false)).toBe('ready');
  });

  it.each([['no host', undefined], ['empty host', '']])('a task with %s takes no traffic', (_name, host) => {
    const t = task('x', [31000]);
    t.host = host;
    expect(taskState(noChecks, t, false)).toBeUndefined();
  });

  it.each<[string, ReturnType<typeof task>, boolean, ServerState | undefined]>([
    ['without -H health does not matter', task('h', [1], withHealth(false, false)), false, 'ready'],
    ['-H: every check alive', task('h', [1], withHealth(true, true)), true, 'ready'],
    ['-H: one check failing', task('h', [1], withHealth(true, false)), true, undefined],
    ['-H: no results yet', task('h', [1]), true, undefined],
    ['-H: fewer results than checks', task('h', [1], withHealth(true)), true, undefined],
    ['-H: a killing task drains whatever its health', task('h', [1], inState('TASK_KILLING'), withHealth(false, false)), true, 'drain'],
    ['-H: a staging task stays out even when healthy', task('h', [1], inState('TASK_STAGING'), withHealth(true, true)), true, undefined],
  ])('%s', (_name, t, healthCheck, expected) => {
    expect(taskState(twoChecks, t, healthCheck)).toBe(expected);
  });

  it('-H: an app without health checks has every running task ready', () => {
    expect(taskState(noChecks, task('h', [1]), true)).toBe('ready');
  });
});

describe('isHealthy', () => {
  it.each<[string, ReturnType<typeof task>, boolean]>([
    ['all alive', task('h', [1], withHealth(true, true)), true],
    ['more results than checks, all alive', task('h', [1], withHealth(true, true, true)), true],
    ['one dead', task('h', [1], withHealth(false, true)), false],
    ['no results', task('h', [1]), false],
    ['alive missing', task('h', [1], (t) => (t.healthCheckResults = [{}, {}])), false],
  ])('%s → %s', (_name, t, healthy) => {
    expect(isHealthy(twoChecks, t)).toBe(healthy);
  });

  it('an app with no checks (or a null-ish list) is healthy', () => {
    expect(isHealthy(noChecks, task('h', [1]))).toBe(true);
    const bare = app('/b', withTasks(task('h', [1])));
    delete bare.healthChecks;
    expect(isHealthy(bare, task('h', [1]))).toBe(true);
  });
});
