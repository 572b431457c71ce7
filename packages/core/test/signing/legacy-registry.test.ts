import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attestImage,
  fetchSignatures,
  legacyTag,
  loadTrustedRoot,
  parseManifest,
  signImage,
  verifyImage,
  type TrustedRoot,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../../../../test/support/sigstore-mock.js';
import { clientFor, newKey, pushTestImage, type TestKey } from './helpers.js';

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let trustedRoot: TrustedRoot;
let signer: TestKey;

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  trustedRoot = loadTrustedRoot(sigstore.trustedRootJson);
  signer = newKey();
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), sigstore?.stop()]);
});

describe('legacy sha256-<hex>.sig / .att: written with --legacy, read back through the registry', () => {
  it('keyed with a Rekor entry: the .sig layer carries the signature and the SET bundle annotation, and verifies with the log', async () => {
    const client = clientFor(registry);
    const digest = await pushTestImage(registry, 'legacy/keyed:v1', { f: 'keyed' });
    await signImage(`${registry.host}/legacy/keyed:v1`, { key: signer.key, rekorUrl: sigstore.rekorUrl }, { client, legacy: true, annotations: { ci: 'yes' } });
    const raw = await client.getManifest('legacy/keyed', legacyTag(digest, 'sig'));
    const parsed = parseManifest(raw.bytes, raw.mediaType);
    const layer = parsed.kind === 'image' ? parsed.manifest.layers[0]! : undefined;
    expect(layer?.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(Object.keys(layer?.annotations ?? {}).sort()).toEqual(['dev.cosignproject.cosign/signature', 'dev.sigstore.cosign/bundle']);
    const bundle = JSON.parse(layer!.annotations!['dev.sigstore.cosign/bundle']!);
    expect(Object.keys(bundle.Payload).sort()).toEqual(['body', 'integratedTime', 'logID', 'logIndex']);

    const result = await verifyImage(`${registry.host}/legacy/keyed:v1`, { trustedRoot, key: signer.publicPem }, { client, annotations: { ci: 'yes' } });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.examined[0]).toMatchObject({ source: 'legacy-tag', format: 'legacy', tlogEntries: 1 });
  });

  it('keyless: certificate + SET; identity checked; a SET from an unknown log fails', async () => {
    const client = clientFor(registry);
    await pushTestImage(registry, 'legacy/keyless:v1', { f: 'keyless' });
    const token = sigstore.mintToken('builder@example.com');
    await signImage(`${registry.host}/legacy/keyless:v1`, { identityToken: token, fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl }, { client, legacy: true });
    const identity = { subject: 'builder@example.com', issuer: sigstore.issuer };
    const ok = await verifyImage(`${registry.host}/legacy/keyless:v1`, { trustedRoot, identity }, { client });
    expect(ok.reasons).toEqual([]);
    expect(ok.ok).toBe(true);
    const wrong = await verifyImage(`${registry.host}/legacy/keyless:v1`, { trustedRoot, identity: { ...identity, subject: 'other@example.com' } }, { client });
    expect(wrong.examined[0]!.reasons[0]).toMatch(/does not match "other@example.com"/);
    const otherRoot = loadTrustedRoot((await startOtherRoot()).trustedRootJson);
    const foreign = await verifyImage(`${registry.host}/legacy/keyless:v1`, { trustedRoot: otherRoot, identity }, { client });
    expect(foreign.ok).toBe(false);
  });

  it('legacy .att: a DSSE envelope layer with predicateType annotation verifies for its type only', async () => {
    const client = clientFor(registry);
    const digest = await pushTestImage(registry, 'legacy/att:v1', { f: 'att' });
    await attestImage(`${registry.host}/legacy/att:v1`, { key: signer.key, rekorUrl: sigstore.rekorUrl }, { client, legacy: true, predicateType: 'https://openvex.dev/ns', predicate: { statements: [] } });
    const fetched = await fetchSignatures(client, 'legacy/att', digest, { include: 'attestations' });
    expect(fetched.signatures).toHaveLength(1);
    expect(fetched.signatures[0]).toMatchObject({ kind: 'legacy-attestation', id: `${legacyTag(digest, 'att')} layer 0` });
    const ok = await verifyImage(`${registry.host}/legacy/att:v1`, { trustedRoot, key: signer.publicPem }, { client, predicateType: 'https://openvex.dev/ns' });
    expect(ok.reasons).toEqual([]);
    expect(ok.ok).toBe(true);
    const other = await verifyImage(`${registry.host}/legacy/att:v1`, { trustedRoot, key: signer.publicPem }, { client, predicateType: 'https://cyclonedx.org/bom' });
    expect(other.ok).toBe(false);
    expect(other.examined[0]!.reasons[0]).toMatch(/not https:\/\/cyclonedx.org\/bom/);
  });
});

let other: SigstoreMock | undefined;
async function startOtherRoot(): Promise<SigstoreMock> {
  other ??= await startSigstoreMock();
  return other;
}
afterAll(async () => {
  await other?.stop();
});
