import { X509Certificate } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { encodedOnce } from '../../src/sigstore/encoded-once-certificate.js';
import { publicGoodRootText } from './public-good-root.js';

/** The public-good root's certificates: a Fulcio intermediate with its root, and TSA chains. */
const rootJson = JSON.parse(publicGoodRootText()) as {
  certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
  timestampAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
};
const allDer = [...rootJson.certificateAuthorities, ...rootJson.timestampAuthorities].flatMap((ca) => ca.certChain.certificates.map((c) => Buffer.from(c.rawBytes, 'base64')));
const fulcioChain = rootJson.certificateAuthorities.find((ca) => ca.certChain.certificates.length === 2)!.certChain.certificates.map((c) => Buffer.from(c.rawBytes, 'base64'));
const plain = (der: Buffer) => X509Certificate.parse(Buffer.from(der));

describe('encodedOnce', () => {
  it('encodes, compares and exposes keys exactly as the plain certificate does', () => {
    expect(allDer.length).toBeGreaterThan(3);
    for (const der of allDer) {
      const original = plain(der);
      const encoded = encodedOnce(plain(der));
      for (let round = 0; round < 2; round++) {
        expect(encoded.root.toDER()).toEqual(original.root.toDER());
        expect(encoded.root.toDER()).toEqual(der);
        expect(encoded.tbsCertificate.toDER()).toEqual(original.tbsCertificate.toDER());
        expect(encoded.publicKey).toEqual(original.publicKey);
        expect(encoded.equals(original)).toBe(true);
        expect(original.equals(encoded)).toBe(true);
      }
    }
    expect(encodedOnce(plain(fulcioChain[0]!)).equals(plain(fulcioChain[1]!))).toBe(false);
  });

  it('hands out a copy of its DER, so a caller writing into it changes nothing', () => {
    const encoded = encodedOnce(plain(fulcioChain[0]!));
    const first = encoded.root.toDER();
    first.fill(0);
    encoded.publicKey.fill(0);
    encoded.tbsCertificate.toDER().fill(0);
    expect(encoded.root.toDER()).toEqual(fulcioChain[0]);
    expect(encoded.publicKey).toEqual(plain(fulcioChain[0]!).publicKey);
  });

  it('refuses edits to its tree; its clone is a plain certificate that can be edited without touching it', () => {
    const encoded = encodedOnce(plain(fulcioChain[0]!));
    expect(() => encoded.extensions.splice(0, 1)).toThrow(TypeError);
    const clone = encoded.clone();
    expect(clone).not.toBeInstanceOf(encoded.constructor);
    clone.extensions.splice(0, 1);
    expect(clone.root.toDER()).not.toEqual(fulcioChain[0]);
    expect(encoded.root.toDER()).toEqual(fulcioChain[0]);
  });

  it('checks signatures as the plain certificate does, whichever side is encoded once, each time it is asked', () => {
    const [intermediateDer, rootDer] = fulcioChain as [Buffer, Buffer];
    const tamperedDer = Buffer.from(intermediateDer);
    tamperedDer[tamperedDer.length - 5]! ^= 0x01; // inside the signature value, the last field
    const cases: [Buffer, Buffer | undefined][] = [
      [intermediateDer, rootDer], // true: the root signed the intermediate
      [rootDer, undefined], // true: the root is self-signed
      [rootDer, rootDer],
      [intermediateDer, undefined], // false: not self-signed
      [rootDer, intermediateDer], // false: wrong issuer
      [tamperedDer, rootDer], // false: tampered signature
    ];
    for (const [subjectDer, issuerDer] of cases) {
      const expected = plain(subjectDer).verify(issuerDer ? plain(issuerDer) : undefined);
      for (const wrapSubject of [false, true]) {
        for (const wrapIssuer of [false, true]) {
          const subject = wrapSubject ? encodedOnce(plain(subjectDer)) : plain(subjectDer);
          const issuer = issuerDer ? (wrapIssuer ? encodedOnce(plain(issuerDer)) : plain(issuerDer)) : undefined;
          expect(subject.verify(issuer)).toBe(expected);
          expect(subject.verify(issuer)).toBe(expected);
        }
      }
    }
    expect(plain(intermediateDer).verify(plain(rootDer))).toBe(true);
    expect(plain(tamperedDer).verify(plain(rootDer))).toBe(false);
  });
});
