import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDigest, digestOf, verifyBytes } from '@tollgate/core';

describe('parseDigest', () => {
  it('accepts sha256 and sha512 lowercase hex of the right length', () => {
    expect(parseDigest(`sha256:${'a'.repeat(64)}`).hex).toBe('a'.repeat(64));
    expect(parseDigest(`sha512:${'0'.repeat(128)}`).algorithm).toBe('sha512');
  });
  it.each([
    ['sha256:../x'],
    [`sha256:${'A'.repeat(64)}`],
    [`sha256:${'a'.repeat(63)}`],
    [`sha256:${'a'.repeat(65)}`],
    [`md5:${'a'.repeat(32)}`],
    [''],
    ['sha256'],
    [`:${'a'.repeat(64)}`],
  ])('rejects %s', (input) => {
    expect(() => parseDigest(input)).toThrow(/invalid digest/);
  });
  it('round-trips every well-formed sha256 digest and rejects any with a non-hex character', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-f0-9]{64}$/), (hex) => {
        expect(parseDigest(`sha256:${hex}`).value).toBe(`sha256:${hex}`);
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), (junk) => {
        fc.pre(!/^[a-f0-9]{64}$/.test(junk));
        expect(() => parseDigest(`sha256:${junk}`)).toThrow();
      }),
    );
  });
  it('verifyBytes names both digests on mismatch', () => {
    const bytes = new TextEncoder().encode('hello');
    const good = digestOf(bytes);
    expect(() => verifyBytes(bytes, good, 'blob')).not.toThrow();
    expect(() => verifyBytes(new TextEncoder().encode('hellO'), good, 'blob')).toThrow(new RegExp(`expected ${good}, got sha256:`));
  });
});
