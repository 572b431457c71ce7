import { createPublicKey, ECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { generateKeyPair, publicKeyId, publicVerificationKey, verifyNotationEnvelope, type NotationVerifyOptions } from '@tollgate/core';
import { ecKey, makeCert, rsaKey, signEnvelope, simplePki, type EnvelopeOptions } from './pki.js';
import { store } from './fixtures.js';

const TARGET = { digest: 'sha256:' + 'ab'.repeat(32), size: 1234, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
const pki = simplePki();

function options(root = pki.root, extra: Partial<NotationVerifyOptions> = {}): NotationVerifyOptions {
  return { trustStore: store({ ca: [root] }), trustedIdentities: ['*'], level: 'strict', ...extra };
}

function envelope(extra: Partial<EnvelopeOptions> = {}): Buffer {
  return signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: TARGET, ...extra });
}

async function reasons(bytes: Buffer, opts = options()): Promise<string> {
  const result = await verifyNotationEnvelope(bytes, TARGET, opts);
  expect(result.ok).toBe(false);
  return result.reasons.join(' | ');
}

describe('envelopes made by a test PKI', () => {
  it('a well-formed PS256 envelope with a root and a leaf verifies', async () => {
    const result = await verifyNotationEnvelope(envelope(), TARGET, options());
    expect(result.ok).toBe(true);
    expect(result.signer?.subject).toBe('CN=Test Signer,O=tollgate-test,ST=WA,C=US');
    expect(result.signer?.keyId).toBe(publicKeyId(pki.leafKey.publicKey));
  });

  it('the signer key id is the cosign key id of the same key, and one EC key has one id however its point is encoded', async () => {
    const key = generateKeyPair('ecdsa-p256');
    const leaf = makeCert({ cn: 'EC Signer', key, issuer: { cert: pki.root, key: pki.rootKey } });
    const result = await verifyNotationEnvelope(signEnvelope({ key, alg: 'ES256', chain: [leaf, pki.root], target: TARGET }), TARGET, options());
    expect(result.ok, result.reasons.join()).toBe(true);
    expect(result.signer?.keyId).toBe(publicVerificationKey(key).keyId);
    // The same public key as a compressed-point SPKI: another DER, the same id.
    const spki = key.publicKey.export({ type: 'spki', format: 'der' });
    const compressedPoint = ECDH.convertKey(spki.subarray(spki.length - 65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressed = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressedPoint]), format: 'der', type: 'spki' });
    expect(compressed.export({ type: 'spki', format: 'der' }).length).toBeLessThan(spki.length);
    expect(publicKeyId(compressed)).toBe(publicVerificationKey(key).keyId);
    expect(publicKeyId(key.privateKey)).toBe(publicVerificationKey(key).keyId);
    expect(publicKeyId(rsaKey().publicKey)).not.toBe(publicKeyId(rsaKey().publicKey));
  });

  it('ES256 / ES384 envelopes with EC keys verify; a three-level chain with an intermediate verifies', async () => {
    for (const [curve, alg] of [['P-256', 'ES256'], ['P-384', 'ES384']] as const) {
      const key = ecKey(curve);
      const leaf = makeCert({ cn: 'EC Signer', key, issuer: { cert: pki.root, key: pki.rootKey } });
      const result = await verifyNotationEnvelope(signEnvelope({ key, alg, chain: [leaf, pki.root], target: TARGET }), TARGET, options());
      expect(result.ok, result.reasons.join()).toBe(true);
    }
    const interKey = rsaKey();
    const inter = makeCert({ cn: 'Intermediate', key: interKey, ca: true, pathLen: 0, issuer: { cert: pki.root, key: pki.rootKey } });
    const leafKey = rsaKey();
    const leaf = makeCert({ cn: 'Deep Signer', key: leafKey, issuer: { cert: inter, key: interKey } });
    const result = await verifyNotationEnvelope(signEnvelope({ key: leafKey, alg: 'PS256', chain: [leaf, inter, pki.root], target: TARGET }), TARGET, options());
    expect(result.ok, result.reasons.join()).toBe(true);
  });

  it.each(['none', 'HS256', 'RS256', 'RS512', 'EdDSA', 'PS1'])('alg %s is outside the allow-list and rejected', async (alg) => {
    expect(await reasons(envelope({ alg, protected: { alg } }))).toMatch(/the Notary Project allows only PS256, PS384, PS512, ES256, ES384, ES512/);
  });

  it('an allowed algorithm that does not fit the key is rejected (PS384 with an RSA-2048 key, ES256 with RSA)', async () => {
    expect(await reasons(envelope({ alg: 'PS384' }))).toMatch(/says PS384 but the signing certificate's key requires PS256/);
    expect(await reasons(envelope({ alg: 'ES256', protected: { alg: 'ES256' } }))).toMatch(/requires PS256/);
  });

  it('unknown crit entries are rejected, as are verification plugins and missing crit marks', async () => {
    expect(await reasons(envelope({ protected: { crit: ['io.cncf.notary.signingScheme', 'io.example.custom'], 'io.example.custom': 'x' } }))).toMatch(/marks "io.example.custom" critical/);
    expect(await reasons(envelope({ protected: { crit: ['io.cncf.notary.signingScheme', 'b64'], b64: false } }))).toMatch(/marks "b64" critical/);
    expect(await reasons(envelope({ protected: { crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'] } }))).toMatch(/marks "io.cncf.notary.expiry" critical but does not contain it/);
    expect(await reasons(envelope({ protected: { crit: [] } }))).toMatch(/has no crit list/);
    expect(await reasons(envelope({ protected: { crit: undefined } }))).toMatch(/has no crit list/);
    expect(await reasons(envelope({ protected: { crit: ['io.cncf.notary.signingTime'] } }))).toMatch(/does not mark "io.cncf.notary.signingScheme" critical/);
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.expiry': '2200-01-01T00:00:00Z' } }))).toMatch(/does not mark "io.cncf.notary.expiry" critical/);
    expect(
      await reasons(envelope({ protected: { 'io.cncf.notary.verificationPlugin': 'com.example.plugin', crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'] } })),
    ).toMatch(/verification plugin/);
  });

  it('unknown non-critical protected headers are informational and accepted', async () => {
    const result = await verifyNotationEnvelope(envelope({ protected: { 'io.example.note': 'hello' } }), TARGET, options());
    expect(result.ok).toBe(true);
  });

  it('the signing scheme rules: unknown scheme, and times forbidden or missing for a scheme, are rejected', async () => {
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.signingScheme': 'notary.default' } }))).toMatch(/signing scheme "notary.default"/);
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.signingTime': undefined } }))).toMatch(/requires/);
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.signingTime': 'yesterday' } }))).toMatch(/not an RFC 3339 date-time/);
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.authenticSigningTime': '2024-01-01T00:00:00Z' } }))).toMatch(/must not have/);
    expect(await reasons(envelope({ protected: { 'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority', crit: ['io.cncf.notary.signingScheme'] } }))).toMatch(/must not have|requires/);
    expect(await reasons(envelope({ protected: { cty: 'application/json' } }))).toMatch(/cty/);
  });

  it('the payload must be exactly {targetArtifact: descriptor}', async () => {
    expect(await reasons(envelope({ payload: { targetArtifact: TARGET, extra: 1 } }))).toMatch(/exactly one member/);
    expect(await reasons(envelope({ payload: { targetArtifact: { ...TARGET, digest: 'sha256:XYZ' } } }))).toMatch(/targetArtifact.digest/);
    expect(await reasons(envelope({ payload: { targetArtifact: { ...TARGET, size: -1 } } }))).toMatch(/size/);
    expect(await reasons(envelope({ payload: '{"targetArtifact":' }))).toMatch(/payload/);
    expect(await reasons(envelope({ payload: `{"targetArtifact":${JSON.stringify(TARGET)},"targetArtifact":${JSON.stringify(TARGET)}}` }))).toMatch(/duplicate/i);
  });

  it('a valid signature by a key other than the leaf certificate is rejected', async () => {
    const other = rsaKey();
    expect(await reasons(envelope({ key: other }))).toMatch(/JWS signature does not verify/);
  });

  it('chain rules: leaf-only chain without root, wrong order, unrelated extra, repeated (looping) certificates', async () => {
    expect(await reasons(envelope({ chain: [pki.leaf] }))).toMatch(/does not end in a self-signed root/);
    expect(await reasons(envelope({ chain: [pki.root, pki.leaf] }))).toMatch(/JWS signature does not verify|not issued/);
    const stranger = makeCert({ cn: 'Stranger', key: rsaKey(), ca: true });
    expect(await reasons(envelope({ chain: [pki.leaf, pki.root, stranger] }))).toMatch(/not issued and signed by the next/);
    expect(await reasons(envelope({ chain: [pki.leaf, pki.root, pki.root] }))).toMatch(/twice/);
    expect(await reasons(envelope({ chain: [pki.leaf, pki.root, pki.leaf, pki.root] }))).toMatch(/twice/);
  });

  it('certificate requirements: leaf key usage, CA leaf, EKU, CA constraints, path length, SHA-1, key size', async () => {
    const bad = async (leafOptions: Parameters<typeof makeCert>[0] extends infer T ? Partial<T> : never, pattern: RegExp, rootCert = pki.root, rootKey = pki.rootKey) => {
      const key = leafOptions.key ?? rsaKey();
      const leaf = makeCert({ cn: 'Bad Signer', key, issuer: { cert: rootCert, key: rootKey }, ...leafOptions });
      const alg = (key.publicKey.asymmetricKeyDetails?.modulusLength ?? 2048) === 3072 ? 'PS384' : 'PS256';
      expect(await reasons(signEnvelope({ key, alg, chain: [leaf, rootCert], target: TARGET }), options(rootCert))).toMatch(pattern);
    };
    await bad({ keyUsage: KeyUsageFlags.keyEncipherment }, /lacks the digitalSignature key usage/);
    await bad({ keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign }, /must not have/);
    await bad({ keyUsageCritical: false }, /not critical/);
    await bad({ keyUsage: 0 }, /no keyUsage extension/);
    await bad({ ca: true, keyUsage: KeyUsageFlags.digitalSignature }, /is a CA certificate/);
    await bad({ eku: ['1.3.6.1.5.5.7.3.1'] }, /serverAuth/);
    await bad({ eku: ['1.3.6.1.5.5.7.3.8'] }, /timeStamping/);
    await bad({ hash: 'sha1' }, /sha1WithRSAEncryption/);
    await bad({ key: rsaKey(1024) }, /not one the Notary Project allows/);
    // a root that is not a CA, or lacks keyCertSign
    const notCaKey = rsaKey();
    const notCa = makeCert({ cn: 'Not a CA', key: notCaKey, basicConstraints: true, ca: false, keyUsage: KeyUsageFlags.keyCertSign });
    await bad({}, /lacks a critical basicConstraints extension with cA=true/, notCa, notCaKey);
    const noSignKey = rsaKey();
    const noSign = makeCert({ cn: 'No keyCertSign', key: noSignKey, ca: true, keyUsage: KeyUsageFlags.cRLSign });
    await bad({}, /lacks a critical keyUsage extension with keyCertSign/, noSign, noSignKey);
    // pathLen 0 on the root with an intermediate below it
    const rootKey = rsaKey();
    const root = makeCert({ cn: 'Strict Root', key: rootKey, ca: true, pathLen: 0 });
    const interKey = rsaKey();
    const inter = makeCert({ cn: 'Inter', key: interKey, ca: true, issuer: { cert: root, key: rootKey } });
    const leafKey = rsaKey();
    const leaf = makeCert({ cn: 'Leaf', key: leafKey, issuer: { cert: inter, key: interKey } });
    expect(await reasons(signEnvelope({ key: leafKey, alg: 'PS256', chain: [leaf, inter, root], target: TARGET }), options(root))).toMatch(/allows 0 CA certificate/);
  });

  it('validity: a leaf expired at verification time fails authenticTimestamp at strict, is logged at permissive', async () => {
    const key = rsaKey();
    const leaf = makeCert({ cn: 'Old Signer', key, issuer: { cert: pki.root, key: pki.rootKey }, notAfter: new Date('2021-01-01T00:00:00Z') });
    const bytes = signEnvelope({ key, alg: 'PS256', chain: [leaf, pki.root], target: TARGET });
    expect(await reasons(bytes)).toMatch(/authenticTimestamp: certificate .*Old Signer.* had expired/);
    const permissive = await verifyNotationEnvelope(bytes, TARGET, options(pki.root, { level: 'permissive' }));
    expect(permissive.ok).toBe(true);
    expect(permissive.warnings.join()).toMatch(/authenticTimestamp \(logged at permissive\)/);
  });

  it('revocation: a chain naming a CRL cannot be checked offline: enforced at strict, logged at permissive, skippable by override', async () => {
    const key = rsaKey();
    const leaf = makeCert({ cn: 'CRL Signer', key, issuer: { cert: pki.root, key: pki.rootKey }, crl: true });
    const bytes = signEnvelope({ key, alg: 'PS256', chain: [leaf, pki.root], target: TARGET });
    expect(await reasons(bytes)).toMatch(/revocation: the revocation status .* cannot be determined/);
    expect((await verifyNotationEnvelope(bytes, TARGET, options(pki.root, { level: 'permissive' }))).ok).toBe(true);
    expect((await verifyNotationEnvelope(bytes, TARGET, options(pki.root, { override: { revocation: 'log' } }))).ok).toBe(true);
    const skipped = await verifyNotationEnvelope(bytes, TARGET, options(pki.root, { override: { revocation: 'skip' } }));
    expect(skipped.ok).toBe(true);
    expect(skipped.checks.find((c) => c.check === 'revocation')?.outcome).toBe('skipped');
  });

  it('the trust anchor may be the intermediate (pinning), as notation allows; an unrelated root is not trusted', async () => {
    const interKey = rsaKey();
    const inter = makeCert({ cn: 'Pinned Intermediate', key: interKey, ca: true, issuer: { cert: pki.root, key: pki.rootKey } });
    const leafKey = rsaKey();
    const leaf = makeCert({ cn: 'Pinned Signer', key: leafKey, issuer: { cert: inter, key: interKey } });
    const bytes = signEnvelope({ key: leafKey, alg: 'PS256', chain: [leaf, inter, pki.root], target: TARGET });
    expect((await verifyNotationEnvelope(bytes, TARGET, options(inter))).ok).toBe(true);
    const unrelated = makeCert({ cn: 'Test Root', key: rsaKey(), ca: true });
    expect(await reasons(bytes, options(unrelated))).toMatch(/does not contain any certificate of the ca trust store/);
  });
});
