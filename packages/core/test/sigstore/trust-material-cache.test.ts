import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoot, signBlob, verifyBlobBundle, type TrustedRoot } from '@tollgate/core';
import { startSigstoreMock, type SigstoreMock } from '../../../../test/support/sigstore-mock.js';

/**
 * The trust material (parsed CA and TSA certificates, their DER and keys) is kept per TrustedRoot object, and the
 * signing certificate is encoded once per verification. Neither may let one verification vouch for another:
 * two roots never share material, and a bad bundle fails however many good ones verified before it.
 */
const IDENTITY = 'release@tollgate.test';
const artifact = Buffer.from('cached trust material\n');

interface Instance {
  mock: SigstoreMock;
  root: TrustedRoot;
  bundle: Record<string, any>;
}

let a: Instance;
let b: Instance;

async function instance(): Promise<Instance> {
  const mock = await startSigstoreMock();
  const bundle = (await signBlob(artifact, {
    identityToken: mock.mintToken(IDENTITY),
    fulcioUrl: mock.fulcioUrl,
    rekorUrl: mock.rekorUrl,
    tsaUrl: mock.tsaUrl,
  })) as unknown as Record<string, any>;
  return { mock, root: loadTrustedRoot(mock.trustedRootJson), bundle };
}

function verify(bundle: unknown, root: TrustedRoot, on: Uint8Array = artifact) {
  return verifyBlobBundle(bundle, on, { trustedRoot: root, identity: { subject: IDENTITY, issuer: a.mock.issuer } });
}

/** A deep copy of the bundle with one base64 field's bytes changed by `edit`. */
function tampered(bundle: Record<string, any>, path: (copy: Record<string, any>) => [Record<string, any>, string], edit: (bytes: Buffer) => void): Record<string, any> {
  const copy = structuredClone(bundle);
  const [holder, field] = path(copy);
  const bytes = Buffer.from(holder[field] as string, 'base64');
  edit(bytes);
  holder[field] = bytes.toString('base64');
  return copy;
}

beforeAll(async () => {
  [a, b] = await Promise.all([instance(), instance()]);
  expect(a.mock.issuer).toBe(b.mock.issuer);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.mock.stop(), b?.mock.stop()]);
});

describe('trust material kept per trusted root', () => {
  it('two roots never share material: each verifies only its own bundles, in any order, warm or cold', async () => {
    for (let round = 0; round < 3; round++) {
      expect((await verify(a.bundle, a.root)).ok).toBe(true);
      expect((await verify(a.bundle, b.root)).ok).toBe(false);
      expect((await verify(b.bundle, b.root)).ok).toBe(true);
      expect((await verify(b.bundle, a.root)).ok).toBe(false);
    }
  });

  it('the certificate chain and SCT of the other instance fail against a warm root', async () => {
    expect((await verify(a.bundle, a.root)).ok).toBe(true);
    // A's signature and log entry, with B's certificate: B's Fulcio is not in A's root.
    const foreignCertificate = structuredClone(a.bundle);
    foreignCertificate.verificationMaterial.certificate = b.bundle.verificationMaterial.certificate;
    const result = await verify(foreignCertificate, a.root);
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/CERTIFICATE_ERROR|certificate/i);
    // A's bundle with B's timestamp: B's TSA is not in A's root, and A's log time alone cannot stand in for it silently.
    const foreignTimestamp = structuredClone(a.bundle);
    foreignTimestamp.verificationMaterial.timestampVerificationData = b.bundle.verificationMaterial.timestampVerificationData;
    expect((await verify(foreignTimestamp, a.root)).ok).toBe(false);
    expect((await verify(a.bundle, a.root)).ok).toBe(true);
  });

  it('a tampered bundle still fails after good ones verified against the same root, and good ones still pass after it', async () => {
    const flip = (bytes: Buffer) => (bytes[bytes.length - 5]! ^= 0x01); // inside the trailing signature value
    // Timestamps are checked first, so a changed artifact signature fails there: the TSA signed the original.
    const cases: [string, Record<string, any>, RegExp][] = [
      ['signing certificate signature', tampered(a.bundle, (c) => [c.verificationMaterial.certificate, 'rawBytes'], flip), /CERTIFICATE_ERROR/],
      ['RFC 3161 timestamp signature', tampered(a.bundle, (c) => [c.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0], 'signedTimestamp'], flip), /TIMESTAMP_ERROR/],
      ['artifact signature', tampered(a.bundle, (c) => [c.messageSignature, 'signature'], flip), /TIMESTAMP_ERROR/],
      ['log entry inclusion promise', tampered(a.bundle, (c) => [c.verificationMaterial.tlogEntries[0].inclusionPromise, 'signedEntryTimestamp'], flip), /TLOG_INCLUSION_PROMISE_ERROR/],
    ];
    for (const [what, bundle, reason] of cases) {
      expect((await verify(a.bundle, a.root)).ok, `good before ${what}`).toBe(true);
      const result = await verify(bundle, a.root);
      expect(result.ok, what).toBe(false);
      expect(result.reasons.join(), what).toMatch(reason);
      expect((await verify(bundle, a.root)).ok, `${what}, again`).toBe(false);
    }
    expect((await verify(a.bundle, a.root)).ok).toBe(true);
    expect((await verify(a.bundle, a.root, Buffer.from('another artifact\n'))).ok).toBe(false);
  });

  it('the same root loaded twice verifies the same way through either object', async () => {
    const again = loadTrustedRoot(a.mock.trustedRootJson);
    expect((await verify(a.bundle, again)).ok).toBe(true);
    expect((await verify(b.bundle, again)).ok).toBe(false);
  });
});
