/**
 * Builds layouts as `cosign save` writes them, for the tests of tollgate reading them. There is no cosign binary
 * here, so the structure follows cosign's pkg/oci/layout/write.go (sigstore/cosign
 * 07ede865bda60679a4f90facefcfe3df96ff8502; cosign/v3 adds the entry's artifactType, falling back to the config
 * media type): an empty OCI index, then the image (or image index), its signatures image and its attestations
 * image appended in that order, each index.json entry annotated only with `kind: dev.cosignproject.cosign/…`. The
 * manifests and blobs are read out of a registry, where `tollgate sign/attest --legacy` made real signatures.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBounded, type RegistryClient } from '@tollgate/core';

export const KIND = {
  image: 'dev.cosignproject.cosign/image',
  imageIndex: 'dev.cosignproject.cosign/imageIndex',
  sigs: 'dev.cosignproject.cosign/sigs',
  atts: 'dev.cosignproject.cosign/atts',
};
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface Manifest {
  mediaType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>;
  /** Set on an image index (then config and layers are absent). */
  manifests?: Array<{ mediaType: string; digest: string; size: number }>;
}
/** A manifest as it sits in a layout: its bytes and the descriptor index.json lists it with. */
export interface Saved {
  bytes: Uint8Array;
  manifest: Manifest;
  digest: string;
  mediaType: string;
  size: number;
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function readManifest(client: RegistryClient, repository: string, reference: string): Promise<Saved> {
  const raw = await client.getManifest(repository, reference);
  const manifest = JSON.parse(Buffer.from(raw.bytes).toString('utf8')) as Manifest;
  return { bytes: raw.bytes, manifest, digest: raw.digest, mediaType: raw.mediaType ?? manifest.mediaType!, size: raw.bytes.byteLength };
}

export async function writeBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return digest;
}

/**
 * Copies a manifest with everything below it (an index's manifests, an image's config and layers) out of the
 * registry into `dir`'s blobs — not into index.json: cosign save lists only the top of each tree there.
 */
export async function copyBlobs(client: RegistryClient, repository: string, saved: Saved, dir: string): Promise<void> {
  await writeBlob(dir, saved.bytes);
  if (saved.manifest.manifests !== undefined) {
    for (const child of saved.manifest.manifests) await copyBlobs(client, repository, await readManifest(client, repository, child.digest), dir);
    return;
  }
  for (const d of [saved.manifest.config, ...saved.manifest.layers]) {
    await writeBlob(dir, await readBounded(await client.getBlob(repository, d.digest, { expectedSize: d.size }), d.size, d.digest));
  }
}

/** index.json's entry for a manifest as write.go's appendImage/appendIndex makes it: the descriptor, artifactType, the kind annotation. */
export function entry(saved: Saved, kind: string): Record<string, unknown> {
  const artifactType = saved.manifest.config?.mediaType;
  return { mediaType: saved.mediaType, size: saved.size, digest: saved.digest, annotations: { kind }, ...(artifactType !== undefined ? { artifactType } : {}) };
}

/** layout.Write(path, empty.Index), then one AppendDescriptor per entry, in order. */
export async function writeLayout(dir: string, entries: Array<Record<string, unknown>>): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
}

/** A fresh layout directory `dir` holding the blobs of `blobsDir` (every manifest a test may list), and the given index.json. */
export async function layoutFrom(blobsDir: string, dir: string, entries: Array<Record<string, unknown>>): Promise<string> {
  await cp(blobsDir, dir, { recursive: true });
  await writeLayout(dir, entries);
  return dir;
}

/** A signatures image with its first layer's annotations changed, its blob written; the manifest's new descriptor. */
export async function withAnnotations(dir: string, sigs: Saved, change: (annotations: Record<string, string>) => void): Promise<Saved> {
  const manifest = structuredClone(sigs.manifest);
  change((manifest.layers[0]!.annotations ??= {}));
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const digest = await writeBlob(dir, bytes);
  return { bytes, manifest, digest, mediaType: sigs.mediaType, size: bytes.byteLength };
}
