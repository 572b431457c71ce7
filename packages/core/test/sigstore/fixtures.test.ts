import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTollgateError, loadTrustedRoot, parseBundle, verifyBlobBundle, type IdentityPolicy, type TrustedRoot } from '@tollgate/core';
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, FIXTURES } from './conformance-cases.js';
import { needsShared } from '../../../../test/support/shared.js';

// Real bundles made by other tools: each describe is skipped, with the reason, without ../shared, so the data is
// read in beforeAll (a skipped describe's body still runs).
const sc = (file: string) => readFileSync(join(FIXTURES, 'sigstore-conformance', file));
const sg = (file: string) => readFileSync(join(FIXTURES, 'sigstore-go', file));
const cosign = (file: string) => readFileSync(join(FIXTURES, 'cosign', file));
let publicGood: TrustedRoot;
let aTxt: Buffer;
const readPublicGood = () => {
  publicGood ??= loadTrustedRoot(sc('trusted_root.public-good.json'));
  aTxt ??= sc('a.txt');
};
const conformanceIdentity: IdentityPolicy = { subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER };

describe('fixtures/sigstore-conformance (README expectations)', needsShared('fixtures/sigstore-conformance'), () => {
  beforeAll(readPublicGood);

  it('a.txt is the artifact the README names', () => {
    expect(aTxt.length).toBe(109);
  });

  it.each(['happy-path-v0.1.sigstore.json', 'happy-path-v0.3.sigstore.json', 'happy-path-intoto-in-dsse-v3.sigstore.json'])('%s verifies with root + a.txt + identity/issuer', async (file) => {
    const result = await verifyBlobBundle(sc(file), aTxt, { trustedRoot: publicGood, identity: conformanceIdentity });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.signer).toEqual({ identity: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER });
  });

  it('the DSSE in-toto bundle is bound to a.txt: another artifact is rejected by our subject check', async () => {
    const result = await verifyBlobBundle(sc('happy-path-intoto-in-dsse-v3.sigstore.json'), Buffer.from('not a.txt'), { trustedRoot: publicGood, identity: conformanceIdentity });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/not a subject of the in-toto statement/);
    expect(result.content).toBe('dsse');
  });

  it('the DSSE in-toto bundle verifies against the digest of a.txt alone', async () => {
    const digest = 'sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf';
    const result = await verifyBlobBundle(sc('happy-path-intoto-in-dsse-v3.sigstore.json'), { digest }, { trustedRoot: publicGood, identity: conformanceIdentity });
    expect(result.ok).toBe(true);
    expect(result.statement?.subject[0]?.digest.sha256).toBe(digest.slice(7));
  });

  it('managed-key-happy-path verifies with its key.pub (tlog entry + RFC 3161 timestamp)', async () => {
    const result = await verifyBlobBundle(sc('managed-key-happy-path.sigstore.json'), aTxt, { trustedRoot: publicGood, key: sc('managed-key-happy-path.key.pub') });
    expect(result.reasons).toEqual([]);
    expect(result.signer).toHaveProperty('keyId');
  });

  it.each([
    ['signature-mismatch_fail.sigstore.json', /signature mismatch/],
    ['message-digest-mismatch_fail.sigstore.json', /message digest/],
    ['dsse-mismatch-envelope_fail.sigstore.json', /TLOG_BODY_ERROR/],
    ['set-invalid-signature_fail.sigstore.json', /inclusion promise/],
    ['bundle-from-wrong-instance_fail.sigstore.json', /CERTIFICATE_ERROR/],
  ])('%s is rejected', async (file, reason) => {
    const result = await verifyBlobBundle(sc(file), aTxt, { trustedRoot: publicGood, identity: conformanceIdentity });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(reason);
  });
});

