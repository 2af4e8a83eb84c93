import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

/** What `--dry-run` and `render` say about the :443 certificates (src/cli/render.ts). */
const dryRun = (...args: string[]) => runCli(['--dry-run', '-m', 'examples/apps.json', '--group', 'external', ...args]);
const certWarnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('warning: --ssl-certs'));

describe('--ssl-certs files that do not exist', () => {
  it.each<[string, string[], string[]]>([
    ['the default /etc/ssl/cert.pem, absent here', ['--ssl-certs', '/nonexistent/cert.pem'], ['/nonexistent/cert.pem']],
    ['one of two', ['--ssl-certs', 'examples/certs/demo.pem,/nonexistent/other.pem'], ['/nonexistent/other.pem']],
    ['an existing file', ['--ssl-certs', 'examples/certs/demo.pem'], []],
    ['no :443 frontend (--dont-bind-http-https)', ['--ssl-certs', '/nonexistent/cert.pem', '--dont-bind-http-https'], []],
  ])('%s: warned once each, the config still rendered (exit 0)', async (_name, args, missing) => {
    const run = await dryRun(...args);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^global/);
    expect(certWarnings(run.stderr)).toEqual(missing.map((c) => `warning: --ssl-certs ${c} does not exist here; HAProxy refuses a config whose certificate it cannot read (pass --ssl-certs with a PEM file, e.g. examples/certs/demo.pem)`));
  });
});
