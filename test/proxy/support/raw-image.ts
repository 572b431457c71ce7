/** Pushes small images straight to a registry with our client: fast, for tests that need many distinct blobs. */
import { createHash, randomBytes } from 'node:crypto';
import { RegistryClient } from '@tollgate/core';

export interface PushedImage {
  digest: string;
  manifest: Buffer;
  config: { digest: string; size: number; bytes: Buffer };
  layers: { digest: string; size: number; bytes: Buffer }[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function pushRawImage(host: string, repository: string, tag: string, layerSizes: number[] = [64 * 1024]): Promise<PushedImage> {
  const client = new RegistryClient(host);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layers = layerSizes.map((size) => {
    const bytes = randomBytes(size);
    return { digest: sha256(bytes), size, bytes };
  });
  const configDesc = { digest: sha256(config), size: config.length, bytes: config };
  await client.pushBlob(repository, config, configDesc.digest, config.length);
  for (const layer of layers) await client.pushBlob(repository, layer.bytes, layer.digest, layer.size);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDesc.digest, size: configDesc.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    }),
  );
  const digest = await client.putManifest(repository, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
  return { digest, manifest, config: configDesc, layers };
}