describe('fixtures/sigstore-go (EXPECTATIONS.md)', needsShared('fixtures/sigstore-go', 'fixtures/sigstore-conformance'), () => {
  let provenance: Buffer;
  const provenanceIdentity: IdentityPolicy = {
    subjectRegexp: 'https://github\\.com/sigstore/sigstore-js/\\.github/workflows/release\\.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com',
  };
  let sha512: string;
  beforeAll(() => {
    readPublicGood();
    provenance = sg('sigstore.js@2.0.0-provenance.sigstore.json');
    const statement = JSON.parse(Buffer.from(JSON.parse(provenance.toString()).dsseEnvelope.payload, 'base64').toString()) as { subject: { digest: { sha512: string } }[] };
    sha512 = statement.subject[0]!.digest.sha512;
  });

  it('the npm provenance bundle (v0.1, DSSE, intoto 0.0.2) verifies against the tarball digest', async () => {
    expect(sha512.startsWith('46d4e2f7')).toBe(true);
    const result = await verifyBlobBundle(provenance, { digest: `sha512:${sha512}` }, { trustedRoot: publicGood, identity: provenanceIdentity });
    expect(result.reasons).toEqual([]);
    expect(result.bundleVersion).toBe('0.1');
  });

  it('the npm provenance bundle is rejected for another tarball digest', async () => {
    const other = `sha512:${'0'.repeat(128)}`;
    const result = await verifyBlobBundle(provenance, { digest: other }, { trustedRoot: publicGood, identity: provenanceIdentity });
    expect(result.ok).toBe(false);
  });

  it('a DSSE envelope with 2 signatures is rejected', async () => {
    expect(() => parseBundle(sg('dsse-2sigs.sigstore.json'))).toThrow(expect.objectContaining({ code: 'INVALID_BUNDLE' }));
    const result = await verifyBlobBundle(sg('dsse-2sigs.sigstore.json'), Buffer.from('x'), { trustedRoot: publicGood, identity: provenanceIdentity });
    expect(result.ok).toBe(false);
  });

  describe('public-key-validity: a keyed bundle with one RFC 3161 timestamp (2026-06-04T17:43:29Z), no tlog', () => {
    let root: TrustedRoot;
    let bundle: Buffer;
    let pem: Buffer;
    const content = Buffer.from('test content');
    beforeAll(() => {
      root = loadTrustedRoot(sg('public-key-validity.json'));
      bundle = sg('public-key-validity.sigstore.json');
      pem = sg('public-key-validity.pem');
    });

    it('verifies when the key validity covers the timestamp', async () => {
      const key = { publicKey: pem, validFor: { start: new Date('2026-06-04T00:00:00Z'), end: new Date('2026-06-05T00:00:00Z') } };
      const result = await verifyBlobBundle(bundle, content, { trustedRoot: root, key, insecureIgnoreTlog: true });
      expect(result.reasons).toEqual([]);
    });

    it('verifies with no validity window given', async () => {
      const result = await verifyBlobBundle(bundle, content, { trustedRoot: root, key: pem, insecureIgnoreTlog: true, timestampThreshold: 1 });
      expect(result.ok).toBe(true);
    });

    it('is rejected when the key is only valid in 1970', async () => {
      const key = { publicKey: pem, validFor: { start: new Date('1970-01-01T00:00:00Z'), end: new Date('1970-12-31T00:00:00Z') } };
      const result = await verifyBlobBundle(bundle, content, { trustedRoot: root, key, insecureIgnoreTlog: true });
      expect(result.ok).toBe(false);
      expect(result.reasons.join()).toMatch(/PUBLIC_KEY_ERROR/);
    });

    it('is rejected for another artifact', async () => {
      const result = await verifyBlobBundle(bundle, Buffer.from('test content!'), { trustedRoot: root, key: pem, insecureIgnoreTlog: true });
      expect(result.ok).toBe(false);
    });

    it('is rejected without --insecure-ignore-tlog (it has no log entry)', async () => {
      const result = await verifyBlobBundle(bundle, content, { trustedRoot: root, key: pem });
      expect(result.reasons.join()).toMatch(/no transparency log entry/);
    });
  });
});

describe('fixtures/cosign/oci-attestation.sigstore.json (cosign v3 referrer bundle)', needsShared('fixtures/cosign', 'fixtures/sigstore-go'), () => {
  let bundle: Buffer;
  let root: TrustedRoot;
  beforeAll(() => {
    bundle = cosign('oci-attestation.sigstore.json');
    root = loadTrustedRoot(cosign('trusted_root_pgi.json'));
  });
  const digest = { digest: 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4' };
  const issuer = 'https://github.com/login/oauth';

  it('verifies with SAN ^cody@soyland\\.com$ and the GitHub OAuth issuer', async () => {
    const result = await verifyBlobBundle(bundle, digest, { trustedRoot: root, identity: { subjectRegexp: 'cody@soyland\\.com', issuer } });
    expect(result.reasons).toEqual([]);
    expect(result.statement?.predicateType).toBe('https://cosign.sigstore.dev/attestation/v1');
  });

  it.each([
    [{ subjectRegexp: 'cody@soyland', issuer }, /identity/],
    [{ subjectRegexp: 'cody@soyland\\.co', issuer }, /identity/],
    [{ subjectRegexp: 'ody@soyland\\.com', issuer }, /identity/],
    [{ subject: 'cody@soyland.co', issuer }, /identity/],
    [{ subject: 'cody@soyland.com', issuerRegexp: 'https://github\\.com' }, /issuer/],
    [{ subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth/' }, /issuer/],
  ])('an identity policy that only matches part of the value is refused: %o', async (identity, reason) => {
    const result = await verifyBlobBundle(bundle, digest, { trustedRoot: root, identity });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(reason);
  });

  it('a wide regexp that matches the whole value is accepted', async () => {
    const result = await verifyBlobBundle(bundle, digest, { trustedRoot: root, identity: { subjectRegexp: '.*@soyland\\.com', issuerRegexp: 'https://github\\.com/.*' } });
    expect(result.ok).toBe(true);
  });

  it('a key instead of an identity is refused for a keyless bundle', async () => {
    const result = await verifyBlobBundle(bundle, digest, { trustedRoot: root, key: sg('public-key-validity.pem') });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/keyless/);
  });

  it('bad options throw USAGE', async () => {
    await expect(verifyBlobBundle(bundle, digest, { trustedRoot: root })).rejects.toSatisfy((e) => isTollgateError(e, 'USAGE'));
    await expect(verifyBlobBundle(bundle, digest, { trustedRoot: root, identity: { subjectRegexp: '(', issuer } })).rejects.toSatisfy((e) => isTollgateError(e, 'USAGE'));
    await expect(verifyBlobBundle(bundle, digest, { trustedRoot: root, identity: { subject: 'a', subjectRegexp: 'a', issuer } })).rejects.toSatisfy((e) => isTollgateError(e, 'USAGE'));
    await expect(verifyBlobBundle(bundle, digest, { trustedRoot: root, identity: { subject: 'a' } })).rejects.toSatisfy((e) => isTollgateError(e, 'USAGE'));
  });
});
