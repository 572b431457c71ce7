/**
 * readLayerFile: one file's content from a verified layer blob, checked against the sha256 its file index records.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, indexLayers, OciLayoutWriter, openImage } from '@tollgate/core';
import { readLayerFile } from '../../src/layer-index/read-layer-file.js';

let dir: string;
const PASSWD = 'app:x:1000:1000::/app:/bin/sh\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-read-layer-file-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'etc/passwd', content: PASSWD }, { path: 'etc/group', content: 'app:x:1000:\n' }] }] });
  await buildImage(writer, { tag: 'tampered', compression: 'none', layers: [{ files: [{ path: 'etc/passwd', content: PASSWD }, { path: 'tampered', content: 't' }] }] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function layerOf(tag: string, i = 0) {
  const { image } = await openImage(`oci:${join(dir, 'layout')}:${tag}`);
  const indexes = await indexLayers(image);
  const passwd = indexes[i]!.files.find((f) => f.path === 'etc/passwd');
  return { layer: { image, descriptor: indexes[i]!.descriptor, diffID: indexes[i]!.diffID }, sha256: passwd?.sha256 ?? '' };
}

describe('readLayerFile', () => {
  it('returns the bytes the file index hashed', async () => {
    const { layer, sha256 } = await layerOf('v1');
    const content = await readLayerFile(layer, 'etc/passwd', { sha256, maxBytes: 1024 });
    expect(content.toString()).toBe(PASSWD);
  });

  it('refuses content that is not what the index recorded, a path the layer lacks, and a file over the cap', async () => {
    const { layer, sha256 } = await layerOf('v1');
    await expect(readLayerFile(layer, 'etc/passwd', { sha256: `sha256:${'0'.repeat(64)}`, maxBytes: 1024 })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringMatching(/index store may be stale/) });
    await expect(readLayerFile(layer, 'etc/shadow', { sha256, maxBytes: 1024 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(readLayerFile(layer, 'etc/passwd', { sha256, maxBytes: PASSWD.length - 1 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
  });

  it('refuses a blob whose bytes are not the layer the manifest names, even when they are a valid layer', async () => {
    const { layer, sha256 } = await layerOf('tampered');
    // An uncompressed tar edited in place: same size, still a valid tar, /etc/passwd now maps app to uid 0.
    const path = join(dir, 'layout', 'blobs', 'sha256', layer.descriptor.digest.slice('sha256:'.length));
    const tar = await readFile(path);
    const at = tar.indexOf(PASSWD);
    expect(at).toBeGreaterThan(0);
    tar.write('app:x:0000:0000', at, 'latin1');
    await writeFile(path, tar);
    await expect(readLayerFile(layer, 'etc/passwd', { sha256, maxBytes: 1024 })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringMatching(/the blob read hashes to/) });
  });
});
