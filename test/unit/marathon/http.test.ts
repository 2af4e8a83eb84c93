import { describe, expect, it } from 'vitest';
import { displayUrl, type HttpAuth, requestTarget } from '../../../src/marathon/http.js';

describe('displayUrl', () => {
  it.each([
    ['http://marathon:8080', 'http://marathon:8080'],
    ['http://alice:s3cret@marathon:8080', 'http://marathon:8080'],
    ['https://alice:s3cret@marathon:8443/service/marathon/v2/apps?embed=apps.tasks', 'https://marathon:8443/service/marathon/v2/apps?embed=apps.tasks'],
    ['HTTP://alice@marathon', 'HTTP://marathon'],
    ['http://:s3cret@marathon', 'http://marathon'],
    ['http://alice:p@ss@marathon:8080/x', 'http://marathon:8080/x'],
    ['http://alice:p%40ss@marathon:8080', 'http://marathon:8080'],
    ['http://marathon:8080/v2/apps?user=a@b', 'http://marathon:8080/v2/apps?user=a@b'],
    ['http://marathon:8080/a@b', 'http://marathon:8080/a@b'],
    ['/etc/apps@1.json', '/etc/apps@1.json'],
    ['file:///tmp/a@b.json', 'file:///tmp/a@b.json'],
  ])('%s → %s', (url, want) => expect(displayUrl(url)).toBe(want));
});

describe('requestTarget', () => {
  it.each<[string, string, HttpAuth | undefined, string, HttpAuth | undefined]>([
    ['no user:password: as given', 'http://m:8080/v2/apps', { token: 't' }, 'http://m:8080/v2/apps', { token: 't' }],
    ['no user:password, no auth', 'http://m:8080/v2/apps', undefined, 'http://m:8080/v2/apps', undefined],
    ["the URL's user:password becomes Basic auth", 'http://alice:s3cret@m:8080/v2/apps', undefined, 'http://m:8080/v2/apps', { basic: 'alice:s3cret' }],
    ['percent-encoding decoded', 'http://al%20ice:p%40ss%2Fw%3Ard@m/', undefined, 'http://m/', { basic: 'al ice:p@ss/w:rd' }],
    ['a stray % taken as written', 'http://alice:100%zz@m/', undefined, 'http://m/', { basic: 'alice:100%zz' }],
    ['a user without a password', 'http://alice@m/', {}, 'http://m/', { basic: 'alice:' }],
    ['an explicit Basic auth (credential file) wins', 'http://alice:s3cret@m/', { basic: 'bob:other' }, 'http://m/', { basic: 'bob:other' }],
    ['a token is kept (and sent instead of Basic auth)', 'http://alice:s3cret@m/', { token: 't' }, 'http://m/', { token: 't', basic: 'alice:s3cret' }],
  ])('%s', (_name, url, auth, wantUrl, wantAuth) => {
    const t = requestTarget(new URL(url), auth);
    expect(t.url.toString()).toBe(wantUrl);
    expect(t.auth).toEqual(wantAuth);
  });
});
