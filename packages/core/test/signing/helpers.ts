/** Shared setup for the image signing tests: small images built with core's buildImage, pushed with skopeo. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, publicVerificationKey, RegistryClient, writeImageToLayout, type PrivateSigningKey } from '@tollgate/core';
import { pushOciLayout, skopeoInspectDigest, type RunningRegistry } from '../../../../test/support/registry.js';

/** Builds a one-layer image holding `files` and pushes it to `<registry>/<repoAndTag>`; returns its manifest digest. */
export async function pushTestImage(registry: RunningRegistry, repoAndTag: string, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-signing-img-'));
  try {
    await writeImageToLayout(dir, {
      tag: 'img',
      layers: [{ files: Object.entries(files).map(([path, content]) => ({ path, content })) }],
    });
    await pushOciLayout(dir, 'img', registry.host, repoAndTag);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return skopeoInspectDigest(`${registry.host}/${repoAndTag}`);
}

export function clientFor(registry: RunningRegistry): RegistryClient {
  return new RegistryClient(registry.host, { retries: 0 });
}

export interface TestKey {
  key: PrivateSigningKey;
  publicPem: string;
}

export function newKey(): TestKey {
  const key = generateKeyPair('ecdsa-p256');
  return { key, publicPem: publicVerificationKey(key).pem };
}
