import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileIdentityPolicy, isTollgateError } from '@tollgate/core';

const issuer = 'https://accounts.example.com';

describe('compileIdentityPolicy', () => {
  it('anchors regular expressions: alice@example never accepts alice@example.com', () => {
    const policy = compileIdentityPolicy({ subjectRegexp: 'alice@example', issuer });
    expect(policy.matchSubject('alice@example')).toBe(true);
    expect(policy.matchSubject('alice@example.com')).toBe(false);
    expect(policy.matchSubject('xalice@example')).toBe(false);
  });

  it('a pattern cannot break out of the anchors with alternation or unbalanced groups', () => {
    const alternation = compileIdentityPolicy({ subjectRegexp: 'a|b', issuer });
    expect(alternation.matchSubject('a')).toBe(true);
    expect(alternation.matchSubject('ab')).toBe(false);
    expect(alternation.matchSubject('xb')).toBe(false);
    expect(() => compileIdentityPolicy({ subjectRegexp: 'a)|(b', issuer })).toThrow(/does not compile/);
    expect(() => compileIdentityPolicy({ subjectRegexp: 'a)|.*|(?:b', issuer })).toThrow(/does not compile/);
  });

  it('exact values match only themselves; an absent value never matches', () => {
    const policy = compileIdentityPolicy({ subject: 'alice@example.com', issuerRegexp: 'https://accounts\\.example\\.com' });
    expect(policy.matchSubject('alice@example.com')).toBe(true);
    expect(policy.matchSubject('alice@example.com ')).toBe(false);
    expect(policy.matchSubject(undefined)).toBe(false);
    expect(policy.matchIssuer(issuer)).toBe(true);
    expect(policy.matchIssuer(`${issuer}/`)).toBe(false);
  });

  it('refuses incomplete, ambiguous, empty and oversize policies with USAGE', () => {
    for (const policy of [{ subject: 'a' }, { issuer }, { subject: 'a', subjectRegexp: 'a', issuer }, { subject: '', issuer }, { subjectRegexp: 'x'.repeat(2000), issuer }, { subjectRegexp: '[', issuer }]) {
      expect(() => compileIdentityPolicy(policy)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });

  it('a regexp built from an escaped literal matches exactly that literal and nothing longer', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 5 }), (literal, suffix) => {
        const escaped = literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        let policy;
        try {
          policy = compileIdentityPolicy({ subjectRegexp: escaped, issuer });
        } catch (error) {
          expect(isTollgateError(error, 'USAGE')).toBe(true); // lone surrogates and the like
          return;
        }
        expect(policy.matchSubject(literal)).toBe(true);
        expect(policy.matchSubject(literal + suffix)).toBe(false);
        expect(policy.matchSubject(suffix + literal)).toBe(false);
      }),
    );
  });
});
