import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, publicKeyId, verifyNotationImage, type RegistryClient } from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { caOptions, DOCKER_TARGET, fixture, NOTATION_GO, OCI_TARGET, store, x5c } from './fixtures.js';
import { generated } from './generated.js';
import { makeCert, rsaKey, signEnvelope, simplePki } from './pki.js';
import { clientFor, pushNotationSignature, pushTestImage } from './registry-helpers.js';

let registry: RunningRegistry;
let client: RegistryClient;

beforeAll(async () => {
  registry = await startRegistry();
  client = clientFor(registry);
});
afterAll(async () => {
  await registry?.stop();
});

describe('verifyNotationImage against a real registry (docker-registry 2.8, referrers tag schema)', () => {
  // docker-registry refuses the fixture manifests themselves (their config and layer blobs are not public), so the
  // signature referrers are pushed with subject = the fixture descriptor, and the target is computed from the
  // fixture's bytes: sha256(oci-layout-manifest-19dbd2e4.json) is the digest jws_signature.sig signed.
  it('finds and verifies notation-go\'s jws_signature.sig attached to the OCI manifest it signed', NOTATION_GO, async () => {
    const manifest = fixture('oci-layout-manifest-19dbd2e4.json');
    const target = { digest: digestOf(manifest), size: manifest.byteLength, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    expect(target).toEqual(OCI_TARGET);
    await pushNotationSignature(client, 'fixtures/alpine', target, fixture('jws_signature.sig'));
    const result = await verifyNotationImage(client, 'fixtures/alpine', target, { trustStore: store({ ca: [x5c('jws_signature.sig', 0)] }), trustedIdentities: ['*'], level: 'strict' });
    expect(result.ok, result.reasons.join()).toBe(true);
    expect(result.verified?.signer?.subject).toBe('CN=alpine,O=Notary,L=Seattle,ST=WA,C=US');
  });

  it('ca_valid_sig_env.json attached to its docker manifest descriptor verifies; the expired one follows the level', NOTATION_GO, async () => {
    await pushNotationSignature(client, 'fixtures/docker', DOCKER_TARGET, fixture('ca_valid_sig_env.json'));
    expect((await verifyNotationImage(client, 'fixtures/docker', DOCKER_TARGET, caOptions('strict'))).ok).toBe(true);
    await pushNotationSignature(client, 'fixtures/expired', DOCKER_TARGET, fixture('ca_expired_sig_env.json'));
    const strict = await verifyNotationImage(client, 'fixtures/expired', DOCKER_TARGET, caOptions('strict'));
    expect(strict.ok).toBe(false);
    expect(strict.reasons.join()).toMatch(/expiry: the signature expired/);
    const permissive = await verifyNotationImage(client, 'fixtures/expired', DOCKER_TARGET, caOptions('permissive'));
    expect(permissive.ok).toBe(true);
    expect(permissive.warnings.join()).toMatch(/expiry \(logged at permissive\)/);
  });

  it('a signature for another manifest, attached to this one, does not verify (the signed descriptor must match)', async () => {
    const image = await pushTestImage(registry, 'moved/app', 'v1', 'hello');
    await pushNotationSignature(client, 'moved/app', image, generated.fixture('ca_valid_sig_env.json'));
    const result = await verifyNotationImage(client, 'moved/app', image, generated.caOptions('audit'));
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/content descriptor mismatch/);
  });

  it('a signed image of our own: the first valid signature wins over garbage ones; none → no signature', async () => {
    const pki = simplePki();
    const image = await pushTestImage(registry, 'own/app', 'v1', 'signed content');
    const options = { trustStore: store({ ca: [pki.root] }), trustedIdentities: ['x509.subject: C=US, ST=WA, O=tollgate-test, CN=Test Signer'], level: 'strict' as const };
    expect((await verifyNotationImage(client, 'own/app', image, options)).reasons).toEqual([`no notation signature is associated with ${image.digest}`]);
    await pushNotationSignature(client, 'own/app', image, Buffer.from('{"garbage":true}'));
    await pushNotationSignature(client, 'own/app', image, signEnvelope({ key: rsaKey(), alg: 'PS256', chain: [pki.leaf, pki.root], target: image }));
    await pushNotationSignature(client, 'own/app', image, Buffer.from('x'), { layerMediaType: 'application/cose' });
    const failing = await verifyNotationImage(client, 'own/app', image, options);
    expect(failing.ok).toBe(false);
    expect(failing.signatures).toHaveLength(3);
    expect(failing.reasons.join('\n')).toMatch(/unexpected member "garbage"/);
    expect(failing.reasons.join('\n')).toMatch(/JWS signature does not verify/);
    expect(failing.reasons.join('\n')).toMatch(/application\/cose; tollgate verifies application\/jose\+json/);
    await pushNotationSignature(client, 'own/app', image, signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: image }));
    const passing = await verifyNotationImage(client, 'own/app', image, options);
    expect(passing.ok, passing.reasons.join()).toBe(true);
    expect(passing.signatures).toHaveLength(4);
    expect(passing.verified?.signer?.subject).toBe('CN=Test Signer,O=tollgate-test,ST=WA,C=US');
    // limits: only the first signature examined
    const limited = await verifyNotationImage(client, 'own/app', image, options, { maxSignatures: 1 });
    expect(limited.ok).toBe(false);
    expect(limited.warnings.join()).toMatch(/4 notation signatures were found; only the first 1 were examined/);
    // envelopes above the limit are refused unread
    const small = await verifyNotationImage(client, 'own/app', image, options, { maxEnvelopeBytes: 100 });
    expect(small.ok).toBe(false);
    expect(small.reasons.join()).toMatch(/over the 100-byte limit/);
    // skip fetches nothing
    const skip = await verifyNotationImage(client, 'own/app', image, { ...options, level: 'skip' });
    expect(skip).toMatchObject({ ok: true, signatures: [] });
  });

  it('with `all`, every signature that verifies is returned (what the policy engine credits), not only the first', async () => {
    const pki = simplePki();
    const second = rsaKey();
    const secondLeaf = makeCert({ cn: 'Second Signer', key: second, issuer: { cert: pki.root, key: pki.rootKey }, eku: ['1.3.6.1.5.5.7.3.3'] });
    const image = await pushTestImage(registry, 'all/app', 'v1', 'two signers');
    await pushNotationSignature(client, 'all/app', image, signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: image }));
    await pushNotationSignature(client, 'all/app', image, Buffer.from('{"garbage":true}'));
    await pushNotationSignature(client, 'all/app', image, signEnvelope({ key: second, alg: 'PS256', chain: [secondLeaf, pki.root], target: image }));
    const options = { trustStore: store({ ca: [pki.root] }), trustedIdentities: ['*'], level: 'strict' as const };
    const first = await verifyNotationImage(client, 'all/app', image, options);
    expect(first.ok).toBe(true);
    expect(first.signatures).toHaveLength(1);
    expect(first.verifiedAll).toBeUndefined();
    const all = await verifyNotationImage(client, 'all/app', image, options, { all: true });
    expect(all.ok).toBe(true);
    expect(all.signatures).toHaveLength(3);
    expect(all.verifiedAll?.map((r) => r.signer?.subject)).toEqual(['CN=Test Signer,O=tollgate-test,ST=WA,C=US', 'CN=Second Signer,O=tollgate-test,ST=WA,C=US']);
    expect(all.verified).toBe(all.verifiedAll?.[0]);
    expect(all.verifiedAll?.map((r) => r.signer?.keyId)).toEqual([publicKeyId(pki.leafKey.publicKey), publicKeyId(second.publicKey)]);
  });

  it('a signature manifest whose subject is another manifest, or of another artifact type, is not used', async () => {
    const pki = simplePki();
    const image = await pushTestImage(registry, 'subject/app', 'v1', 'subject test');
    const envelope = signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: image });
    await pushNotationSignature(client, 'subject/app', image, envelope, { manifestSubject: { ...image, digest: 'sha256:' + '1'.repeat(64) } });
    const result = await verifyNotationImage(client, 'subject/app', image, { trustStore: store({ ca: [pki.root] }), trustedIdentities: ['*'], level: 'strict' });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/subject is sha256:1111/);
    const other = await pushTestImage(registry, 'subject/other', 'v1', 'artifact type test');
    await pushNotationSignature(client, 'subject/other', other, envelope, { artifactType: 'application/vnd.example.sbom' });
    const none = await verifyNotationImage(client, 'subject/other', other, { trustStore: store({ ca: [pki.root] }), trustedIdentities: ['*'], level: 'strict' });
    expect(none.reasons).toEqual([`no notation signature is associated with ${other.digest}`]);
  });
});
