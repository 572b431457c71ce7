import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestOptions } from 'vitest';
import { generateKeyPair, loadTrustedRoot, publicKeyPem, signBlob, verifyBlobBundle, type IdentityPolicy, type TrustedRoot as Root } from '@tollgate/core';
import { CONFORMANCE, CONFORMANCE_DIR, DEFAULT_IDENTITY, DEFAULT_ISSUER } from './conformance-cases.js';
import { generateBundles } from './generated-bundles.js';
import { publicGoodRootText } from './public-good-root.js';

const key = generateKeyPair('ecdsa-p256');
const other = generateKeyPair('ecdsa-p256');
const artifact = Buffer.from('tollgate round trip\n');
const root: Root = loadTrustedRoot(publicGoodRootText());
const keyed = { trustedRoot: root, key: publicKeyPem(key), insecureIgnoreTlog: true };

describe('signBlob (keyed) → verifyBlobBundle', () => {
  it('writes a v0.3 message-signature bundle that we verify', async () => {
    const bundle = await signBlob(artifact, { key, tlogUpload: false });
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey?.hint).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const result = await verifyBlobBundle(bundle, artifact, keyed);
    expect(result).toMatchObject({ ok: true, reasons: [], bundleVersion: '0.3', content: 'message_signature' });
  });

  it('the bundle parses with @sigstore/bundle and verifies with @sigstore/verify directly', async () => {
    const bundle = bundleFromJSON(await signBlob(artifact, { key, tlogUpload: false }));
    const empty = TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], ctlogs: [], certificateAuthorities: [], timestampAuthorities: [] });
    const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
    const material = toTrustMaterial(empty, {
      [hint]: { rawBytes: Buffer.from(key.publicKey.export({ type: 'spki', format: 'der' })), keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: undefined },
    });
    const signer = new Verifier(material, { tlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, artifact));
    expect(signer.key.asymmetricKeyType).toBe('ec');
    expect(() => new Verifier(material, { tlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, Buffer.from('other')))).toThrow();
  });

  it('a tampered artifact, signature, digest or bundle fails; the wrong key fails', async () => {
    const bundle = await signBlob(artifact, { key, tlogUpload: false });
    const tamperedArtifact = await verifyBlobBundle(bundle, Buffer.from('tollgate round trip?\n'), keyed);
    expect(tamperedArtifact.reasons.join()).toMatch(/message digest/);

    const sig = Buffer.from(bundle.messageSignature!.signature, 'base64');
    sig[sig.length - 1]! ^= 1;
    const tamperedSignature = await verifyBlobBundle({ ...bundle, messageSignature: { ...bundle.messageSignature!, signature: sig.toString('base64') } }, artifact, keyed);
    expect(tamperedSignature.reasons.join()).toMatch(/SIGNATURE_ERROR/);

    const digest = Buffer.from(bundle.messageSignature!.messageDigest!.digest, 'base64');
    digest[0]! ^= 1;
    const tamperedDigest = await verifyBlobBundle({ ...bundle, messageSignature: { ...bundle.messageSignature!, messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') } } }, artifact, keyed);
    expect(tamperedDigest.ok).toBe(false);

    const text = JSON.stringify(bundle).replace('"messageSignature"', '"messageSignatur"');
    expect((await verifyBlobBundle(Buffer.from(text), artifact, keyed)).reasons.join()).toMatch(/not a valid Sigstore bundle/);

    const wrongKey = await verifyBlobBundle(bundle, artifact, { ...keyed, key: publicKeyPem(other) });
    expect(wrongKey.reasons.join()).toMatch(/SIGNATURE_ERROR/);
  });

  it('a keyed bundle without a log entry needs insecureIgnoreTlog; tlogThreshold > 0 with it is a usage error', async () => {
    const bundle = await signBlob(artifact, { key, tlogUpload: false });
    expect((await verifyBlobBundle(bundle, artifact, { trustedRoot: root, key: publicKeyPem(key) })).reasons.join()).toMatch(/no transparency log entry/);
    await expect(verifyBlobBundle(bundle, artifact, { ...keyed, tlogThreshold: 1 })).rejects.toThrow(/tlogThreshold must be 0/);
  });

  it('refuses an Ed25519 key for sign-blob (the bundle digest is sha256 ECDSA)', async () => {
    await expect(signBlob(artifact, { key: generateKeyPair('ed25519'), tlogUpload: false })).rejects.toThrow(/ECDSA P-256/);
  });
});

/** A keyless message signature with one log entry and no timestamp, a DSSE in-toto bundle, the artifact, the trust. */
interface UpstreamCase {
  happy: any;
  dsse: any;
  aTxt: Buffer;
  options: { trustedRoot: Root; identity: IdentityPolicy };
  stop?: () => Promise<void>;
}

const SOURCES: { name: string; options: TestOptions; load: () => Promise<UpstreamCase> }[] = [
  {
    name: 'bundles signed against @sigstore/mock',
    options: {},
    load: async () => {
      const generated = await generateBundles();
      const { messageSignature, dsse, artifact, trustedRoot, identity, stop } = generated;
      return { happy: messageSignature, dsse, aTxt: artifact, options: { trustedRoot, identity }, stop };
    },
  },
  {
    name: 'sigstore-conformance bundles',
    options: CONFORMANCE,
    load: async () => ({
      happy: JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'happy-path-v0.3', 'bundle.sigstore.json'), 'utf8')),
      dsse: JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json'), 'utf8')),
      aTxt: readFileSync(join(CONFORMANCE_DIR, 'a.txt')),
      options: { trustedRoot: root, identity: { subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER } },
    }),
  },
];

