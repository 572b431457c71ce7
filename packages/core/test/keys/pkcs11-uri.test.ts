import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTollgateError, parsePkcs11Uri } from '@tollgate/core';
import { rawToDerSignature } from '../../src/keys/pkcs11/ec-public-key.js';

const env = {};

describe('parsePkcs11Uri', () => {
  it('reads the URIs cosign writes (path attributes, query module-path and pin-value), percent-decoded', () => {
    const uri = parsePkcs11Uri('pkcs11:token=My%20Token;slot-id=3;id=%01%ff;object=release%3Bkey?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634', env);
    expect(uri).toEqual({ token: 'My Token', slotId: 3, id: Uint8Array.from([1, 255]), object: 'release;key', modulePath: '/usr/lib/softhsm/libsofthsm2.so', pinValue: '12&34' });
    expect(parsePkcs11Uri('PKCS11:token=t;object=o;type=private;x-vendor=1', { COSIGN_PKCS11_MODULE_PATH: '/m.so' })).toEqual({ token: 't', object: 'o', modulePath: '/m.so' });
    expect(parsePkcs11Uri('pkcs11:token=t;object=o', { TOLLGATE_PKCS11_MODULE_PATH: '/a.so', COSIGN_PKCS11_MODULE_PATH: '/b.so' }).modulePath).toBe('/a.so');
    expect(parsePkcs11Uri('pkcs11:token=t;object=o?module-path=/m.so&pin-source=file:/run/pin', env).pinSource).toBe('/run/pin');
  });

  it('refuses what it cannot use, naming the attribute, never repeating a PIN', () => {
    const cases: Array<[string, RegExp]> = [
      ['pkcs11:object=o?module-path=/m.so', /name the token/],
      ['pkcs11:token=t?module-path=/m.so', /name the key/],
      ['pkcs11:token=t;object=o', /no module/],
      ['pkcs11:token=t;object=o?module-path=m.so', /absolute path/],
      ['pkcs11:token=t;object=o;pin-value=1?module-path=/m.so', /"pin-value" belongs in the query/],
      ['pkcs11:token=t;object=o?module-path=/m.so&token=x', /"token" belongs in the path/],
      ['pkcs11:token=t;token=u;object=o?module-path=/m.so', /given twice/],
      ['pkcs11:token=t;object=o;slot-id=-1?module-path=/m.so', /slot-id/],
      ['pkcs11:token=t;object=%g1?module-path=/m.so', /two hex digits/],
      ['pkcs11:token=t;object=o?module-path=/m.so&pin-value=sekret&pin-source=/p', /not both/],
      ['pkcs11:token=t;object=o?module-name=softhsm2', /module-name/],
      ['pkcs11:token=t;bogus=1;object=o?module-path=/m.so', /unknown path attribute "bogus"/],
      ['pkcs11:token=t;object=o#frag', /fragment/],
      ['pkcs11 token=t', /does not start with "pkcs11:"/],
    ];
    for (const [input, message] of cases) {
      let error: unknown;
      try {
        parsePkcs11Uri(input, env);
      } catch (e) {
        error = e;
      }
      expect(isTollgateError(error, 'USAGE'), input).toBe(true);
      expect((error as Error).message, input).toMatch(message);
      expect((error as Error).message).not.toContain('sekret');
    }
  });

  it('property: any input either parses or gives one USAGE line, never another error, never the pin-value', () => {
    const pieces = fc.constantFrom('pkcs11:', 'token=', 'object=', 'id=', 'slot-id=', 'module-path=', '/usr/lib/x.so', 'pin-value=', 'pin-source=', 'file:', ';', '&', '?', '=', '%', '%2', '%41', '%ff', '#', ' ', '\n', 'é', '\u0000', 'x-a=', 'type=private', '1', 'abc');
    const junk = fc.oneof(fc.string({ maxLength: 200 }), fc.array(pieces, { maxLength: 30 }).map((a) => a.join('')), fc.array(pieces, { maxLength: 30 }).map((a) => `pkcs11:${a.join('')}`));
    fc.assert(
      fc.property(junk, (input) => {
        try {
          const uri = parsePkcs11Uri(input, env);
          expect(uri.modulePath.startsWith('/')).toBe(true);
          expect(uri.token !== undefined || uri.slotId !== undefined).toBe(true);
        } catch (error) {
          expect(isTollgateError(error, 'USAGE')).toBe(true);
          const message = (error as Error).message;
          expect(message).not.toMatch(/[\n\r]/);
          expect(message.length).toBeLessThan(400);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rawToDerSignature', () => {
  it('turns r || s into the DER signature Node verifies, including high-bit and leading-zero halves', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, rawToDerSignature(raw))).toBe(true);
    }
    expect(() => rawToDerSignature(new Uint8Array(63))).toThrow(/not r \|\| s/);
  });
});
