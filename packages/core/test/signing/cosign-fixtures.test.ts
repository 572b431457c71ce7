import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadTrustedRoot,
  verifyImageAttestations,
  verifyImageSignatures,
  type FetchedSignatures,
  type TrustedRoot,
} from '@tollgate/core';
import { needsShared, sharedPath } from '../../../../test/support/shared.js';

const FIXTURES = sharedPath('fixtures');
const read = (path: string) => readFileSync(join(FIXTURES, path));
// Real cosign output: skipped, with the reason, without ../shared (the data is read in beforeAll, so nothing is read then).
const COSIGN_FIXTURES = needsShared('fixtures/cosign', 'fixtures/sigstore-conformance');

describe('cosign v3 referrer bundle (oci-attestation.sigstore.json), verified in its fetched form', COSIGN_FIXTURES, () => {
  const digest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  const fetched = (bytes: Uint8Array, forDigest = digest): FetchedSignatures => ({
    digest: forDigest,
    problems: [],
    signatures: [{ kind: 'bundle', id: 'referrer fixture', source: 'referrers-api', manifestDigest: 'sha256:' + 'a'.repeat(64), bytes }],
  });
  const trust = { trustedRoot: undefined as unknown as TrustedRoot, identity: { subjectRegexp: 'cody@soyland\\.com', issuer: 'https://github.com/login/oauth' } };
  beforeAll(() => {
    trust.trustedRoot = loadTrustedRoot(read('cosign/trusted_root_pgi.json'));
  });

  it('verifies as an attestation of its predicate type', async () => {
    const result = await verifyImageAttestations(digest, '127.0.0.1:60943/repo', fetched(read('cosign/oci-attestation.sigstore.json')), trust, { predicateType: 'https://cosign.sigstore.dev/attestation/v1' });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.examined[0]!.signer).toEqual({ identity: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' });
  });

  it('does not satisfy another type, is not an image signature, and does not verify for another digest', async () => {
    const bytes = read('cosign/oci-attestation.sigstore.json');
    expect((await verifyImageAttestations(digest, undefined, fetched(bytes), trust, { predicateType: 'https://slsa.dev/provenance/v1' })).ok).toBe(false);
    const asSignature = await verifyImageSignatures(digest, undefined, fetched(bytes), trust);
    expect(asSignature.ok).toBe(false);
    expect(asSignature.examined[0]!.reasons[0]).toMatch(/not https:\/\/sigstore.dev\/cosign\/sign\/v1/);
    const other = 'sha256:' + 'b'.repeat(64);
    const wrongDigest = await verifyImageAttestations(other, undefined, fetched(bytes, other), trust, { predicateType: 'https://cosign.sigstore.dev/attestation/v1' });
    expect(wrongDigest.examined[0]!.reasons[0]).toMatch(/not a subject of the in-toto statement/);
  });
});

describe('legacy keyed .sig layer (cosign-legacy-keyed-busybox.json)', COSIGN_FIXTURES, () => {
  const fixture = {} as { payload: string; signature: string; publicKey: string };
  const digest = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b';
  const trust = {} as { trustedRoot: TrustedRoot; key: string };
  let payload: Uint8Array;
  beforeAll(() => {
    Object.assign(fixture, JSON.parse(read('cosign/cosign-legacy-keyed-busybox.json').toString()));
    Object.assign(trust, { trustedRoot: loadTrustedRoot(read('sigstore-conformance/trusted_root.public-good.json')), key: fixture.publicKey });
    payload = new TextEncoder().encode(fixture.payload);
  });
  const fetched = (payload: Uint8Array, forDigest = digest): FetchedSignatures => ({
    digest: forDigest,
    problems: [],
    signatures: [{ kind: 'legacy-signature', id: 'sha256-f3cf.sig layer 0', source: 'legacy-tag', bytes: payload, annotations: { 'dev.cosignproject.cosign/signature': fixture.signature } }],
  });

  it('verifies with the key, the digest and the docker-reference', async () => {
    const result = await verifyImageSignatures(digest, undefined, fetched(payload), trust, { insecureIgnoreTlog: true, repository: 'registry-testing.svc.lan/busybox' });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect((result.examined[0]!.payload as { critical: { type: string } }).critical.type).toBe('cosign container image signature');
  });

  it('every flipped payload byte is rejected', async () => {
    for (let i = 0; i < payload.length; i += 7) {
      const flipped = Uint8Array.from(payload);
      flipped[i]! ^= 0x01;
      const result = await verifyImageSignatures(digest, undefined, fetched(flipped), trust, { insecureIgnoreTlog: true });
      expect(result.ok, `byte ${i}`).toBe(false);
    }
  });

  it('another repository, another digest, a missing tlog entry: each fails with its reason', async () => {
    const repo = await verifyImageSignatures(digest, undefined, fetched(payload), trust, { insecureIgnoreTlog: true, repository: 'docker.io/library/busybox' });
    expect(repo.examined[0]!.reasons[0]).toMatch(/names repository "registry-testing.svc.lan\/busybox", not docker.io\/library\/busybox/);
    const other = 'sha256:' + 'c'.repeat(64);
    const wrong = await verifyImageSignatures(other, undefined, fetched(payload, other), trust, { insecureIgnoreTlog: true });
    expect(wrong.examined[0]!.reasons[0]).toMatch(/names manifest sha256:f3cf.*not sha256:cccc/);
    const tlog = await verifyImageSignatures(digest, undefined, fetched(payload), trust);
    expect(tlog.examined[0]!.reasons[0]).toMatch(/no transparency log entry/);
  });
});

describe('legacy keyless .sig layer with a rekord SET (cosign-legacy-keyless-kubewarden.json)', COSIGN_FIXTURES, () => {
  const fixture = {} as { payload: string; signature: string; certificate: string; rekorBundle: unknown };
  const digest = 'sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e';
  let trustedRoot: TrustedRoot;
  const annotations: Record<string, string> = {};
  let payload: Uint8Array;
  const trust = { trustedRoot: undefined as unknown as TrustedRoot, identity: { subject: 'flavio@castelli.me', issuerRegexp: '.*' } };
  beforeAll(() => {
    Object.assign(fixture, JSON.parse(read('cosign/cosign-legacy-keyless-kubewarden.json').toString()));
    trust.trustedRoot = trustedRoot = loadTrustedRoot(read('sigstore-conformance/trusted_root.public-good.json'));
    Object.assign(annotations, {
      'dev.cosignproject.cosign/signature': fixture.signature,
      'dev.sigstore.cosign/certificate': fixture.certificate,
      'dev.sigstore.cosign/bundle': JSON.stringify(fixture.rekorBundle),
    });
    payload = new TextEncoder().encode(fixture.payload);
  });
  const fetched = (payload: Uint8Array, extra: Record<string, string> = {}): FetchedSignatures => ({
    digest,
    problems: [],
    signatures: [{ kind: 'legacy-signature', id: 'kubewarden.sig layer 0', source: 'legacy-tag', bytes: payload, annotations: { ...annotations, ...extra } }],
  });
  const options = { ctlogThreshold: 0, allowCertificateWithoutIssuer: true, repository: 'registry-testing.svc.lan/kubewarden/disallow-service-nodeport' };

  it('verifies: signature, chain to the Fulcio v1 root, SET, logged body, log time inside the certificate validity', async () => {
    const result = await verifyImageSignatures(digest, undefined, fetched(payload), trust, options);
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.examined[0]!.signer).toEqual({ identity: 'flavio@castelli.me', issuer: undefined });
  });

  it('fails on a changed payload, another identity, a forged SET, and without the SCT waiver', async () => {
    const flipped = Uint8Array.from(payload);
    flipped[10]! ^= 1;
    expect((await verifyImageSignatures(digest, undefined, fetched(flipped), trust, options)).examined[0]!.reasons[0]).toMatch(/TLOG_BODY_ERROR: the logged hash/);
    const other = await verifyImageSignatures(digest, undefined, fetched(payload), { trustedRoot, identity: { subject: 'mallory@castelli.me', issuerRegexp: '.*' } }, options);
    expect(other.examined[0]!.reasons[0]).toMatch(/does not match "mallory@castelli.me"/);
    const bundle = structuredClone(fixture.rekorBundle) as { SignedEntryTimestamp: string };
    bundle.SignedEntryTimestamp = Buffer.from(Buffer.from(bundle.SignedEntryTimestamp, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64');
    const forged = await verifyImageSignatures(digest, undefined, fetched(payload, { 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) }), trust, options);
    expect(forged.examined[0]!.reasons[0]).toMatch(/SET does not verify/);
    const strict = await verifyImageSignatures(digest, undefined, fetched(payload), trust, { repository: options.repository });
    expect(strict.examined[0]!.reasons[0]).toMatch(/SCT/);
  });
});
