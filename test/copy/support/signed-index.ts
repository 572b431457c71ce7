/**
 * A two-platform index in a real registry carrying every kind of attachment tollgate and cosign write: a v3
 * signature and an attestation of the index (referrers, found through the sha256-<hex> tag on docker-registry),
 * legacy `.sig` and `.att` tags, a v3 signature and a legacy signature of the amd64 manifest, an SPDX SBOM referrer
 * of the index, and a signature of that SBOM.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildImage,
  OciLayoutWriter,
  addToFallbackIndex,
  attestImage,
  EMPTY_CONFIG_BYTES,
  EMPTY_CONFIG_DIGEST,
  generateKeyPair,
  publicVerificationKey,
  RegistryClient,
  signImage,
  type Descriptor,
  type PrivateSigningKey,
} from '@tollgate/core';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SLSA = 'https://slsa.dev/provenance/v1';
export const SPDX = 'application/spdx+json';

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface PlatformImage {
  digest: string;
  size: number;
  layers: { digest: string; size: number }[];
}

export interface SignedIndex {
  repository: string;
  tag: string;
  digest: string;
  amd64: PlatformImage;
  arm64: PlatformImage;
  sbom: string;
  /** Every attachment manifest digest expected at a destination after a full copy. */
  attachments: string[];
}

export interface TestSigner {
  key: PrivateSigningKey;
  publicPem: string;
}

export function testSigner(): TestSigner {
  const key = generateKeyPair('ecdsa-p256');
  return { key, publicPem: publicVerificationKey(key).pem };
}

/** A real image (gzip tar layers, config with matching diff_ids) built with core's writer, pushed blob by blob. */
async function pushPlatform(client: RegistryClient, repository: string, architecture: string, layerSizes: number[]): Promise<PlatformImage> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-copy-img-'));
  try {
    const built = await buildImage(await OciLayoutWriter.create(dir), {
      tag: 'img',
      compression: 'gzip',
      config: { architecture, os: 'linux' },
      // Random content does not compress: each layer is about its size, and unique to this image.
      layers: layerSizes.map((size, i) => ({ files: [{ path: `app/${architecture}-${i}`, content: randomBytes(size) }] })),
    });
    const blob = (digest: string) => readFile(join(dir, 'blobs', 'sha256', digest.slice(7)));
    for (const d of [built.manifest.config, ...built.manifest.layers]) await client.pushBlob(repository, await blob(d.digest), d.digest, d.size);
    const digest = await client.putManifest(repository, built.descriptor.digest, built.manifestBytes, OCI_MANIFEST);
    return { digest, size: built.manifestBytes.length, layers: built.manifest.layers.map((l) => ({ digest: l.digest, size: l.size })) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An SPDX document attached to `subject` as an OCI 1.1 artifact (with the referrers tag, as docker-registry needs). */
async function pushSbom(client: RegistryClient, repository: string, subject: Descriptor): Promise<string> {
  const document = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app', packages: [{ name: 'busybox', versionInfo: '1.36' }] }));
  await client.pushBlob(repository, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST, EMPTY_CONFIG_BYTES.length);
  await client.pushBlob(repository, document, sha256(document), document.length);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SPDX,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG_BYTES.length },
    layers: [{ mediaType: SPDX, digest: sha256(document), size: document.length }],
    subject,
  }));
  const digest = await client.putManifest(repository, sha256(manifest), manifest, OCI_MANIFEST);
  await addToFallbackIndex(client, repository, subject.digest, { mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: SPDX });
  return digest;
}

export async function pushSignedIndex(host: string, repository: string, tag: string, signer: TestSigner, layerSizes: [number[], number[]] = [[48 * 1024, 16 * 1024], [32 * 1024]]): Promise<SignedIndex> {
  const client = new RegistryClient(host, { retries: 0 });
  const amd64 = await pushPlatform(client, repository, 'amd64', layerSizes[0]);
  const arm64 = await pushPlatform(client, repository, 'arm64', layerSizes[1]);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amd64.digest, size: amd64.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: OCI_MANIFEST, digest: arm64.digest, size: arm64.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  }));
  const digest = await client.putManifest(repository, tag, index, OCI_INDEX);
  const signing = { key: signer.key, tlogUpload: false };
  const options = { client };
  const ref = (d: string) => `${host}/${repository}@${d}`;
  const attachments: string[] = [];
  const referrer = (r: { referrer?: { digest: string } }) => attachments.push(r.referrer!.digest);
  referrer(await signImage(ref(digest), signing, options));
  referrer(await attestImage(ref(digest), signing, { ...options, predicateType: SLSA, predicate: { buildDefinition: { buildType: 'test' } } }));
  await signImage(ref(digest), signing, { ...options, legacy: true });
  await attestImage(ref(digest), signing, { ...options, legacy: true, predicateType: SLSA, predicate: { buildDefinition: { buildType: 'legacy' } } });
  referrer(await signImage(ref(amd64.digest), signing, options));
  await signImage(ref(amd64.digest), signing, { ...options, legacy: true });
  const sbom = await pushSbom(client, repository, { mediaType: OCI_INDEX, digest, size: index.length });
  attachments.push(sbom);
  referrer(await signImage(ref(sbom), signing, options));
  for (const [subject, kind] of [[digest, 'sig'], [digest, 'att'], [amd64.digest, 'sig']] as const) {
    attachments.push((await client.getManifest(repository, `${subject.replace(':', '-')}.${kind}`)).digest);
  }
  return { repository, tag, digest, amd64, arm64, sbom, attachments };
}
