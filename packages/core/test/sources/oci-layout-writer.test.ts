import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isTollgateError, OciLayoutSource, OciLayoutWriter, REF_NAME_ANNOTATION, writeFileAtomic, writeImageToLayout } from '@tollgate/core';
import { readWholeImage, run, sha256, skopeo, tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

const LAYERS = [
  {
    files: [
      { path: 'etc/', type: 'dir' as const },
      { path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644 },
      { path: 'bin/tool', content: new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), mode: 0o755, uid: 1000, gid: 1000 },
    ],
  },
  {
    files: [
      { path: 'etc/link', type: 'symlink' as const, linkTarget: 'passwd' },
      { path: 'bin/hard', type: 'hardlink' as const, linkTarget: 'bin/tool' },
    ],
  },
];

describe('OciLayoutWriter + buildImage', () => {
  it('writes a layout skopeo can inspect and copy', async () => {
    const work = await temp.make();
    const dir = join(work, 'layout');
    const built = await writeImageToLayout(dir, { tag: 'v1', layers: LAYERS, config: { config: { User: '1000', Env: ['PATH=/bin'] } } });

    const inspected = JSON.parse(await skopeo(['inspect', `oci:${dir}:v1`], work)) as { Digest: string; Layers: string[]; Architecture: string };
    expect(inspected.Digest).toBe(built.descriptor.digest);
    expect(inspected.Layers).toEqual(built.layers.map((l) => l.digest));
    expect(inspected.Architecture).toBe('amd64');

    const copy = join(work, 'copy');
    await skopeo(['copy', `oci:${dir}:v1`, `oci:${copy}:copied`], work);
    const copied = await new OciLayoutSource(copy, 'copied').resolveRoot();
    expect(copied.expectedDigest).toBe(built.descriptor.digest);

    // umoci, the other independent tool, unpacks it and sees our files.
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${dir}:v1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs', 'etc', 'link'), 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(await readFile(join(bundle, 'rootfs', 'bin', 'hard'))).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  });

  it('writes a config whose diff_ids and history match the layers, and reads back verified', async () => {
    const dir = await temp.make();
    const built = await writeImageToLayout(dir, { tag: 'v1', layers: LAYERS });
    const image = await readWholeImage(new OciLayoutSource(dir, 'v1'));
    const config = image.config as { rootfs: { type: string; diff_ids: string[] }; history: unknown[] };
    expect(config.rootfs.type).toBe('layers');
    expect(config.rootfs.diff_ids).toEqual(image.layers.map((gz) => sha256(gunzipSync(gz))));
    expect(config.history).toHaveLength(2);
    expect(built.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
  });

  it('is deterministic: the same input gives the same digest', async () => {
    const a = await writeImageToLayout(await temp.make(), { tag: 'x', layers: LAYERS });
    const b = await writeImageToLayout(await temp.make(), { tag: 'y', layers: LAYERS });
    expect(a.descriptor.digest).toBe(b.descriptor.digest);
  });

  it('writes uncompressed layers when asked', async () => {
    const dir = await temp.make();
    const built = await writeImageToLayout(dir, { tag: 'v1', compression: 'none', layers: LAYERS });
    expect(built.layers[0]!.digest).toBe(built.layers[0]!.diffId);
    expect(built.manifest.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    await readWholeImage(new OciLayoutSource(dir, 'v1'));
  });

  it('replaces the entry of a re-used tag and keeps the others', async () => {
    const dir = await temp.make();
    const writer = await OciLayoutWriter.create(dir);
    await writer.writeManifest(Buffer.from('{"a":1}'), 'application/vnd.oci.image.manifest.v1+json', 'one');
    await writer.writeManifest(Buffer.from('{"a":2}'), 'application/vnd.oci.image.manifest.v1+json', 'two');
    await writer.writeManifest(Buffer.from('{"a":3}'), 'application/vnd.oci.image.manifest.v1+json', 'one');
    await writer.writeManifest(Buffer.from('{"a":4}'), 'application/vnd.oci.image.manifest.v1+json');
    await writer.writeManifest(Buffer.from('{"a":4}'), 'application/vnd.oci.image.manifest.v1+json');
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    expect(index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(['two', 'one', undefined]);
    expect(index.manifests[1]!.digest).toBe(sha256(Buffer.from('{"a":3}')));
    // Re-opening an existing layout keeps its content.
    const again = await OciLayoutWriter.create(dir);
    await again.writeManifest(Buffer.from('{"a":5}'), 'application/vnd.oci.image.manifest.v1+json', 'three');
    const after = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(after.manifests).toHaveLength(4);
  });

  it('serialises concurrent index updates from one writer', async () => {
    const dir = await temp.make();
    const writer = await OciLayoutWriter.create(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.writeManifest(Buffer.from(`{"n":${i}}`), 'application/vnd.oci.image.manifest.v1+json', `t${i}`)));
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(20);
  });

  it('refuses a tag outside the ref.name grammar', async () => {
    const writer = await OciLayoutWriter.create(await temp.make());
    await expect(writer.writeManifest(Buffer.from('{}'), 'application/vnd.oci.image.manifest.v1+json', '../evil')).rejects.toMatchObject({ code: 'USAGE' });
  });

  describe('writeBlob', () => {
    it('stores a stream under its digest and skips a blob already present', async () => {
      const dir = await temp.make();
      const writer = await OciLayoutWriter.create(dir);
      const content = Buffer.from('hello blob');
      const first = await writer.writeBlob(Readable.from([content.subarray(0, 3), content.subarray(3)]));
      expect(first).toEqual({ digest: sha256(content), size: content.length });
      const second = await writer.writeBlob(content, { digest: sha256(content), size: content.length });
      expect(second).toEqual(first);
      expect(await readFile(join(dir, 'blobs', 'sha256', first.digest.slice(7)))).toEqual(content);
      expect((await readdir(join(dir, 'blobs'))).sort()).toEqual(['sha256']);
    });

    it('refuses content that does not match the expected digest or size, leaving no file behind', async () => {
      const dir = await temp.make();
      const writer = await OciLayoutWriter.create(dir);
      const wrong = `sha256:${'0'.repeat(64)}`;
      const error = await writer.writeBlob(Buffer.from('abc'), { digest: wrong }).catch((e: unknown) => e);
      expect(isTollgateError(error, 'DIGEST_MISMATCH')).toBe(true);
      await expect(writer.writeBlob(Buffer.from('abc'), { size: 2 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      await expect(writer.writeBlob(Buffer.from('abc'), { size: 4 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      await expect(writer.writeBlob(Buffer.from('abc'), { digest: 'sha256:nothex' })).rejects.toMatchObject({ code: 'INVALID_DIGEST' });
      expect((await readdir(join(dir, 'blobs'))).sort()).toEqual(['sha256']);
      expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
    });

    it('stops reading a stream that runs past the expected size', async () => {
      const writer = await OciLayoutWriter.create(await temp.make());
      let pulled = 0;
      const endless = new Readable({
        read() {
          pulled += 1;
          this.push(Buffer.alloc(1024));
        },
      });
      await expect(writer.writeBlob(endless, { size: 4096 })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      expect(pulled).toBeLessThan(100);
    });

    it('supports sha512 when the expected digest uses it', async () => {
      const dir = await temp.make();
      const writer = await OciLayoutWriter.create(dir);
      const { createHash } = await import('node:crypto');
      const digest = `sha512:${createHash('sha512').update('x').digest('hex')}`;
      expect((await writer.writeBlob(Buffer.from('x'), { digest })).digest).toBe(digest);
      expect(await readFile(join(dir, 'blobs', 'sha512', digest.slice(7)), 'utf8')).toBe('x');
    });
  });

  it('create() refuses a directory whose oci-layout is not 1.x', async () => {
    const dir = await temp.make();
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"9"}');
    await expect(OciLayoutWriter.create(dir)).rejects.toMatchObject({ code: 'INVALID_LAYOUT' });
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temp file', async () => {
    const dir = await temp.make();
    const path = join(dir, 'f.json');
    await writeFileAtomic(path, 'old');
    await writeFileAtomic(path, new TextEncoder().encode('new'), 0o600);
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['f.json']);
  });
});
