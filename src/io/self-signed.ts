import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { MlbError } from '../errors.js';
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
export async function withPlaceholderCert(s: Settings, configPath: string, warn: (line: string) => void = (line) => say('warn', `warning: ${line}`)): Promise<Settings> {
  const isDefault = s.sslCerts.length === DEFAULTS.sslCerts.length && s.sslCerts.every((c, i) => c === DEFAULTS.sslCerts[i]);
  if (s.dontBindHttpHttps || !isDefault || s.sslCerts.every((c) => existsSync(c))) return s;
  const pem = join(dirname(configPath), SELF_SIGNED_NAME);
  if (!existsSync(pem)) await makeSelfSigned(pem);
  warn(`--ssl-certs ${s.sslCerts.join(',')} does not exist here; :443 serves ${pem}, a self-signed certificate made for the purpose (pass --ssl-certs with your certificates)`);
  return { ...s, sslCerts: [pem] };
}

async function makeSelfSigned(pem: string): Promise<void> {
  const tmp = `${pem}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(pem), { recursive: true });
    const key = `${tmp}.key`;
    const crt = `${tmp}.crt`;
    const res = await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=mlb-ts-self-signed', '-keyout', key, '-out', crt], { reject: false, all: true, timeout: 60_000 });
    if (res.exitCode !== 0) throw new Error(`openssl exited ${res.exitCode ?? res.signal}: ${String(res.all ?? '').trim().split('\n').pop() ?? ''}`);
    writeFileSync(tmp, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, pem);
  } catch (e) {
    throw new MlbError('E_INSTALL', `--ssl-certs ${DEFAULTS.sslCerts.join(',')} does not exist and no self-signed placeholder could be made at ${pem} (pass --ssl-certs with a PEM file)`, { cause: e });
  } finally {
    for (const f of [tmp, `${tmp}.key`, `${tmp}.crt`]) rmSync(f, { force: true });
  }
}
