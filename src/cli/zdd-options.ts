import type { Options } from 'yargs';
import { IGNORED_MARATHON_LB_OPTIONS, MARATHON_AUTH_OPTIONS } from './options.js';
import { DEFAULTS } from '../settings.js';

/** Flags of `mlb-ts zdd` (marathon-lb's zdd.py names where it had them). */
export const ZDD_OPTIONS = {
  marathon: { alias: 'm', type: 'string', array: true, default: [...DEFAULTS.marathon], describe: 'Marathon base URL(s), tried in order (a file of /v2/apps?embed=apps.tasks works with --dry-run)' },
  json: { alias: 'j', type: 'string', demandOption: true, describe: 'the app definition to deploy, with HAPROXY_DEPLOYMENT_GROUP and HAPROXY_DEPLOYMENT_ALT_PORT labels' },
  'haproxy-socket': { type: 'string', array: true, describe: "admin socket of a load balancer whose sessions are watched (`show stat`); repeatable" },
  'haproxy-master-socket': { type: 'string', array: true, describe: 'master CLI of a load balancer: sessions are watched on every worker, old ones still finishing included (servers are drained on the current one); repeatable' },
  'lb-stats-url': { type: 'string', array: true, describe: "a load balancer's stats as CSV, e.g. 'http://lb:9090/haproxy?stats;csv'; repeatable" },
  'marathon-lb': { alias: 'l', type: 'string', array: true, describe: "zdd.py's stats endpoint, e.g. http://marathon-lb:9090: --lb-stats-url URL/haproxy?stats;csv for each IPv4 address of its host (each load balancer behind the name is watched)" },
  'dry-run': { alias: 'd', type: 'boolean', default: false, describe: 'print the plan (what would be created, scaled, killed, deleted) and change nothing' },
  force: { alias: 'f', type: 'boolean', describe: 'accepted for zdd.py compatibility: mlb-ts zdd never asks before acting' },
  'max-wait': { alias: 'w', type: 'number', default: 300, describe: "seconds each wait may take, as zdd.py's: a task's sessions to end (then it is killed anyway), new tasks to turn healthy or old ones to finish (then exit 1; the deploy can be resumed or completed)" },
  'step-delay': { alias: 's', type: 'number', default: 5, describe: 'seconds between two steps of the traffic shift' },
  step: { type: 'number', describe: "instances added per step, or a fraction (below 1) of the target (default: the new app grows by half each step, as zdd.py's)" },
  'initial-instances': { alias: 'i', type: 'number', default: 1, describe: 'instances the new app starts with' },
  'new-instances': {
    alias: 'n',
    type: 'number',
    describe: "zdd.py's hybrid deploy: the new app grows to N instances, the old app keeps the rest of the target and stays (finish later with --complete-cur or --complete-prev); N at or above the target is a normal deploy; 0: none",
  },
  target: { type: 'number', describe: "target instances of the new app (default: the live app's)" },
  'drain-timeout': { type: 'number', describe: "seconds to wait for a task's sessions to end before killing it anyway (default: --max-wait)" },
  'pre-kill-hook': { type: 'string', describe: "executable run once each step's old tasks are drained, before they are killed, with three JSON arguments: the old app, the ids of the tasks to kill, the new app (zdd.py's); a non-zero exit stops the deploy" },
  'poll-interval': { type: 'number', default: 1, describe: 'seconds between two looks at Marathon' },
  resume: { alias: 'r', type: 'boolean', default: false, describe: 'continue an interrupted deploy (two apps in the group)' },
  'complete-cur': { alias: 'c', type: 'boolean', default: false, describe: 'finish an interrupted or hybrid deploy now: all instances to the newer app, the older one deleted' },
  'complete-prev': { alias: 'p', type: 'boolean', default: false, describe: 'roll an interrupted or hybrid deploy back: all instances to the older app, the newer one deleted' },
  ...MARATHON_AUTH_OPTIONS,
  // zdd.py's logging and service-account flags: accepted, each noted once on stderr.
  'dcos-auth-credentials': IGNORED_MARATHON_LB_OPTIONS['dcos-auth-credentials'],
  'syslog-socket': IGNORED_MARATHON_LB_OPTIONS['syslog-socket'],
  'log-format': IGNORED_MARATHON_LB_OPTIONS['log-format'],
  'log-level': { type: 'string', hidden: true },
} as const satisfies Record<string, Options>;

/** zdd's own reasons for the ignored flags (the main CLI's compatNotes prints them). */
export const ZDD_IGNORED_WHY: Record<string, string> = {
  'syslog-socket': 'mlb-ts zdd writes its progress to stderr',
  'log-format': 'mlb-ts zdd writes its progress to stderr, one line a step',
  'log-level': 'mlb-ts zdd writes every progress line to stderr',
};
