import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkIdentityToken, resolveIdentityToken, TollgateError } from '@tollgate/core';

const NOW = Date.UTC(2027, 0, 1);
const seconds = NOW / 1000;
const jwt = (claims: unknown) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
const good = { iss: 'https://issuer.test', sub: 'ci', aud: 'sigstore', exp: seconds + 60 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof TollgateError ? error.code : 'not a TollgateError';
  }
}

describe('checkIdentityToken', () => {
  it('reads issuer, subject (email first) and expiry', () => {
    expect(checkIdentityToken(jwt(good), 'X', NOW)).toEqual({ issuer: good.iss, subject: 'ci', expiresAt: (seconds + 60) * 1000 });
    expect(checkIdentityToken(jwt({ ...good, email: 'a@b.test', aud: ['x', 'sigstore'] }), 'X', NOW).subject).toBe('a@b.test');
  });

  it('refuses, naming the source: expired (also exactly now), other audience, no issuer, no exp, no subject, not a JWT', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, exp: seconds }, /from SRC expired at 2027-01-01T00:00:00\.000Z/],
      [{ ...good, aud: 'other' }, /from SRC is for audience "other", not "sigstore"/],
      [{ ...good, aud: [1, 2] }, /audience none/],
      [{ ...good, iss: '' }, /has no issuer/],
      [{ ...good, exp: '1' }, /has no expiry/],
      [{ ...good, sub: undefined }, /names no subject/],
      [['array'], /claims are not a JSON object/],
      [null, /claims are not a JSON object/],
    ];
    for (const [claims, pattern] of cases) expect(() => checkIdentityToken(jwt(claims), 'SRC', NOW)).toThrow(pattern);
    expect(() => checkIdentityToken('a.b', 'SRC', NOW)).toThrow(/SRC is not a JWT/);
    expect(() => checkIdentityToken('a.b.c.d', 'SRC', NOW)).toThrow(/not a JWT/);
  });

  it('a claim value with control characters is shown on one line', () => {
    let message = '';
    try {
      checkIdentityToken(jwt({ ...good, aud: 'a\nb\u2028c' }), 'SRC', NOW);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"a b c"');
    expect(message).not.toMatch(/[\n\u2028]/);
  });

  it('any input fails only with INVALID_IDENTITY_TOKEN (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json().map((text) => jwt(JSON.parse(text))), fc.tuple(fc.base64String(), fc.base64String()).map(([a, b]) => `${a}.${b}.`)), (token) => {
        const code = codeOf(() => checkIdentityToken(token, 'P', NOW));
        expect(code === undefined || code === 'INVALID_IDENTITY_TOKEN').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('resolveIdentityToken precedence', () => {
  const now = () => NOW;
  it('explicit > SIGSTORE_ID_TOKEN > GitHub Actions; nothing set is undefined', async () => {
    const env = { SIGSTORE_ID_TOKEN: jwt({ ...good, sub: 'env' }), ACTIONS_ID_TOKEN_REQUEST_URL: 'https://unreachable.invalid/x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' };
    expect((await resolveIdentityToken({ explicit: jwt({ ...good, sub: 'flag' }), env, now }))).toMatchObject({ source: 'identity-token-flag', subject: 'flag' });
    expect((await resolveIdentityToken({ env, now }))).toMatchObject({ source: 'SIGSTORE_ID_TOKEN', subject: 'env' });
    expect(await resolveIdentityToken({ env: { SIGSTORE_ID_TOKEN: '  ' }, now })).toBeUndefined();
    expect(await resolveIdentityToken({ env: {}, now })).toBeUndefined();
  });

  it('a bad higher source is an error, never a fall-through to a lower one', async () => {
    const env = { SIGSTORE_ID_TOKEN: jwt({ ...good, exp: seconds - 1 }), ACTIONS_ID_TOKEN_REQUEST_URL: 'https://unreachable.invalid/x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' };
    await expect(resolveIdentityToken({ env, now })).rejects.toThrow(/SIGSTORE_ID_TOKEN expired/);
    await expect(resolveIdentityToken({ explicit: '@/nonexistent/token.jwt', env, now })).rejects.toThrow(/identity token file \/nonexistent\/token\.jwt does not exist/);
  });
});
