import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { compatNotes, IGNORED_MARATHON_LB_OPTIONS, lastOf, numberFlag, RENDER_OPTIONS, RUN_OPTIONS, settingsFrom, str } from '../../../src/cli/options.js';
import { MlbError } from '../../../src/errors.js';
import { DEFAULTS, type Settings } from '../../../src/settings.js';

/** argv as the mlb-ts parser gives it: every flag, its alias and its default. */
function argvOf(args: string[]): Record<string, unknown> {
  return yargs(args).options(RENDER_OPTIONS).options(IGNORED_MARATHON_LB_OPTIONS).options(RUN_OPTIONS).strict().exitProcess(false).parseSync() as Record<string, unknown>;
}

const settings = (args: string[], requireGroup = true, templatesDefault?: string) => settingsFrom(argvOf(args), { requireGroup, ...(templatesDefault ? { templatesDefault } : {}) });

function usageError(fn: () => unknown): MlbError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlbError);
    expect((e as MlbError).code).toBe('E_USAGE');
    return e as MlbError;
  }
  throw new Error('expected E_USAGE');
}

describe('settingsFrom', () => {
  it('defaults: only --group given', () => {
    const want: Settings = {
      marathon: [...DEFAULTS.marathon],
      groups: ['external'],
      healthCheck: false,
      strictMode: false,
      haproxyMap: false,
      haproxyConfig: DEFAULTS.haproxyConfig,
      sslCerts: [...DEFAULTS.sslCerts],
      labelTemplates: true,
      dontBindHttpHttps: false,
      groupHttpsByVhost: false,
      minServPortIpPerTask: DEFAULTS.minServPortIpPerTask,
      maxServPortIpPerTask: DEFAULTS.maxServPortIpPerTask,
      sse: false,
      reloadInterval: DEFAULTS.reloadInterval,
      maxReloadRetries: DEFAULTS.maxReloadRetries,
      maxBackoff: DEFAULTS.maxBackoff,
      archiveVersions: DEFAULTS.archiveVersions,
      skipValidation: false,
      logLevel: DEFAULTS.logLevel,
      haproxyBin: DEFAULTS.haproxyBin,
      haproxySocket: DEFAULTS.haproxySocket,
      masterSocket: DEFAULTS.masterSocket,
      listen: DEFAULTS.listen,
      ipvs: false,
      ports: { ...DEFAULTS.ports },
      hardStopAfter: DEFAULTS.hardStopAfter,
      resyncInterval: DEFAULTS.resyncInterval,
      debounceMs: DEFAULTS.debounceMs,
      stallTimeout: DEFAULTS.stallTimeout,
      spareSlots: DEFAULTS.spareSlots,
    };
    expect(settings(['--group', 'external'])).toEqual(want);
  });

  it('settings from flags, aliases included', () => {
    const s = settings([
      '-m', 'http://m1:8080', '-m', 'http://m2:8080',
      '--group', 'external',
      '-H', '--strict-mode', '--haproxy-map', '--sse',
      '--haproxy-config', '/tmp/lb/haproxy.cfg',
      '--templates', '/tmp/tpl',
      '--disable-label-templates', '--dont-bind-http-https', '--group-https-by-vhost',
      '--command', 'systemctl reload haproxy',
      '--reload-interval', '0', '--max-reload-retries', '0', '--max-backoff', '0.5', '--archive-versions', '0',
      '--marathon-auth-credential-file', '/run/cred', '--dcos-token-file', '/run/token', '--marathon-ca-cert', '/run/ca.pem',
      '--skip-validation', '--log-level', 'debug', '--haproxy-bin', '/opt/haproxy', '--haproxy-socket', '/run/admin.sock',
      '--master-socket', '/run/master.sock', '--listen', '', '--ipvs', '--ipvs-apply-command', 'ipvsadm -R',
      '--hard-stop-after', '30s', '--resync-interval', '1', '--debounce-ms', '0', '--stall-timeout', '1', '--spare-slots', '0',
      '--min-serv-port-ip-per-task', '20000', '--max-serv-port-ip-per-task', '20000',
    ]);
    expect(s).toMatchObject({
      marathon: ['http://m1:8080', 'http://m2:8080'],
      healthCheck: true,
      strictMode: true,
      haproxyMap: true,
      sse: true,
      haproxyConfig: '/tmp/lb/haproxy.cfg',
      templatesDir: '/tmp/tpl',
      labelTemplates: false,
      dontBindHttpHttps: true,
      groupHttpsByVhost: true,
      command: 'systemctl reload haproxy',
      reloadInterval: 0,
      maxReloadRetries: 0,
      maxBackoff: 0.5,
      archiveVersions: 0,
      authCredentialFile: '/run/cred',
      dcosTokenFile: '/run/token',
      caCert: '/run/ca.pem',
      skipValidation: true,
      logLevel: 'debug',
      haproxyBin: '/opt/haproxy',
      haproxySocket: '/run/admin.sock',
      masterSocket: '/run/master.sock',
      listen: '',
      ipvs: true,
      ipvsApplyCommand: 'ipvsadm -R',
      hardStopAfter: '30s',
      resyncInterval: 1,
      debounceMs: 0,
      stallTimeout: 1,
      spareSlots: 0,
      minServPortIpPerTask: 20000,
      maxServPortIpPerTask: 20000,
    });
  });

  it('optional settings are absent, not undefined, when not given', () => {
    const s = settings(['--group', 'x']);
    for (const k of ['templatesDir', 'command', 'authCredentialFile', 'authCredentials', 'dcosTokenFile', 'caCert', 'ipvsApplyCommand']) expect(Object.keys(s)).not.toContain(k);
  });

  it.each([
    ['one group', ['--group', 'external'], ['external']],
    ['comma-separated', ['--group', 'external,internal'], ['external', 'internal']],
    ['repeated and comma-separated', ['--group', 'a,b', '--group', 'c'], ['a', 'b', 'c']],
    ['blanks and empty items dropped', ['--group', ' a , ,b,'], ['a', 'b']],
    ["'*' for every app", ['--group', '*'], ['*']],
  ])('--group: %s', (_name, args, groups) => {
    expect(settings(args).groups).toEqual(groups);
  });

  it.each([
    ['missing', []],
    ['empty', ['--group', '']],
    ['only commas', ['--group', ',,']],
  ])('--group %s → E_USAGE when required', (_name, args) => {
    expect(usageError(() => settings(args)).message).toMatch(/--group is required/);
    // commands that do not filter by group accept none
    expect(settings(args, false).groups).toEqual([]);
  });

  it.each([
    ['a list', 'a.pem,b.pem', ['a.pem', 'b.pem']],
    ['blanks trimmed, empties dropped', ' a.pem , ,b.pem,', ['a.pem', 'b.pem']],
    ['one', '/etc/ssl/mine.pem', ['/etc/ssl/mine.pem']],
    ['empty: the default', '', [...DEFAULTS.sslCerts]],
  ])('--ssl-certs: %s', (_name, value, certs) => {
    expect(settings(['--group', 'x', '--ssl-certs', value]).sslCerts).toEqual(certs);
  });

  it('--templates: the flag wins over the default directory, which applies without it', () => {
    expect(settings(['--group', 'x'], true, '/cwd/templates').templatesDir).toBe('/cwd/templates');
    expect(settings(['--group', 'x', '--templates', '/mine'], true, '/cwd/templates').templatesDir).toBe('/mine');
  });

  it.each([
    ['--http-port', 'http', 8080],
    ['--https-port', 'https', 8443],
    ['--appid-port', 'appId', 19091],
    ['--stats-port', 'stats', 1],
    ['--stats-port', 'stats', 65535],
  ] as const)('%s %d sets ports.%s', (flag, key, port) => {
    const s = settings(['--group', 'x', flag, String(port)]);
    expect(s.ports[key]).toBe(port);
    expect(Object.entries(s.ports).filter(([k]) => k !== key)).toEqual(Object.entries(DEFAULTS.ports).filter(([k]) => k !== key));
  });

  it.each([
    ['--http-port', '0', /--http-port must be a number ≥ 1/],
    ['--https-port', '65536', /--https-port must be a port number/],
    ['--appid-port', '80.5', /--appid-port must be a port number/],
    ['--stats-port', 'abc', /--stats-port must be a number ≥ 1/],
    ['--reload-interval', '-1', /--reload-interval must be a number ≥ 0/],
    ['--max-reload-retries', '-2', /--max-reload-retries must be a number ≥ 0/],
    ['--max-backoff', '0.05', /--max-backoff must be a number ≥ 0.1/],
    ['--archive-versions', 'many', /--archive-versions must be a number ≥ 0/],
    ['--resync-interval', '0', /--resync-interval must be a number ≥ 1/],
    ['--debounce-ms', '-5', /--debounce-ms must be a number ≥ 0/],
    ['--stall-timeout', '0.5', /--stall-timeout must be a number ≥ 1/],
    ['--spare-slots', '-1', /--spare-slots must be a number ≥ 0/],
    ['--spare-slots', 'NaN', /--spare-slots must be a number ≥ 0/],
    ['--min-serv-port-ip-per-task', '0', /are both ≥ 1, or both 0/],
    ['--max-serv-port-ip-per-task', '0', /are both ≥ 1, or both 0/],
    ['--min-serv-port-ip-per-task', '-1', /--min-serv-port-ip-per-task must be a number ≥ 0/],
    ['--max-reload-retries', '-0.5', /--max-reload-retries must be a number ≥ 0, or -1/],
    ['--log-level', 'verbose', /--log-level must be debug, info, warn or error/],
    ['--log-level', 'fatal', /--log-level must be debug, info, warn or error/],
    ['--auth-credentials', 'nocolon', /^--auth-credentials must be user:password$/],
    ['--max-serv-port-ip-per-task', '10049', /--max-serv-port-ip-per-task is below --min-serv-port-ip-per-task/],
    ['--max-serv-port-ip-per-task', '70005', /^--max-serv-port-ip-per-task must be a port number \(0 to 65535\)$/],
    ['--hard-stop-after', 'banana', /^--hard-stop-after must be a time in HAProxy's format/],
    ['--hard-stop-after', '5 m', /^--hard-stop-after must be a time in HAProxy's format/],
    ['--listen', 'bogus', /^--listen must be HOST:PORT/],
    ['--listen', '127.0.0.1:70000', /^--listen must be HOST:PORT/],
    ['--marathon', '', /^--marathon needs a URL or a file path$/],
    // URL parsing reads `x` as the host of these two; as written, they have none.
    ['--marathon', 'http:///x', /^--marathon http:\/\/\/x is not a URL with a host/],
    ['--marathon', 'http://\\127.0.0.1:1', /is not a URL with a host/],
    ['--marathon', 'http://@/v2', /is not a URL with a host/],
  ])('%s %s → E_USAGE', (flag, value, message) => {
    expect(usageError(() => settings(['--group', 'x', flag, value])).message).toMatch(message);
  });

  it('-m with a file whose name starts with http: (no //) is a file path, as the client reads it', () => {
    expect(settings(['--group', 'x', '-m', 'http:apps.json'])).toMatchObject({ marathon: ['http:apps.json'] });
  });

  it('the smallest accepted values pass', () => {
    expect(settings(['--group', 'x', '--reload-interval', '0', '--max-backoff', '0.1', '--resync-interval', '1', '--stall-timeout', '1'])).toMatchObject({
      reloadInterval: 0,
      maxBackoff: 0.1,
      resyncInterval: 1,
      stallTimeout: 1,
    });
  });
});

describe('numberFlag', () => {
  it.each([
    [5, 0, 5],
    [0, 0, 0],
    [0.1, 0.1, 0.1],
  ])('%d (min %d) → %d', (v, min, want) => expect(numberFlag({ f: v }, 'f', min)).toBe(want));

  it.each([
    ['below the minimum', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '5'],
    ['missing', undefined],
  ])('%s → E_USAGE', (_name, v) => {
    expect(usageError(() => numberFlag({ f: v }, 'f', 0)).message).toBe('--f must be a number ≥ 0');
  });
});

describe('marathon-lb command lines', () => {
  // [flag, first value, last value, the setting, what the last value gives]
  const twice: [string, string, string, keyof Settings, unknown][] = [
    ['--haproxy-config', '/a/haproxy.cfg', '/b/haproxy.cfg', 'haproxyConfig', '/b/haproxy.cfg'],
    ['--ssl-certs', '/a.pem,/c.pem', '/b.pem', 'sslCerts', ['/b.pem']],
    ['--templates', '/a', '/b', 'templatesDir', '/b'],
    ['--command', 'echo A', 'echo B', 'command', 'echo B'],
    ['-c', 'echo A', 'echo B', 'command', 'echo B'],
    ['--marathon-auth-credential-file', '/a', '/b', 'authCredentialFile', '/b'],
    ['--auth-credentials', 'a:1', 'b:2', 'authCredentials', 'b:2'],
    ['--dcos-token-file', '/a', '/b', 'dcosTokenFile', '/b'],
    ['--marathon-ca-cert', '/a', '/b', 'caCert', '/b'],
    ['--log-level', 'error', 'DEBUG', 'logLevel', 'debug'],
    ['--haproxy-bin', '/a', '/b', 'haproxyBin', '/b'],
    ['--haproxy-socket', '/a', '/b', 'haproxySocket', '/b'],
    ['--master-socket', '/a', '/b', 'masterSocket', '/b'],
    ['--listen', '127.0.0.1:1', '', 'listen', ''],
    ['--listen', '', '127.0.0.1:2', 'listen', '127.0.0.1:2'],
    ['--ipvs-apply-command', 'a', 'ipvsadm -R', 'ipvsApplyCommand', 'ipvsadm -R'],
    ['--hard-stop-after', '1m', '30s', 'hardStopAfter', '30s'],
    ['--min-serv-port-ip-per-task', '1', '10060', 'minServPortIpPerTask', 10060],
    ['--max-serv-port-ip-per-task', '10000', '10090', 'maxServPortIpPerTask', 10090],
    ['--reload-interval', '1', '5', 'reloadInterval', 5],
    ['--max-reload-retries', '-1', '3', 'maxReloadRetries', 3],
    ['--max-reload-retries', '3', '-1', 'maxReloadRetries', 10],
    ['--max-backoff', '1', '7', 'maxBackoff', 7],
    ['--archive-versions', '1', '0', 'archiveVersions', 0],
    ['--resync-interval', '10', '20', 'resyncInterval', 20],
    ['--debounce-ms', '10', '0', 'debounceMs', 0],
    ['--stall-timeout', '10', '20', 'stallTimeout', 20],
    ['--spare-slots', '1', '8', 'spareSlots', 8],
  ];
  it.each(twice)('%s given twice: the last value counts, as with argparse (%s, then %s)', (flag, first, last, key, want) => {
    expect(settings(['--group', 'x', flag, first, flag, last])[key]).toEqual(want);
  });

  it.each([
    ['--http-port', 'http'],
    ['--https-port', 'https'],
    ['--appid-port', 'appId'],
    ['--stats-port', 'stats'],
  ] as const)('%s given twice: the last value counts', (flag, key) => {
    expect(settings(['--group', 'x', flag, '1000', flag, '2000']).ports[key]).toBe(2000);
  });

  it('repeatable flags keep every value', () => {
    expect(settings(['--group', 'a', '--group', 'b', '-m', 'http://m1', '-m', 'http://m2'])).toMatchObject({ groups: ['a', 'b'], marathon: ['http://m1', 'http://m2'] });
  });

  it('a bad value given first and a good one last passes; the other way round it fails', () => {
    expect(settings(['--group', 'x', '--http-port', '0', '--http-port', '8080']).ports.http).toBe(8080);
    expect(usageError(() => settings(['--group', 'x', '--http-port', '8080', '--http-port', '0'])).message).toMatch(/--http-port must be a number ≥ 1/);
  });

  it.each([
    ['debug', 'debug'],
    ['info', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['DEBUG', 'debug'],
    ['INFO', 'info'],
    ['WARNING', 'warn'],
    ['warning', 'warn'],
    ['ERROR', 'error'],
    ['CRITICAL', 'error'],
    ['NOTSET', 'debug'],
    ['Warn', 'warn'],
  ])('--log-level %s → %s', (value, level) => {
    expect(settings(['--group', 'x', '--log-level', value]).logLevel).toBe(level);
  });

  it.each([
    ['-1 (marathon-lb: forever): the default count, failed syncs being retried until one succeeds', ['--max-reload-retries', '-1'], 10],
    ['0: no retry', ['--max-reload-retries', '0'], 0],
    ['a count', ['--max-reload-retries', '3'], 3],
  ])('--max-reload-retries %s', (_name, args, want) => {
    expect(settings(['--group', 'x', ...args]).maxReloadRetries).toBe(want);
  });

  it.each([
    ['0 and 0: no automatic service ports', ['--min-serv-port-ip-per-task', '0', '--max-serv-port-ip-per-task', '0'], [0, 0]],
    ['a one-port range', ['--min-serv-port-ip-per-task', '10050', '--max-serv-port-ip-per-task', '10050'], [10050, 10050]],
  ])('--min/max-serv-port-ip-per-task: %s', (_name, args, [min, max]) => {
    expect(settings(['--group', 'x', ...args])).toMatchObject({ minServPortIpPerTask: min, maxServPortIpPerTask: max });
  });

  it.each([
    ['alone', ['--auth-credentials', 'user:pa:ss'], { authCredentials: 'user:pa:ss' }, []],
    ['with the credential file, which wins (marathon-lb order)', ['--auth-credentials', 'user:pass', '--marathon-auth-credential-file', '/run/cred'], { authCredentialFile: '/run/cred' }, ['authCredentials']],
  ])('--auth-credentials %s', (_name, args, want, absent) => {
    const s = settings(['--group', 'x', ...args]);
    expect(s).toMatchObject(want);
    for (const k of absent) expect(Object.keys(s)).not.toContain(k);
  });

  it('a malformed --auth-credentials is no error when the credential file wins (marathon-lb checks only the one it uses)', () => {
    expect(settings(['--group', 'x', '--auth-credentials', 'nocolon', '--marathon-auth-credential-file', '/run/cred']).authCredentialFile).toBe('/run/cred');
  });

  it('the --auth-credentials error does not echo the value', () => {
    expect(usageError(() => settings(['--group', 'x', '--auth-credentials', 'secretvalue'])).message).not.toContain('secretvalue');
  });

  it.each<[string, string[], string[]]>([
    ['none for a plain command line', ['--group', 'x', '-m', 'apps.json'], []],
    ['--syslog-socket', ['--syslog-socket', '/dev/null'], ['--syslog-socket is accepted for marathon-lb compatibility and ignored (the daemon logs JSON lines to stdout)']],
    ['--log-format', ['--log-format', '%(message)s'], ['--log-format is accepted for marathon-lb compatibility and ignored (logs are JSON lines; --log-level sets the level)']],
    ['--lru-cache-capacity', ['--lru-cache-capacity', '500'], ['--lru-cache-capacity is accepted for marathon-lb compatibility and ignored (mlb-ts keeps no such cache)']],
    ['--marathon-lb-group', ['--marathon-lb-group', 'lb'], ['--marathon-lb-group is accepted for marathon-lb compatibility and ignored (--group selects the apps)']],
    ['--dcos-auth-credentials', ['--dcos-auth-credentials', '{"uid":"u"}'], ['--dcos-auth-credentials is accepted for marathon-lb compatibility and ignored (mlb-ts does not log in with a service account: put a DC/OS token in a file and pass --dcos-token-file)']],
    ['--skip-config-cleanup', ['--skip-config-cleanup'], ['--skip-config-cleanup is accepted for marathon-lb compatibility and ignored (with --sse, the apps whose config HAProxy rejects are always left out and the rest applied)']],
    ['one line for a flag given twice', ['--syslog-socket', 'a', '--syslog-socket', 'b'], ['--syslog-socket is accepted for marathon-lb compatibility and ignored (the daemon logs JSON lines to stdout)']],
    ['--auth-credentials alone: none', ['--auth-credentials', 'u:p'], []],
    ['--auth-credentials with the file', ['--auth-credentials', 'u:p', '--marathon-auth-credential-file', '/run/cred'], ['--auth-credentials is ignored: --marathon-auth-credential-file is given and wins, as in marathon-lb']],
  ])('compatNotes: %s', (_name, args, notes) => {
    const argv = argvOf(['--group', 'x', ...args]);
    expect(compatNotes(argv)).toEqual(notes);
    // the ignored flags still render as without them
    expect(() => settingsFrom(argv, { requireGroup: true })).not.toThrow();
  });

  it('compatNotes: several ignored flags, one line each, none naming a value', () => {
    const notes = compatNotes(argvOf(['--group', 'x', '--syslog-socket', '/dev/log', '--skip-config-cleanup', '--lru-cache-capacity', '9', '--auth-credentials', 'u:secret', '--marathon-auth-credential-file', '/c']));
    expect(notes.map((n) => n.split(' ')[0])).toEqual(['--syslog-socket', '--lru-cache-capacity', '--skip-config-cleanup', '--auth-credentials']);
    expect(notes.join('\n')).not.toContain('secret');
  });
});

describe('lastOf / str', () => {
  it.each([
    ['a value', 'a', 'a'],
    ['an array: its last', ['a', 'b'], 'b'],
    ['missing', undefined, undefined],
  ])('lastOf: %s', (_name, v, want) => expect(lastOf(v)).toBe(want));

  it.each([
    ['a string', 'a', 'a'],
    ['the last of several', ['a', 'b'], 'b'],
    ['empty: not given', '', undefined],
    ['empty last: not given', ['a', ''], undefined],
    ['not a string', 5, undefined],
  ])('str: %s', (_name, v, want) => expect(str({ f: v }, 'f')).toBe(want));

  it('numberFlag takes the last of several', () => {
    expect(numberFlag({ f: [1, 2] }, 'f', 0)).toBe(2);
    expect(usageError(() => numberFlag({ f: [1, -1] }, 'f', 0)).message).toBe('--f must be a number ≥ 0');
  });
});
