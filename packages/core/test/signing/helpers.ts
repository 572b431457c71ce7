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

/** Pushes `count` referrers of `subject` whose bundles are junk bytes (no fallback tag); returns their index descriptors. */
export async function pushJunkReferrers(client: RegistryClient, repository: string, subject: { mediaType: string; digest: string; size: number }, count: number) {
  const { buildReferrerManifest, pushBundleReferrer } = await import('@tollgate/core');
  const descriptors = [];
  for (let i = 0; i < count; i++) {
    const junk = new TextEncoder().encode(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","junk":${i}}`);
    await pushBundleReferrer(client, repository, subject, junk, { content: 'dsse-envelope', mode: 'never', created: '2026-01-01T00:00:00Z' });
    descriptors.push(buildReferrerManifest(junk, subject, { content: 'dsse-envelope', created: '2026-01-01T00:00:00Z' }).descriptor);
  }
  return descriptors;
}
