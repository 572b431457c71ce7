import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, MediaType, RegistryClient, RegistrySource, type ImageManifest } from '@tollgate/core';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { buildUmociImage, layoutPath, readAll } from './image-fixture.js';

let registry: RunningRegistry;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.host);
  dir = await mkdtemp(join(tmpdir(), 'tollgate-registry-source-'));
  await buildUmociImage(dir, 'v1', { 'x.txt': 'source' });
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'src/app:v1');
});

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('RegistrySource', () => {
  it('resolves the root by tag and by digest, fetches children and opens blobs', async () => {
    const client = new RegistryClient(proxy.host);
    const byTag = new RegistrySource({ registry: proxy.host, repository: 'src/app', tag: 'v1' }, client);
    expect(byTag.description).toBe(`docker://${proxy.host}/src/app:v1`);
    const root = await byTag.resolveRoot();
    const digest = digestOf(root.bytes);
    expect(root.expectedDigest).toBe(digest);
    expect(root.mediaType).toBe(MediaType.OciManifest);
    const byDigest = new RegistrySource({ registry: proxy.host, repository: 'src/app', tag: 'v1', digest }, client);
    expect((await byDigest.resolveRoot()).expectedDigest).toBe(digest);
    expect(proxy.seen.at(-1)?.url).toBe(`/v2/src/app/manifests/${digest}`);
    const child = await byTag.fetchManifest({ mediaType: MediaType.OciManifest, digest, size: root.bytes.byteLength });
    expect(child.expectedDigest).toBe(digest);
    const manifest = JSON.parse(Buffer.from(root.bytes).toString()) as ImageManifest;
    const layer = manifest.layers[0]!;
    // foreign-layer URLs are never followed: only the registry's own blob endpoint is asked
    const before = proxy.seen.length;
    const stream = await byTag.openBlob({ ...layer, urls: ['http://127.0.0.1:1/elsewhere', 'https://example.invalid/blob'] });
    expect(digestOf(await readAll(stream))).toBe(layer.digest);
    expect(proxy.seen.slice(before).map((r) => r.url)).toEqual([`/v2/src/app/blobs/${layer.digest}`]);
    const part = await readAll(await byTag.openBlob(layer, { range: { start: 0, end: 9 } }));
    expect(part.length).toBe(10);
    // a descriptor that claims fewer bytes than the blob has is cut short with an error
    await expect(byTag.openBlob({ ...layer, size: 3 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('refuses a location with neither tag nor digest', async () => {
    const source = new RegistrySource({ registry: registry.host, repository: 'src/app' }, new RegistryClient(registry.host));
    await expect(source.resolveRoot()).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
  });
});
