import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { causeOf, MlbError } from '../errors.js';
import { DEFAULTS, type Settings } from '../settings.js';
import { say } from './say.js';

/** The placeholder certificate one-shot mode and the daemon make beside the config. */
export const SELF_SIGNED_NAME = 'mlb-ts-self-signed.pem';

/**
 * One-shot mode and the daemon install only configs HAProxy accepts, and HAProxy refuses a :443
 * frontend whose certificate is missing. When --ssl-certs was left at its default and
 * /etc/ssl/cert.pem does not exist, the settings with a self-signed certificate beside the config
 * instead (made once with openssl, a key of its own), as marathon-lb's container makes one at
 * start; said on one warning line. Any other case: `s` as it is.
 */
export async function withPlaceholderCert(
  s: Settings,
  configPath: string,
  warn: (line: string) => void = (line) => say('warn', `warning: ${line}`),
  defaults: readonly string[] = DEFAULTS.sslCerts,
): Promise<Settings> {
  const isDefault = s.sslCerts.length === defaults.length && s.sslCerts.every((c, i) => c === defaults[i]);
  if (s.dontBindHttpHttps || !isDefault) return s;
  const why = s.sslCerts.map(unusable).find((w) => w !== undefined);
  if (why === undefined) return s;
  const pem = join(dirname(configPath), SELF_SIGNED_NAME);
  if (unusable(pem) !== undefined) await makeSelfSigned(pem);
  warn(`--ssl-certs ${why}; :443 serves ${pem}, a self-signed certificate made for the purpose (pass --ssl-certs with your certificates)`);
  return { ...s, sslCerts: [pem] };
}

/**
 * Why HAProxy could not serve TLS from this PEM file (missing, unreadable, or no certificate and
 * key in it, e.g. a CA bundle where other systems keep /etc/ssl/cert.pem); undefined if it can.
 */
function unusable(pem: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(pem, 'utf8');
  } catch (e) {
    return existsSync(pem) ? `${pem} cannot be read (${causeOf(e)})` : `${pem} does not exist here`;
  }
  return /-----BEGIN CERTIFICATE-----/.test(text) && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? undefined : `${pem} holds no certificate with its private key`;
}

async function makeSelfSigned(pem: string): Promise<void> {
  // Unique per run: two processes (PID 1 in two containers sharing the directory) never share one.
  const tmp = `${pem}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(pem), { recursive: true });
    const key = `${tmp}.key`;
    const crt = `${tmp}.crt`;
    const { execa } = await import('execa');
    const res = await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=mlb-ts-self-signed', '-keyout', key, '-out', crt], { reject: false, all: true, timeout: 60_000 });
    if (res.exitCode === undefined) throw new Error(`openssl could not run: ${res.shortMessage}`);
    if (res.exitCode !== 0) throw new Error(`openssl exited ${res.exitCode}: ${String(res.all ?? '').trim().split('\n').pop() ?? ''}`);
    // A new file: mode 600 from the start (a umask only takes bits away).
    writeFileSync(tmp, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
    renameSync(tmp, pem);
  } catch (e) {
    throw new MlbError('E_INSTALL', `--ssl-certs ${DEFAULTS.sslCerts.join(',')} cannot serve :443 and no self-signed placeholder could be made at ${pem} (pass --ssl-certs with a PEM file)`, { cause: e });
  } finally {
    for (const f of [tmp, `${tmp}.key`, `${tmp}.crt`]) rmSync(f, { force: true });
  }
}
