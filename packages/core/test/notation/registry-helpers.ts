/** Attaching Notary Project signatures to a manifest in a real registry, as notation does (OCI 1.1 artifact manifest). */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf, parseManifest, referrersTag, RegistryClient, TollgateError, writeImageToLayout, type Descriptor, type IndexManifest } from '@tollgate/core';
import { pushOciLayout, skopeoInspectDigest, type RunningRegistry } from '../../../../test/support/registry.js';

const EMPTY = Buffer.from('{}');
const EMPTY_DESCRIPTOR = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(EMPTY), size: 2 };

export function clientFor(registry: RunningRegistry): RegistryClient {
  return new RegistryClient(registry.host, { retries: 0 });
}

/**
 * Pushes a signature manifest (artifactType application/vnd.cncf.notary.signature, one application/jose+json layer
 * holding the envelope, subject = the target) and lists it in the referrers tag schema index (docker-registry 2.8
 * has no referrers API). `layerSize` lets a test lie about the envelope's size in the descriptor.
 */
export async function pushNotationSignature(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  envelope: Uint8Array,
  options: { layerMediaType?: string; artifactType?: string; manifestSubject?: Descriptor } = {},
): Promise<string> {
  const layer = { mediaType: options.layerMediaType ?? 'application/jose+json', digest: digestOf(envelope), size: envelope.byteLength };
  await client.pushBlob(repository, EMPTY, EMPTY_DESCRIPTOR.digest, EMPTY.byteLength);
  await client.pushBlob(repository, envelope, layer.digest, layer.size);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: options.artifactType ?? 'application/vnd.cncf.notary.signature',
    config: EMPTY_DESCRIPTOR,
    layers: [layer],
    subject: options.manifestSubject ?? subject,
    annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify([createHash('sha256').update(envelope).digest('hex')]) },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  await client.putManifest(repository, digest, bytes, 'application/vnd.oci.image.manifest.v1+json');
  const tag = referrersTag(subject.digest);
  let index: IndexManifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  try {
    const existing = await client.getManifest(repository, tag);
    const parsed = parseManifest(existing.bytes, existing.mediaType);
    if (parsed.kind === 'index') index = parsed.index;
  } catch (error) {
    if (!(error instanceof TollgateError && error.code === 'NOT_FOUND')) throw error;
  }
  index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: bytes.byteLength, artifactType: manifest.artifactType });
  await client.putManifest(repository, tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
  return digest;
}

/** Builds a one-layer image with core's writer, pushes it with skopeo, returns its manifest descriptor. */
export async function pushTestImage(registry: RunningRegistry, repository: string, tag: string, content: string): Promise<Descriptor> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-notation-img-'));
  try {
    await writeImageToLayout(dir, { tag: 'img', layers: [{ files: [{ path: 'hello.txt', content }] }] });
    await pushOciLayout(dir, 'img', registry.host, `${repository}:${tag}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const digest = await skopeoInspectDigest(`${registry.host}/${repository}:${tag}`);
  const manifest = await clientFor(registry).getManifest(repository, digest);
  return { digest, size: manifest.bytes.byteLength, mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' };
}
