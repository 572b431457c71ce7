import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digestOf,
  fetchSignatures,
  legacyTag,
  MediaType,
  publicGoodTrustedRoot,
  pushBundleReferrer,
  referrersTag,
  signImage,
  verifyImage,
  verifyImageSignatures,
  type FetchedSignatures,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { clientFor, newKey, pushJunkReferrers, pushTestImage, type TestKey } from './helpers.js';

let registry: RunningRegistry;
let signer: TestKey;

beforeAll(async () => {
  registry = await startRegistry();
  signer = newKey();
}, 60_000);

afterAll(async () => {
  await registry?.stop();
});

const trust = () => ({ trustedRoot: publicGoodTrustedRoot(), key: signer.publicPem });
const noTlog = { insecureIgnoreTlog: true } as const;
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';


async function putIndex(repo: string, digest: string, manifests: unknown[]): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  await clientFor(registry).putManifest(repo, referrersTag(digest), bytes, MediaType.OciIndex);
}

describe('hostile registries: bounded, and every failure a clear reason', () => {
  it('101 referrers exceed the default limit of 100: refused before fetching any of them', async () => {
    const digest = await pushTestImage(registry, 'hostile/many:v1', { a: '1' });
    await signImage(`${registry.host}/hostile/many@${digest}`, { key: signer.key, tlogUpload: false }, { client: clientFor(registry) });
    const signed = (await clientFor(registry).referrers('hostile/many', digest)).index.manifests;
    const subject = { mediaType: MediaType.OciManifest, digest, size: (await clientFor(registry).getManifest('hostile/many', digest)).bytes.byteLength };
    const junk = await pushJunkReferrers(clientFor(registry), 'hostile/many', subject, 100);
    await putIndex('hostile/many', digest, [...signed, ...junk]);
    const result = await verifyImage(`${registry.host}/hostile/many@${digest}`, trust(), { client: clientFor(registry), ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.examined).toEqual([]);
    expect(result.reasons[0]).toMatch(/101 signatures and attestations are attached.*more than the limit of 100/);
    // With the limit raised, the genuine one verifies and the 100 junk entries fail one by one.
    const raised = await verifyImage(`${registry.host}/hostile/many@${digest}`, trust(), { client: clientFor(registry), ...noTlog, maxSignatures: 200 });
    expect(raised.ok).toBe(true);
    expect(raised.examined.filter((e) => !e.ok)).toHaveLength(100);
    expect(raised.examined.find((e) => !e.ok)!.reasons[0]).toMatch(/bundle/);
  });

  it('a referrer blob declared over 4 MiB is refused unread; one larger than declared is cut at the declared size', async () => {
    const client = clientFor(registry);
    const digest = await pushTestImage(registry, 'hostile/big:v1', { a: '2' });
    const subject = { mediaType: MediaType.OciManifest, digest, size: (await client.getManifest('hostile/big', digest)).bytes.byteLength };
    const big = randomBytes(5 * 1024 * 1024);
    await pushBundleReferrer(client, 'hostile/big', subject, big, { content: 'dsse-envelope' }); // declared = real size, 5 MiB
    // A second referrer naming the same 5 MiB blob but declaring 1000 bytes.
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: BUNDLE_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
      layers: [{ mediaType: BUNDLE_TYPE, digest: digestOf(big), size: 1000 }],
      subject,
    };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const liar = await client.putManifest('hostile/big', digestOf(bytes), bytes, MediaType.OciManifest);
    await putIndex('hostile/big', digest, [
      ...(await client.referrers('hostile/big', digest)).index.manifests,
      { mediaType: MediaType.OciManifest, digest: liar, size: bytes.byteLength, artifactType: BUNDLE_TYPE },
    ]);
    const started = Date.now();
    const result = await verifyImage(`${registry.host}/hostile/big@${digest}`, trust(), { client, ...noTlog });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.ok).toBe(false);
    const reasons = result.examined.map((e) => e.reasons[0]).join('\n');
    expect(reasons).toMatch(/declares 5242880 bytes, more than the 4194304-byte limit for a signature; refused unread/);
    expect(reasons).toMatch(/more than the expected 1000 bytes|SIZE_MISMATCH|does not match/);
  });

  it('a referrers tag that names an image instead of an index is a clear failure', async () => {
    const client = clientFor(registry);
    const digest = await pushTestImage(registry, 'hostile/garbage:v1', { a: '3' });
    const image = await client.getManifest('hostile/garbage', digest);
    await client.putManifest('hostile/garbage', referrersTag(digest), image.bytes, image.mediaType!);
    const result = await verifyImage(`${registry.host}/hostile/garbage@${digest}`, trust(), { client, ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.reasons[0]).toMatch(/could not be listed.*names an image, not an index/);
  });

  it('junk bundles in the fallback index (garbage JSON, truncated JSON, a wrong-subject referrer) each fail with a reason', async () => {
    const client = clientFor(registry);
    const digest = await pushTestImage(registry, 'hostile/junk:v1', { a: '4' });
    const subject = { mediaType: MediaType.OciManifest, digest, size: (await client.getManifest('hostile/junk', digest)).bytes.byteLength };
    await pushBundleReferrer(client, 'hostile/junk', subject, new TextEncoder().encode('not json at all'), { content: 'dsse-envelope' });
    await pushBundleReferrer(client, 'hostile/junk', subject, new TextEncoder().encode('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verif'), { content: 'dsse-envelope' });
    await pushBundleReferrer(client, 'hostile/junk', subject, new TextEncoder().encode('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'), { content: 'dsse-envelope' });
    const result = await verifyImage(`${registry.host}/hostile/junk@${digest}`, trust(), { client, ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.examined).toHaveLength(3);
    for (const e of result.examined) {
      expect(e.ok).toBe(false);
      expect(e.reasons[0]!.length).toBeGreaterThan(10);
    }
    expect(result.examined.map((e) => e.reasons[0]).join('\n')).toMatch(/unexpected character|JSON/);
  });

  it('a legacy signature copied to another image\'s .sig tag fails: it names another digest', async () => {
    const client = clientFor(registry);
    const a = await pushTestImage(registry, 'hostile/copy:a', { a: 'a' });
    const b = await pushTestImage(registry, 'hostile/copy:b', { b: 'b' });
    await signImage(`${registry.host}/hostile/copy@${a}`, { key: signer.key, tlogUpload: false }, { client, legacy: true });
    const sig = await client.getManifest('hostile/copy', legacyTag(a, 'sig'));
    await client.putManifest('hostile/copy', legacyTag(b, 'sig'), sig.bytes, sig.mediaType!);
    expect((await verifyImage(`${registry.host}/hostile/copy@${a}`, trust(), { client, ...noTlog })).ok).toBe(true);
    const result = await verifyImage(`${registry.host}/hostile/copy@${b}`, trust(), { client, ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/names manifest sha256:.*not sha256:.*the signature is for another image/);
  });

  it('a bundle signed for another digest, attached with a correct subject, fails on the in-toto subject', async () => {
    const client = clientFor(registry);
    const a = await pushTestImage(registry, 'hostile/swap:a', { a: 'A' });
    const b = await pushTestImage(registry, 'hostile/swap:b', { b: 'B' });
    const signed = await signImage(`${registry.host}/hostile/swap@${a}`, { key: signer.key, tlogUpload: false }, { client, referrersMode: 'never' });
    const subject = { mediaType: MediaType.OciManifest, digest: b, size: (await client.getManifest('hostile/swap', b)).bytes.byteLength };
    await pushBundleReferrer(client, 'hostile/swap', subject, new TextEncoder().encode(JSON.stringify(signed.bundle)), { content: 'dsse-envelope' });
    const result = await verifyImage(`${registry.host}/hostile/swap@${b}`, trust(), { client, ...noTlog });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/is not a subject of the in-toto statement/);
  });

  it('fetchSignatures refuses bad limits as usage errors', async () => {
    const client = clientFor(registry);
    const digest = 'sha256:' + '1'.repeat(64);
    await expect(fetchSignatures(client, 'hostile/none', digest, { maxSignatures: 0 })).rejects.toThrow(/signature limit/);
    await expect(fetchSignatures(client, 'hostile/none', digest, { maxBlobBytes: -1 })).rejects.toThrow(/blob size limit/);
  });
});

describe('property: whatever bytes a registry serves, verification returns a reason and never throws', () => {
  const digest = 'sha256:' + 'e'.repeat(64);
  const asFetched = (bytes: Uint8Array, kind: 'bundle' | 'legacy-signature' | 'legacy-attestation', annotations: Record<string, string>): FetchedSignatures => ({
    digest,
    problems: [],
    signatures: [kind === 'bundle' ? { kind, id: 'x', source: 'fallback-tag', manifestDigest: digest, bytes } : { kind, id: 'x', source: 'legacy-tag', bytes, annotations }],
  });
  it('random bytes and random annotations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((j) => new TextEncoder().encode(j))),
        fc.constantFrom('bundle' as const, 'legacy-signature' as const, 'legacy-attestation' as const),
        fc.dictionary(fc.constantFrom('dev.cosignproject.cosign/signature', 'dev.sigstore.cosign/certificate', 'dev.sigstore.cosign/bundle', 'dev.sigstore.cosign/chain', 'dev.sigstore.cosign/rfc3161timestamp'), fc.string({ maxLength: 80 })),
        async (bytes, kind, annotations) => {
          const result = await verifyImageSignatures(digest, undefined, asFetched(bytes, kind, annotations), trust(), noTlog);
          expect(result.ok).toBe(false);
          expect(result.examined[0]!.reasons[0]!.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