for (const source of SOURCES) describe(`our checks over upstream (${source.name})`, source.options, () => {
  let happy: any;
  let dsseBundle: any;
  let aTxt: Buffer;
  let options: UpstreamCase['options'];
  let stop: UpstreamCase['stop'];
  beforeAll(async () => {
    ({ happy, dsse: dsseBundle, aTxt, options, stop } = await source.load());
  });
  afterAll(async () => {
    await stop?.();
  });

  it('the same log entry twice counts once toward the threshold', async () => {
    const entry = happy.verificationMaterial.tlogEntries[0];
    const doubled = { ...happy, verificationMaterial: { ...happy.verificationMaterial, tlogEntries: [entry, entry] } };
    const once = await verifyBlobBundle(doubled, aTxt, options);
    expect(once).toMatchObject({ ok: true, tlogEntries: 1 });
    const twice = await verifyBlobBundle(doubled, aTxt, { ...options, tlogThreshold: 2 });
    expect(twice.ok).toBe(false);
    expect(twice.reasons.join()).toMatch(/expected 2 distinct transparency log entries, found 1/);
  });

  it('a DSSE envelope whose payloadType is not in-toto is refused before anything else', async () => {
    const dsse = structuredClone(dsseBundle);
    dsse.dsseEnvelope.payloadType = 'text/plain';
    const result = await verifyBlobBundle(dsse, aTxt, options);
    expect(result.reasons.join()).toMatch(/payloadType is "text\/plain"/);
  });

  it('a message-signature bundle cannot be verified from a digest alone', async () => {
    const result = await verifyBlobBundle(happy, { digest: `sha256:${createHash('sha256').update(aTxt).digest('hex')}` }, options);
    expect(result.reasons.join()).toMatch(/artifact bytes/);
  });

  it('a keyless bundle verified with insecureIgnoreTlog still needs a trusted time, which the log gave', async () => {
    const result = await verifyBlobBundle(happy, aTxt, { ...options, insecureIgnoreTlog: true });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/TIMESTAMP_ERROR/);
  });
});

describe('log entries are told apart by log and body (sigstore-conformance rekor2-happy-path)', CONFORMANCE, () => {
  it('a copy of a log entry under another top-level logIndex is not a second entry (Rekor v2: no SET covers the index)', async () => {
    const dir = join(CONFORMANCE_DIR, 'rekor2-happy-path');
    const v2 = JSON.parse(readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'));
    const aTxt = readFileSync(join(CONFORMANCE_DIR, 'a.txt'));
    const options = { trustedRoot: loadTrustedRoot(readFileSync(join(dir, 'trusted_root.json'))), identity: { subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER } };
    expect(await verifyBlobBundle(v2, aTxt, options)).toMatchObject({ ok: true, tlogEntries: 1 });
    const entry = v2.verificationMaterial.tlogEntries[0];
    const copied = { ...v2, verificationMaterial: { ...v2.verificationMaterial, tlogEntries: [entry, { ...entry, logIndex: String(Number(entry.logIndex) + 1) }] } };
    for (const tlogThreshold of [1, 2]) {
      const result = await verifyBlobBundle(copied, aTxt, { ...options, tlogThreshold });
      expect(result.ok).toBe(false);
      expect(result.reasons.join()).toMatch(/duplicate tlog entry/);
    }
  });
});
