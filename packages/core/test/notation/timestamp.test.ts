import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash, type X509Certificate } from 'node:crypto';
import { isTollgateError, verifyTimestampToken } from '@tollgate/core';
import { notationGo } from './fixtures.js';
import { NOTATION_SETS } from './generated.js';

for (const set of NOTATION_SETS) describe(`verifyTimestampToken (RFC 3161, ${set.name} jwsWithTimestamp.sig)`, set.options, () => {
  const { fixtureCert } = set;
  let token: Buffer;
  let signature: Buffer;
  let roots: X509Certificate[];
  beforeAll(() => {
    const stamped = set.envelopeJson('jwsWithTimestamp.sig');
    token = Buffer.from(stamped.header['io.cncf.notary.timestampSignature'] as string, 'base64');
    signature = Buffer.from(stamped.signature, 'base64url');
    roots = [fixtureCert('tsa-globalsignRoot.cer')];
  });

  it('verifies the countersignature (notation-go\'s is GlobalSign\'s): genTime, accuracy, TSA chain', async () => {
    if (set === notationGo) expect(createHash('sha256').update(signature).digest('hex')).toMatch(/^6953f295/);
    const ts = await verifyTimestampToken(token, signature, roots);
    expect(ts.genTime.toISOString()).toBe('2024-06-18T06:29:37.000Z');
    expect(ts.upper.getTime() - ts.lower.getTime()).toBe(2000); // accuracy: 1 s either side
    expect(ts.chain).toHaveLength(3);
    expect(ts.tsa).toMatch(new RegExp(set.tsaSubject, 'i'));
  });

  it('refuses another signature, no roots, and the wrong root', async () => {
    await expect(verifyTimestampToken(token, Buffer.from('another signature'), roots)).rejects.toThrow(/message imprint mismatch/);
    await expect(verifyTimestampToken(token, signature, [])).rejects.toThrow(/no TSA roots/);
    await expect(verifyTimestampToken(token, signature, [fixtureCert('NotationTestRoot.pem')])).rejects.toThrow(/does not chain to a trusted TSA root/);
  });

  it('a changed byte in the TSA certificate, or a non-DER re-encoding, is refused', async () => {
    const at = token.indexOf(Buffer.from(set.tsaSubject));
    expect(at).toBeGreaterThan(0);
    const copy = Buffer.from(token);
    copy[at] = 0x48; // 'H'
    await expect(verifyTimestampToken(copy, signature, roots)).rejects.toThrow(/timestamp countersignature/);
    // long-form length where the short form is required: same content, not DER
    const nonDer = Buffer.from(token);
    expect(nonDer[0]).toBe(0x30);
    await expect(verifyTimestampToken(Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), nonDer.subarray(2)]), signature, roots)).rejects.toThrow(/DER|decoded/);
  });

  it('fuzz: truncations and random bytes only raise TollgateErrors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.nat({ max: token.length - 1 }).map((n) => token.subarray(0, n))), async (bytes) => {
        try {
          await verifyTimestampToken(Buffer.from(bytes), signature, roots);
          expect.unreachable('a damaged token verified');
        } catch (error) {
          expect(isTollgateError(error)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 3161 },
    );
  });

  it('fuzz: one changed byte of the token never verifies silently', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
        const copy = Buffer.from(token);
        copy[at] = (copy[at]! + delta) & 0xff;
        try {
          const ts = await verifyTimestampToken(copy, signature, roots);
          // only bytes outside what is signed may change (unsigned attributes, certificates other than the chain)
          expect(ts.genTime.toISOString()).toBe('2024-06-18T06:29:37.000Z');
        } catch (error) {
          expect(isTollgateError(error)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 5652 },
    );
  });
});
