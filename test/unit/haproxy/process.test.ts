import { describe, expect, it } from 'vitest';
import { alertsOf, remedyOf } from '../../../src/haproxy/process.js';

describe('alertsOf: the alerts a failed start or reload is attributed by', () => {
  it.each<[string, string[], string[]]>([
    ['a parse alert, tag and pid removed', ["[ALERT]    (4242) : config : parsing [/etc/haproxy/haproxy.cfg:42] : unknown keyword 'bogus' in 'backend' section"], ["config : parsing [/etc/haproxy/haproxy.cfg:42] : unknown keyword 'bogus' in 'backend' section"]],
    ['a bind failure', ['[ALERT]    (4242) : Starting frontend web_10000: cannot bind socket (Address already in use) [127.0.0.1:10000]'], ['Starting frontend web_10000: cannot bind socket (Address already in use) [127.0.0.1:10000]']],
    ['warnings and notices are not alerts', ['[WARNING]  (4242) : Server web_10000/a is DOWN, reason: Layer4 connection problem', '[NOTICE]   (4242) : haproxy version is 2.6.12'], []],
    // A running worker's servers failing their checks during a reload: nothing about the new config.
    ['a running worker losing its last server', ["[ALERT]    (4300) : backend 'team2_service-52_20052' has no server available!"], []],
    [
      'the two mixed: only the config alert',
      ["[ALERT]    (4300) : backend 'shop_10001' has no server available!", "[ALERT]    (4242) : config : Proxy 'api_10002': unable to find required use_backend: 'nope'."],
      ["config : Proxy 'api_10002': unable to find required use_backend: 'nope'."],
    ],
  ])('%s', (_name, lines, alerts) => {
    expect(alertsOf(lines)).toEqual(alerts);
  });
});

describe('remedyOf: what to do about a failure the config cannot cure', () => {
  it.each<[string, string[], RegExp]>([
    ['the open-files limit', ['[NOTICE]   (1) : haproxy version is 2.6.12', '[ALERT]    (13830) : [haproxy.main()] Cannot raise FD limit to 27243, limit is 20000.'], /^; HAProxy needs 27243 open files and the hard limit is 20000: raise it .* or lower --spare-slots/],
    ['a config alert: nothing to add', ["[ALERT]    (4242) : config : parsing [haproxy.cfg:3] : unknown keyword 'bogus'"], /^$/],
  ])('%s', (_name, lines, remedy) => {
    expect(remedyOf(lines)).toMatch(remedy);
  });
});
