import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate } from '@tollgate/core';
import { quoteHeaderValue } from '../../src/registry/auth/www-authenticate.js';
import { nextLink } from '../../src/registry/http/link-header.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/registry/http/retry.js';
import { parseTokenResponse } from '../../src/registry/auth/token-response.js';

const plain = (challenges: ReturnType<typeof parseWwwAuthenticate>) =>
  challenges.map((c) => ({ scheme: c.scheme, params: { ...c.params }, ...(c.token68 !== undefined ? { token68: c.token68 } : {}) }));

describe('parseWwwAuthenticate', () => {
  it('reads the challenges registries send', () => {
    expect(plain(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'))).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } },
    ]);
    expect(plain(parseWwwAuthenticate('Basic realm="Registry Realm"'))).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(plain(parseWwwAuthenticate('Basic'))).toEqual([{ scheme: 'basic', params: {} }]);
  });

  it('reads several challenges, quoted commas and escapes, and token68', () => {
    const header = 'Newauth realm="apps", type=1, title="Login to \\"apps\\", ok", Basic realm="simple", Negotiate abc+/def==';
    expect(plain(parseWwwAuthenticate(header))).toEqual([
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps", ok' } },
      { scheme: 'basic', params: { realm: 'simple' } },
      { scheme: 'negotiate', params: {}, token68: 'abc+/def==' },
    ]);
    expect(plain(parseWwwAuthenticate('BEARER  Realm = "x" ,, Service=y'))).toEqual([{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]);
    expect(plain(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="b"'])).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });

  it('stops at syntax errors without throwing, and ignores huge headers', () => {
    expect(plain(parseWwwAuthenticate('Bearer realm="unterminated'))).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseWwwAuthenticate('"quoted"')).toEqual([]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate(`Bearer realm="${'x'.repeat(20_000)}"`)).toEqual([]);
    const proto = parseWwwAuthenticate('Bearer __proto__="x", constructor=y');
    expect(proto[0]!.params.__proto__).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('round-trips any challenge list written with quoted values (property)', () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}$/);
    const value = fc.string({ maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
    const challenge = fc.record({
      scheme: token,
      params: fc.uniqueArray(fc.tuple(token.map((t) => t.toLowerCase()), value), { selector: ([k]) => k, maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' , '), (list, sep) => {
        const header = list
          .map((c) => (c.params.length === 0 ? c.scheme : `${c.scheme} ${c.params.map(([k, v]) => `${k}=${quoteHeaderValue(v)}`).join(sep)}`))
          .join(sep);
        const parsed = plain(parseWwwAuthenticate(header));
        expect(parsed).toEqual(list.map((c) => ({ scheme: c.scheme.toLowerCase(), params: Object.fromEntries(c.params) })));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const out = parseWwwAuthenticate(s);
        expect(Array.isArray(out)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('nextLink', () => {
  it('finds rel="next" among links', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/a/tags/list?last=b&n=2');
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next>; rel=next')).toBe('https://x/next');
    expect(nextLink('<https://x/a>; title="a, b; c"; rel="last next"')).toBe('https://x/a');
    expect(nextLink('<https://x/a>; rel="prev"')).toBeUndefined();
    expect(nextLink('garbage')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void nextLink(s)));
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and dates, capped', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('99999')).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:59 GMT'))).toBe(1000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2016 07:27:59 GMT'))).toBe(0);
    expect(parseRetryAfter('-1')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('parseTokenResponse', () => {
  const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  it('reads token or access_token and expires_in', () => {
    expect(parseTokenResponse(bytes({ token: 'abc', expires_in: 300 }), 'h')).toEqual({ token: 'abc', expiresInSeconds: 300 });
    expect(parseTokenResponse(bytes({ access_token: 'def' }), 'h')).toEqual({ token: 'def', expiresInSeconds: 60 });
    expect(parseTokenResponse(bytes({ token: 'a', expires_in: -5 }), 'h').expiresInSeconds).toBe(60);
  });
  it('refuses garbage without echoing it', () => {
    for (const bad of ['nope', '[]', '{}', '{"token":""}', '{"token":"a b"}', '{"token":"a\\r\\nb"}', '{"token":5}']) {
      expect(() => parseTokenResponse(bytes(bad), 'h')).toThrow(/token service at h/);
    }
  });
});
