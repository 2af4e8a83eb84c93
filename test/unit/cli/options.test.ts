import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { IGNORED_MARATHON_LB_OPTIONS, numberFlag, RENDER_OPTIONS, RUN_OPTIONS, settingsFrom } from '../../../src/cli/options.js';
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
    for (const k of ['templatesDir', 'command', 'authCredentialFile', 'dcosTokenFile', 'caCert', 'ipvsApplyCommand']) expect(Object.keys(s)).not.toContain(k);
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
    ['--min-serv-port-ip-per-task', '0', /--min-serv-port-ip-per-task must be a number ≥ 1/],
    ['--max-serv-port-ip-per-task', '10049', /--max-serv-port-ip-per-task is below --min-serv-port-ip-per-task/],
  ])('%s %s → E_USAGE', (flag, value, message) => {
    expect(usageError(() => settings(['--group', 'x', flag, value])).message).toMatch(message);
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
