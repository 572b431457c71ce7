import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  fetchSignatures,
  parseManifest,
  publicGoodTrustedRoot,
  referrersTag,
  signImage,
  verifyImage,
  verifyImageSignatures,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { clientFor, newKey, pushTestImage, type TestKey } from './helpers.js';

let registry: RunningRegistry;
let signer: TestKey;
let other: TestKey;
let digest: string;

beforeAll(async () => {
  registry = await startRegistry();
  signer = newKey();
  other = newKey();
  digest = await pushTestImage(registry, 'app/keyed:v1', { 'etc/hello': 'hello\n' });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
});

const trust = (key: TestKey) => ({ trustedRoot: publicGoodTrustedRoot(), key: key.publicPem });
const noTlog = { insecureIgnoreTlog: true } as const;

describe('keyed sign + verify through the referrers tag fallback (docker-registry 2.8 has no referrers API)', () => {
  it('signs the digest a tag names, attaches a v3 referrer plus the sha256-<hex> index, and verifies', async () => {
    const client = clientFor(registry);
    const signed = await signImage(`${registry.host}/app/keyed:v1`, { key: signer.key, tlogUpload: false }, { client, annotations: { team: 'core' } });
    expect(signed.digest).toBe(digest);
    expect(signed.reference).toBe(`${registry.host}/app/keyed@${digest}`);
    expect(signed.referrer?.fallbackTag).toBe(referrersTag(digest));

    // The registry holds what cosign v3 writes: an index under the tag listing an artifact manifest with subject.
    const index = await client.getManifest('app/keyed', referrersTag(digest));
    const parsedIndex = parseManifest(index.bytes, index.mediaType);
    expect(parsedIndex.kind).toBe('index');
    const entry = parsedIndex.kind === 'index' ? parsedIndex.index.manifests[0]! : undefined;
    expect(entry?.artifactType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(entry?.annotations?.['dev.sigstore.bundle.predicateType']).toBe(COSIGN_SIGN_PREDICATE_TYPE);
    expect(entry?.annotations?.['dev.sigstore.bundle.content']).toBe('dsse-envelope');
    const referrer = await client.getManifest('app/keyed', entry!.digest);
    const manifest = parseManifest(referrer.bytes, referrer.mediaType);
    expect(manifest.kind === 'image' && manifest.manifest.subject?.digest).toBe(digest);
    expect(manifest.kind === 'image' && manifest.manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');

    const result = await verifyImage(`${registry.host}/app/keyed:v1`, trust(signer), { client, ...noTlog, annotations: { team: 'core' } });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.digest).toBe(digest);
    expect(result.examined).toHaveLength(1);
    expect(result.examined[0]).toMatchObject({ ok: true, source: 'fallback-tag', format: 'bundle', predicateType: COSIGN_SIGN_PREDICATE_TYPE });
  });

  it('fails with another key, naming the signature and why', async () => {
    const result = await verifyImage(`${registry.host}/app/keyed:v1`, trust(other), { client: clientFor(registry), ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.examined).toHaveLength(1);
    expect(result.examined[0]!.ok).toBe(false);
    expect(result.examined[0]!.reasons.join(' ')).toMatch(/signature/i);
    expect(result.reasons[0]).toMatch(/none of the 1 examined/);
  });

  it('fails when an annotation asked for was not signed', async () => {
    const result = await verifyImage(`${registry.host}/app/keyed:v1`, trust(signer), { client: clientFor(registry), ...noTlog, annotations: { team: 'other' } });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/lacks the annotation team=other/);
  });

  it('requires a transparency-log entry unless it is waived', async () => {
    const result = await verifyImage(`${registry.host}/app/keyed:v1`, trust(signer), { client: clientFor(registry) });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/no transparency log entry/);
  });

  it('an unsigned image fails with "no signatures"', async () => {
    const unsigned = await pushTestImage(registry, 'app/unsigned:v1', { a: 'b' });
    const result = await verifyImage(`${registry.host}/app/unsigned:v1`, trust(signer), { client: clientFor(registry), ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.digest).toBe(unsigned);
    expect(result.examined).toEqual([]);
    expect(result.reasons[0]).toMatch(/no signatures are attached/);
  });

  it('moved tag: signed by digest, the tag retagged to another image, verifying the tag fails for the new digest', async () => {
    const client = clientFor(registry);
    const first = await pushTestImage(registry, 'app/moved:v1', { version: '1' });
    await signImage(`${registry.host}/app/moved@${first}`, { key: signer.key, tlogUpload: false }, { client });
    expect((await verifyImage(`${registry.host}/app/moved:v1`, trust(signer), { client, ...noTlog })).ok).toBe(true);
    const second = await pushTestImage(registry, 'app/moved:v1', { version: '2' });
    const moved = await verifyImage(`${registry.host}/app/moved:v1`, trust(signer), { client, ...noTlog });
    expect(moved.ok).toBe(false);
    expect(moved.digest).toBe(second);
    expect(moved.reasons[0]).toMatch(/no signatures are attached/);
    // The original digest still verifies.
    expect((await verifyImage(`${registry.host}/app/moved@${first}`, trust(signer), { client, ...noTlog })).ok).toBe(true);
  });

  it('the pure step verifies the same fetched bytes repeatedly without I/O', async () => {
    const client = clientFor(registry);
    const fetched = await fetchSignatures(client, 'app/keyed', digest, { include: 'signatures' });
    const once = await verifyImageSignatures(digest, undefined, fetched, trust(signer), noTlog);
    const twice = await verifyImageSignatures(digest, undefined, fetched, trust(signer), noTlog);
    expect(once.ok).toBe(true);
    expect(twice).toEqual(once);
  });

  it('registry referrers mode never writes no fallback tag (so a registry without the API finds nothing)', async () => {
    const client = clientFor(registry);
    const d = await pushTestImage(registry, 'app/never:v1', { x: 'y' });
    const signed = await signImage(`${registry.host}/app/never:v1`, { key: signer.key, tlogUpload: false }, { client, referrersMode: 'never' });
    expect(signed.referrer?.fallbackTag).toBeUndefined();
    const result = await verifyImage(`${registry.host}/app/never@${d}`, trust(signer), { client, ...noTlog });
    expect(result.ok).toBe(false);
  });

  it('two signatures: the index keeps both, and each counts', async () => {
    const client = clientFor(registry);
    await pushTestImage(registry, 'app/two:v1', { two: '2' });
    await signImage(`${registry.host}/app/two:v1`, { key: signer.key, tlogUpload: false }, { client });
    await signImage(`${registry.host}/app/two:v1`, { key: other.key, tlogUpload: false }, { client });
    const result = await verifyImage(`${registry.host}/app/two:v1`, trust(other), { client, ...noTlog });
    expect(result.ok).toBe(true);
    expect(result.examined.map((e) => e.ok).sort()).toEqual([false, true]);
  });
});
