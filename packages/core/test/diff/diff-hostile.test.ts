import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { diffImages, LayerIndexStore, MediaType } from '@tollgate/core';
import { changeSet, packRaw, tempLayout, writeRawImage } from './support.js';

type Layout = Awaited<ReturnType<typeof tempLayout>>;

function blobFile(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

describe('diffImages on hostile and broken input', () => {
  let layout: Layout;
  let good: Buffer;
  beforeAll(async () => {
    layout = await tempLayout();
    good = await packRaw([{ name: 'etc/a', type: 'file', content: 'a' }]);
    await writeRawImage(layout.writer, { tag: 'good', layers: [good] });
  });
  afterAll(async () => layout?.cleanup());

  it('reports entries with "..", absolute paths and escaping hardlinks as unsafe, and never applies the traversals', async () => {
    const hostile = await packRaw([
      { name: 'etc/a', type: 'file', content: 'a' },
      { name: '../../escape', type: 'file', content: 'evil' },
      { name: 'x/../../up', type: 'file', content: 'evil' },
      { name: '/abs/file', type: 'file', content: 'abs' },
      { name: 'link', type: 'link', linkname: '../../etc/shadow' },
    ]);
    await writeRawImage(layout.writer, { tag: 'hostile', layers: [hostile] });
    const result = await diffImages(await layout.open('good'), await layout.open('hostile'));
    expect(changeSet(result.files)).toEqual(['+ /abs/file']);
    expect(result.unsafe.map((u) => [u.images, u.path, u.reason])).toEqual([
      [['b'], '../../escape', "parent traversal ('..' component)"],
      [['b'], '/abs/file', 'absolute path (indexed without the leading /)'],
      [['b'], 'link', 'hardlink target escapes root'],
      [['b'], 'x/../../up', "parent traversal ('..' component)"],
    ]);
    expect(result.summary.unsafe).toBe(4);
  });

  it('whiteouts of paths that do not exist are harmless', async () => {
    const upper = await packRaw([{ name: 'nope/.wh.x', type: 'file' }, { name: '.wh.missing', type: 'file' }, { name: 'ghost/.wh..wh..opq', type: 'file' }]);
    await writeRawImage(layout.writer, { tag: 'ghost-wh', layers: [good, upper] });
    const result = await diffImages(await layout.open('good'), await layout.open('ghost-wh'));
    expect(result.files).toEqual([]);
    expect(result.summary.layers.added).toBe(1);
  });

  it('a layer that fails its digest aborts the diff with DIGEST_MISMATCH naming the blob', async () => {
    const tar = await packRaw([{ name: 'data', type: 'file', content: 'z'.repeat(50_000) }]);
    const built = await writeRawImage(layout.writer, { tag: 'corrupt', layers: [tar], gzipLevels: [0] });
    const digest = built.manifest.layers[0]!.digest;
    const handle = await open(blobFile(layout.writer.dir, digest), 'r+');
    await handle.write(Buffer.from('Q'), 0, 1, 10_000);
    await handle.close();
    const error = await diffImages(await layout.open('good'), await layout.open('corrupt')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringContaining(digest) });
  });

  it('a layer whose content differs from the config\'s diffID aborts the diff', async () => {
    const tar = await packRaw([{ name: 'f', type: 'file', content: 'f' }]);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const built = await writeRawImage(layout.writer, { tag: 'wrong-diffid', layers: [tar], diffIDs: [wrong] });
    const error = await diffImages(await layout.open('good'), await layout.open('wrong-diffid')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringContaining(built.manifest.layers[0]!.digest) });
    expect((error as Error).message).toContain(wrong);
  });

  it('a corrupt store entry is never trusted and a mismatching layer is never stored', async () => {
    const store = await LayerIndexStore.open(join(layout.dir, 'store-bad'));
    try {
      await diffImages(await layout.open('good'), await layout.open('wrong-diffid'), { store }).catch(() => undefined);
      expect(await store.get(`sha256:${'0'.repeat(64)}`)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('decompression bombs are bounded by the ratio and size limits with a clear error', async () => {
    const bombTar = await packRaw([{ name: 'zeros', type: 'file', content: Buffer.alloc(20 * 1024 * 1024) }]);
    await writeRawImage(layout.writer, { tag: 'bomb', layers: [bombTar], gzipLevels: [9] });
    const ratio = await diffImages(await layout.open('good'), await layout.open('bomb'), { limits: { maxCompressionRatio: 50 } }).catch((e: unknown) => e);
    expect(ratio).toMatchObject({ code: 'SIZE_LIMIT', message: expect.stringMatching(/compression ratio above 50.*maxCompressionRatio/) });
    const size = await diffImages(await layout.open('good'), await layout.open('bomb'), { limits: { maxUncompressedBytes: 1024 * 1024 } }).catch((e: unknown) => e);
    expect(size).toMatchObject({ code: 'SIZE_LIMIT', message: expect.stringContaining('maxUncompressedBytes') });
  });

  it('garbage and truncated layers abort with CORRUPT_LAYER or a size error', async () => {
    const w = layout.writer;
    const garbage = await w.writeBlob(Buffer.from('this is not gzip at all'));
    const truncatedGzip = gzipSync(await packRaw([{ name: 'big', type: 'file', content: randomBytes(100_000) }])).subarray(0, 20_000);
    const truncated = await w.writeBlob(truncatedGzip);
    for (const [tag, blob] of [['garbage', garbage], ['truncated', truncated]] as const) {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] } }));
      const cfg = await w.writeBlob(config);
      const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size }, layers: [{ mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size }] };
      await w.writeManifest(Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest, tag);
      const error = await diffImages(await layout.open('good'), await layout.open(tag)).catch((e: unknown) => e);
      expect(error, String(error)).toMatchObject({ code: 'CORRUPT_LAYER', message: expect.stringContaining(blob.digest) });
    }
  });

  it('a config whose diff_ids do not match the layer count is refused', async () => {
    const w = layout.writer;
    const cfg = await w.writeBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const layer = await w.writeBlob(gzipSync(good));
    const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size }, layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }] };
    await w.writeManifest(Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest, 'count');
    await expect(diffImages(await layout.open('good'), await layout.open('count'))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('bad ignore patterns and an aborted signal are refused', async () => {
    const a = await layout.open('good');
    await expect(diffImages(a, a, { ignore: [''] })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(diffImages(a, a, { ignore: Array.from({ length: 300 }, (_, i) => `p${i}`) })).rejects.toMatchObject({ code: 'USAGE' });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(diffImages(a, a, { signal: controller.signal })).rejects.toThrow('stop');
    await writeFile(join(layout.dir, 'unused'), '');
  });
});
