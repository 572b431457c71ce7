import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DockerArchiveSource,
  isTollgateError,
  MediaType,
  packLayer,
  writeDockerArchive,
  writeImageToLayout,
  type ImageManifest,
} from '@tollgate/core';
import { buildUmociImage } from '../../../../test/support/umoci.js';
import { expectError, readAll, readWholeImage, sha256, skopeo, tarNames, tempDirs } from './helpers.js';
import { paxRecord, rawTar } from './tar-fixtures.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());


/** Resolves the root of an archive and closes the source, whatever happens. */
async function rootOf(path: string, reference?: string) {
  const source = new DockerArchiveSource(path, reference);
  try {
    return await source.resolveRoot();
  } finally {
    await source.close();
  }
}

async function layerTar(files: Array<{ path: string; content: string }>): Promise<Buffer> {
  return readAll(packLayer(files));
}

function configFor(layers: Buffer[], user = 'root'): Buffer {
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { User: user }, rootfs: { type: 'layers', diff_ids: layers.map(sha256) } }));
}

describe('DockerArchiveSource on a legacy archive written by skopeo', () => {
  let work: string;
  let archive: string;
  let umociConfig: { rootfs: { diff_ids: string[] }; config: { User: string } };

  beforeAll(async () => {
    work = await temp.make();
    const layout = join(work, 'layout');
    await buildUmociImage(
      layout,
      'v1',
      [
        async (rootfs) => {
          await mkdir(join(rootfs, 'app'), { recursive: true });
          await writeFile(join(rootfs, 'app', 'main.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
        },
        (rootfs) => writeFile(join(rootfs, 'app', 'data'), 'x'.repeat(10_000)),
      ],
      { config: { user: '65534' } },
    );
    archive = join(work, 'skopeo.tar');
    await skopeo(['copy', `oci:${layout}:v1`, `docker-archive:${archive}:example.com/team/app:v1`], work);
    const inspected = JSON.parse(await skopeo(['inspect', '--config', `oci:${layout}:v1`], work)) as typeof umociConfig;
    umociConfig = inspected;
  });

  it('is a legacy archive (no index.json), as docker save wrote before Docker 25', async () => {
    const names = await tarNames(archive);
    expect(names).toContain('manifest.json');
    expect(names).not.toContain('index.json');
  });

  it('synthesises a Docker schema 2 manifest with the right config and uncompressed layers, all verifying', async () => {
    for (const reference of [undefined, 'example.com/team/app:v1', '@0']) {
      const source = new DockerArchiveSource(archive, reference);
      const image = await readWholeImage(source);
      expect(image.manifest.mediaType).toBe(MediaType.DockerManifest);
      expect(image.manifest.config.mediaType).toBe(MediaType.DockerConfig);
      expect(image.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayer, MediaType.DockerLayer]);
      // layer.tar's digest is its diffID, and skopeo kept umoci's config byte for byte.
      expect(image.manifest.layers.map((l) => l.digest)).toEqual(umociConfig.rootfs.diff_ids);
      expect((image.config as typeof umociConfig).config.User).toBe('65534');
      const skopeoConfig = await skopeo(['inspect', '--raw', '--config', `docker-archive:${archive}`], work);
      expect(image.manifest.config.digest).toBe(sha256(Buffer.from(skopeoConfig)));
      await source.close();
    }
  });

  it('its synthetic manifest differs from skopeo\'s only in the true layer media type', async () => {
    const ours = Buffer.from((await rootOf(archive)).bytes).toString();
    const theirs = (await skopeo(['inspect', '--raw', `docker-archive:${archive}`], work)).trim();
    expect(ours).toBe(theirs.replaceAll(MediaType.DockerLayerGzip, MediaType.DockerLayer));
  });

  it('fetchManifest returns the synthetic manifest by its digest and nothing else', async () => {
    const source = new DockerArchiveSource(archive);
    const root = await source.resolveRoot();
    const again = await source.fetchManifest({ mediaType: MediaType.DockerManifest, digest: root.expectedDigest!, size: root.bytes.length });
    expect(again.bytes).toEqual(root.bytes);
    await expectError(source.fetchManifest({ mediaType: MediaType.DockerManifest, digest: `sha256:${'1'.repeat(64)}`, size: 2 }), 'NOT_FOUND', /not found in docker archive/);
    await expectError(source.openBlob({ mediaType: MediaType.DockerLayer, digest: `sha256:${'1'.repeat(64)}`, size: 2 }), 'NOT_FOUND', /blob sha256:1+ not found/);
    await source.close();
  });

  it('an unknown name is NOT_FOUND and lists the tags; a bad index is NOT_FOUND too', async () => {
    await expectError(rootOf(archive, 'other:v1'), 'NOT_FOUND', /"other:v1" not found .*available tags: "example.com\/team\/app:v1"/);
    await expectError(rootOf(archive, '@3'), 'NOT_FOUND', /index @3 does not exist/);
  });
});

describe('DockerArchiveSource on archives from our writer', () => {
  let base: Buffer;
  let shared: Buffer;
  let extra: Buffer;

  beforeAll(async () => {
    base = await layerTar([{ path: 'etc/os-release', content: 'ID=test\n' }]);
    shared = await layerTar([{ path: 'usr/bin/tool', content: 'tool' }]);
    extra = await layerTar([{ path: 'srv/data', content: 'data' }]);
  });

  function images() {
    return [
      { config: configFor([base, shared], 'one'), layers: [base, shared], repoTags: ['one:v1', 'localhost:5000/one:latest'] },
      // `shared` again on another parent: docker save links the second copy to the first.
      { config: configFor([extra, shared], 'two'), layers: [extra, shared], repoTags: ['two:v2'] },
    ];
  }

  it('legacy: selects by tag and by index, links repeated layers, and every blob verifies', async () => {
    const dir = await temp.make();
    const file = join(dir, 'legacy.tar');
    await writeDockerArchive(file, images(), { format: 'legacy' });
    const one = await readWholeImage(new DockerArchiveSource(file, 'one:v1'));
    expect((one.config as { config: { User: string } }).config.User).toBe('one');
    expect(one.layers).toEqual([base, shared]);
    const two = await readWholeImage(new DockerArchiveSource(file, '@1'));
    expect((two.config as { config: { User: string } }).config.User).toBe('two');
    expect(two.layers).toEqual([extra, shared]);
    // Docker-normalised names match: one:v1 is docker.io/library/one:v1.
    const viaFull = await rootOf(file, 'docker.io/library/one:v1');
    expect(viaFull.expectedDigest).toBe(one.manifestDigest);
    expect((await rootOf(file, 'localhost:5000/one:latest')).expectedDigest).toBe(one.manifestDigest);
    await expectError(rootOf(file), 'USAGE', /holds 2 images; name one .*"one:v1", "localhost:5000\/one:latest", "two:v2"/);
  });

  it('legacy: gzip layer files are detected, labelled tar.gzip and hashed', async () => {
    const dir = await temp.make();
    const file = join(dir, 'gz.tar');
    await writeDockerArchive(file, images()[0]!, { format: 'legacy', gzipLayers: true });
    const image = await readWholeImage(new DockerArchiveSource(file));
    expect(image.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.DockerLayerGzip]);
    expect(image.manifest.layers[0]!.digest).toBe(sha256(image.layers[0]!));
    expect(image.manifest.layers[0]!.digest).not.toBe(sha256(base));
  });

  it('legacy: skopeo reads what our writer wrote (independent check)', async () => {
    const dir = await temp.make();
    const file = join(dir, 'legacy.tar');
    await writeDockerArchive(file, images()[0]!, { format: 'legacy' });
    const inspected = JSON.parse(await skopeo(['inspect', `docker-archive:${file}`], dir)) as { Layers: string[] };
    expect(inspected.Layers).toEqual([sha256(base), sha256(shared)]);
    await skopeo(['copy', `docker-archive:${file}`, `oci:${join(dir, 'out')}:copied`], dir);
  });

  it('oci (Docker 25+): reads the embedded layout, choosing the image by manifest.json tags', async () => {
    const dir = await temp.make();
    const file = join(dir, 'oci.tar');
    await writeDockerArchive(file, images(), { format: 'oci' });
    const names = await tarNames(file);
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json']));

    const one = await readWholeImage(new DockerArchiveSource(file, 'one:v1'));
    expect(one.manifest.mediaType).toBe(MediaType.OciManifest);
    expect(one.layers).toEqual([base, shared]);
    const two = await readWholeImage(new DockerArchiveSource(file, '@1'));
    expect((two.config as { config: { User: string } }).config.User).toBe('two');
    // The root is the manifest blob itself, so its digest is real, not synthetic.
    const root = await rootOf(file, 'two:v2');
    expect(names).toContain(`blobs/sha256/${root.expectedDigest!.slice(7)}`);
    await expectError(rootOf(file), 'USAGE', /holds 2 images/);
    await expectError(rootOf(file, 'three:v3'), 'NOT_FOUND', /available tags: "one:v1"/);
  });

  it('oci: one image with two tags needs no reference', async () => {
    const dir = await temp.make();
    const file = join(dir, 'oci.tar');
    await writeDockerArchive(file, images()[0]!, { format: 'oci' });
    const image = await readWholeImage(new DockerArchiveSource(file));
    expect(image.layers).toEqual([base, shared]);
    const inspected = JSON.parse(await skopeo(['inspect', `docker-archive:${file}`], dir)) as { Layers: string[] };
    expect(inspected.Layers).toEqual([sha256(base), sha256(shared)]);
  });

  it('archive blobs honour ranges and the size + 1 bound', async () => {
    const dir = await temp.make();
    const file = join(dir, 'legacy.tar');
    await writeDockerArchive(file, images()[0]!, { format: 'legacy' });
    const source = new DockerArchiveSource(file);
    const manifest = JSON.parse(Buffer.from((await source.resolveRoot()).bytes).toString()) as ImageManifest;
    const layer = manifest.layers[0]!;
    expect(await readAll(await source.openBlob(layer, { range: { start: 100, end: 199 } }))).toEqual(base.subarray(100, 200));
    expect((await readAll(await source.openBlob({ ...layer, size: 10 }))).length).toBe(11);
    expect((await readAll(await source.openBlob(layer, { range: { start: base.length + 5 } }))).length).toBe(0);
    await source.close();
    await expectError(source.resolveRoot(), 'USAGE', /was closed/);
  });

  it('keeps its file open across streams that end, are destroyed early, or run concurrently', async () => {
    const dir = await temp.make();
    const file = join(dir, 'legacy.tar');
    await writeDockerArchive(file, images()[0]!, { format: 'legacy' });
    const source = new DockerArchiveSource(file);
    const manifest = JSON.parse(Buffer.from((await source.resolveRoot()).bytes).toString()) as ImageManifest;
    const [first, second] = manifest.layers as [ImageManifest['layers'][0], ImageManifest['layers'][0]];
    expect(await readAll(await source.openBlob(first))).toEqual(base);
    const early = await source.openBlob(second);
    early.destroy();
    await new Promise((resolve) => early.once('close', resolve));
    for await (const chunk of await source.openBlob(first)) {
      void chunk;
      break;
    }
    const both = await Promise.all([source.openBlob(first), source.openBlob(second)].map(async (s) => readAll(await s)));
    expect(both).toEqual([base, shared]);
    await source.close();
  });

  it('reads a real docker-archive produced from our own layout by skopeo', async () => {
    const dir = await temp.make();
    const layout = join(dir, 'layout');
    const built = await writeImageToLayout(layout, { tag: 'v1', layers: [{ files: [{ path: 'x', content: 'x' }] }] });
    const file = join(dir, 'a.tar');
    await skopeo(['copy', `oci:${layout}:v1`, `docker-archive:${file}:demo:v1`], dir);
    const image = await readWholeImage(new DockerArchiveSource(file, 'demo:v1'));
    expect(image.manifest.layers[0]!.digest).toBe(built.layers[0]!.diffId);
  });
});

describe('DockerArchiveSource refuses hostile archives', () => {
  let layer: Buffer;
  let config: Buffer;
  let configName: string;

  beforeAll(async () => {
    layer = await layerTar([{ path: 'a', content: 'a' }]);
    config = configFor([layer]);
    configName = `${sha256(config).slice(7)}.json`;
  });

  function manifestJson(layers = ['l1/layer.tar'], configFile?: string): string {
    return JSON.stringify([{ Config: configFile ?? configName, RepoTags: ['app:v1'], Layers: layers }]);
  }

  async function archiveOf(bytes: Buffer): Promise<string> {
    const file = join(await temp.make(), 'hostile.tar');
    await writeFile(file, bytes);
    return file;
  }

  function good(): Buffer {
    return rawTar([
      { name: configName, data: config },
      { name: 'l1/layer.tar', data: layer },
      { name: 'manifest.json', data: manifestJson() },
    ]);
  }

  it('the raw fixture itself reads back (control)', async () => {
    const image = await readWholeImage(new DockerArchiveSource(await archiveOf(good()), 'app:v1'));
    expect(image.layers[0]).toEqual(layer);
  });

  it('a truncated tar', async () => {
    const bytes = good();
    await expectError(rootOf(await archiveOf(bytes.subarray(0, 1000))), 'INVALID_ARCHIVE', /truncated|declares \d+ bytes/);
    // Cut on a header boundary: no end-of-archive marker.
    await expectError(rootOf(await archiveOf(bytes.subarray(0, bytes.length - 1024))), 'INVALID_ARCHIVE', /without the end-of-archive marker/);
    await expectError(rootOf(await archiveOf(Buffer.alloc(0))), 'INVALID_ARCHIVE', /truncated/);
  });

  it('a bad header checksum', async () => {
    const bytes = good();
    bytes[3] = bytes[3]! ^ 0x01;
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /bad tar header at byte 0: checksum mismatch/);
    await expectError(
      rootOf(await archiveOf(rawTar([{ name: 'manifest.json', data: '[]', badChecksum: true }]))),
      'INVALID_ARCHIVE',
      /checksum mismatch/,
    );
  });

  it('not a tar at all', async () => {
    await expectError(new DockerArchiveSource(await archiveOf(Buffer.from('PK\x03\x04'.repeat(300)))).resolveRoot(), 'INVALID_ARCHIVE', /bad tar header|not octal/);
  });

  it.each([['../x'], ['a/../../x'], ['/etc/passwd']])('an entry named %s', async (name) => {
    const bytes = rawTar([{ name, data: 'x' }, { name: 'manifest.json', data: manifestJson() }]);
    await expectError(rootOf(await archiveOf(bytes)), 'UNSAFE_PATH', /refusing/);
  });

  it('an entry named ../x through a PAX path or a GNU long name', async () => {
    const pax = rawTar([{ name: 'PaxHeader', type: 'x', data: paxRecord('path', '../../x') }, { name: 'harmless', data: 'x' }]);
    await expectError(rootOf(await archiveOf(pax)), 'UNSAFE_PATH', /"\.\.\/\.\.\/x"/);
    const gnu = rawTar([{ name: '././@LongLink', type: 'L', data: '../y\0', gnuMagic: true }, { name: 'harmless', data: 'x', gnuMagic: true }]);
    await expectError(rootOf(await archiveOf(gnu)), 'UNSAFE_PATH', /"\.\.\/y"/);
  });

  it('a duplicate manifest.json', async () => {
    const bytes = rawTar([
      { name: configName, data: config },
      { name: 'l1/layer.tar', data: layer },
      { name: 'manifest.json', data: manifestJson() },
      { name: './manifest.json', data: '[]' },
    ]);
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /holds "manifest.json" twice/);
  });

  it('manifest.json pointing at a missing layer or config', async () => {
    const missingLayer = rawTar([{ name: configName, data: config }, { name: 'manifest.json', data: manifestJson() }]);
    await expectError(rootOf(await archiveOf(missingLayer)), 'INVALID_ARCHIVE', /names layer "l1\/layer.tar", which is not in the archive/);
    const missingConfig = rawTar([{ name: 'l1/layer.tar', data: layer }, { name: 'manifest.json', data: manifestJson() }]);
    await expectError(rootOf(await archiveOf(missingConfig)), 'INVALID_ARCHIVE', /names config .* which is not in the archive/);
  });

  it('manifest.json naming a layer outside the archive', async () => {
    const bytes = rawTar([{ name: configName, data: config }, { name: 'manifest.json', data: manifestJson(['../../etc/passwd']) }]);
    await expectError(rootOf(await archiveOf(bytes)), 'UNSAFE_PATH', /climb out/);
  });

  it('a layer.tar symlink pointing outside the archive', async () => {
    const bytes = rawTar([
      { name: configName, data: config },
      { name: 'l1/layer.tar', type: '2', linkname: '../../../etc/passwd' },
      { name: 'manifest.json', data: manifestJson() },
    ]);
    await expectError(rootOf(await archiveOf(bytes)), 'UNSAFE_PATH', /outside the archive/);
  });

  it('a symlink loop', async () => {
    const bytes = rawTar([
      { name: configName, data: config },
      { name: 'l1/layer.tar', type: '2', linkname: 'other.tar' },
      { name: 'l1/other.tar', type: '2', linkname: 'layer.tar' },
      { name: 'manifest.json', data: manifestJson() },
    ]);
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /chain of more than 16 links/);
  });

  it('a huge declared size', async () => {
    const octalHuge = rawTar([{ name: 'manifest.json', data: '[]', declaredSize: 0o77777777777 }]);
    await expectError(rootOf(await archiveOf(octalHuge)), 'INVALID_ARCHIVE', /declares 8589934591 bytes but the file has only/);
    const base256 = rawTar([{ name: 'manifest.json', data: '[]', base256Size: 1n << 70n }]);
    await expectError(rootOf(await archiveOf(base256)), 'INVALID_ARCHIVE', /size is too large/);
    const pax = rawTar([{ name: 'p', type: 'x', data: paxRecord('size', '99999999999999') }, { name: 'manifest.json', data: '[]' }]);
    await expectError(rootOf(await archiveOf(pax)), 'INVALID_ARCHIVE', /declares 99999999999999 bytes/);
  });

  it('a malformed PAX record', async () => {
    const bytes = rawTar([{ name: 'p', type: 'x', data: '999 path=x\n' }, { name: 'manifest.json', data: '[]' }]);
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /PAX record length/);
  });

  it.each([
    ['garbage', 'garbage'],
    ['an object', '{}'],
    ['duplicate keys', `[{"Config":"c","Config":"d","RepoTags":[],"Layers":[]}]`],
    ['a missing Layers list', '[{"Config":"c.json","RepoTags":["a:b"]}]'],
    ['non-string tags', '[{"Config":"c.json","RepoTags":[1],"Layers":[]}]'],
  ])('a manifest.json with %s', async (_name, text) => {
    const bytes = rawTar([{ name: 'manifest.json', data: text }]);
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /manifest\.json in docker archive/);
  });

  it('a config whose diff_ids do not match the layer count, or are not digests', async () => {
    const twoIds = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(layer), sha256(layer)] } }));
    const bytes = rawTar([{ name: 'c.json', data: twoIds }, { name: 'l1/layer.tar', data: layer }, { name: 'manifest.json', data: manifestJson(undefined, 'c.json') }]);
    await expectError(rootOf(await archiveOf(bytes)), 'INVALID_ARCHIVE', /lists 1 layers but the config has 2 diff_ids/);
    const badId = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['sha256:zz'] } }));
    const bytes2 = rawTar([{ name: 'c.json', data: badId }, { name: 'l1/layer.tar', data: layer }, { name: 'manifest.json', data: manifestJson(undefined, 'c.json') }]);
    const error = await rootOf(await archiveOf(bytes2)).catch((e: unknown) => e);
    expect(isTollgateError(error)).toBe(true);
    expect((error as Error).message).toMatch(/diff_ids\[0\]/);
  });

  it('a config lying about an uncompressed layer is exposed by the blob digest', async () => {
    const lying = configFor([Buffer.from('something else')]);
    const bytes = rawTar([{ name: 'c.json', data: lying }, { name: 'l1/layer.tar', data: layer }, { name: 'manifest.json', data: manifestJson(undefined, 'c.json') }]);
    const source = new DockerArchiveSource(await archiveOf(bytes));
    const manifest = JSON.parse(Buffer.from((await source.resolveRoot()).bytes).toString()) as ImageManifest;
    const served = await readAll(await source.openBlob(manifest.layers[0]!));
    expect(sha256(served)).not.toBe(manifest.layers[0]!.digest);
    await source.close();
  });

  it('an archive with neither manifest.json nor index.json', async () => {
    await expectError(rootOf(await archiveOf(rawTar([{ name: 'x', data: 'x' }]))), 'INVALID_ARCHIVE', /neither manifest\.json nor index\.json/);
  });

  it('a missing file or a directory', async () => {
    await expectError(rootOf('/nonexistent/tollgate.tar'), 'NOT_FOUND', /does not exist/);
    await expectError(rootOf(await temp.make()), 'INVALID_ARCHIVE', /is a directory/);
  });

  it('an OCI-format archive with garbage index.json or a missing blob', async () => {
    const garbage = rawTar([{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: '{"schemaVersion":2,' }]);
    await expectError(rootOf(await archiveOf(garbage)), 'INVALID_LAYOUT', /index\.json in docker archive/);
    const digest = sha256(Buffer.from('{}'));
    const missing = rawTar([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest, size: 2 }] }) },
    ]);
    await expectError(rootOf(await archiveOf(missing)), 'NOT_FOUND', new RegExp(`blob ${digest} not found in docker archive`));
  });

  it('gzip-compressed archives are refused clearly (they are not what docker save writes)', async () => {
    await expectError(new DockerArchiveSource(await archiveOf(gzipSync(good()))).resolveRoot(), 'INVALID_ARCHIVE', /is gzip-compressed; decompress it first \(gunzip\)/);
  });

  it('reads an archive with GNU long names and PAX paths (control for the header scanner)', async () => {
    const longDir = `${'d'.repeat(120)}`;
    const bytes = rawTar([
      { name: configName, data: config },
      { name: '././@LongLink', type: 'L', data: `${longDir}/layer.tar\0`, gnuMagic: true },
      { name: 'short', data: layer, gnuMagic: true },
      { name: 'p', type: 'x', data: paxRecord('path', 'manifest.json') },
      { name: 'ignored-name', data: manifestJson([`${longDir}/layer.tar`]) },
    ]);
    const image = await readWholeImage(new DockerArchiveSource(await archiveOf(bytes)));
    expect(image.layers[0]).toEqual(layer);
  });

  it('reads an archive whose names use the ustar prefix field', async () => {
    const bytes = rawTar([
      { name: configName, data: config },
      { name: 'layer.tar', prefix: 'deep/dir', data: layer },
      { name: 'manifest.json', data: manifestJson(['deep/dir/layer.tar']) },
    ]);
    const image = await readWholeImage(new DockerArchiveSource(await archiveOf(bytes)));
    expect(image.layers[0]).toEqual(layer);
  });

  it('never fails with anything but a TollgateError on a corrupted archive (property)', async () => {
    const original = good();
    const file = join(await temp.make(), 'fuzz.tar');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.option(fc.nat({ max: original.length }), { nil: undefined }),
        async (flips, cut) => {
          const bytes = Buffer.from(original);
          for (const [at, value] of flips) bytes[at] = value;
          await writeFile(file, cut === undefined ? bytes : bytes.subarray(0, cut));
          const source = new DockerArchiveSource(file);
          try {
            const image = await readWholeImage(source).catch((e: unknown) => {
              if (e instanceof Error && /does not verify|digest .* != /.test(e.message)) return undefined;
              throw e;
            });
            void image;
          } catch (error) {
            if (!isTollgateError(error)) throw error;
            expect(error.message).not.toContain('\n');
          } finally {
            await source.close();
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(await readFile(file)).toBeDefined();
  });
});

describe('DockerArchiveSource on Docker 25+ archives from the containerd image store', () => {
  let layer: Buffer;
  let config: Buffer;
  let manifest: Buffer;
  let imageIndex: Buffer;
  const blobName = (bytes: Buffer) => `blobs/sha256/${sha256(bytes).slice(7)}`;

  beforeAll(async () => {
    layer = await layerTar([{ path: 'bin/app', content: 'app' }]);
    config = configFor([layer], 'ctr');
    manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayer, digest: sha256(layer), size: layer.length }],
    }));
    imageIndex = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        // Docker saves only the platform it has; the other child is named but absent.
        { mediaType: MediaType.OciManifest, digest: sha256(Buffer.from('arm64 manifest')), size: 14, platform: { architecture: 'arm64', os: 'linux' } },
        { mediaType: MediaType.OciManifest, digest: sha256(manifest), size: manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }));
  });

  function archive(options: { manifestJson?: boolean; indexEntries?: unknown[] } = {}): Buffer {
    const entries = [
      { name: blobName(layer), data: layer },
      { name: blobName(config), data: config },
      { name: blobName(manifest), data: manifest },
      { name: blobName(imageIndex), data: imageIndex },
      {
        name: 'index.json',
        data: JSON.stringify({
          schemaVersion: 2,
          manifests: options.indexEntries ?? [
            { mediaType: MediaType.OciIndex, digest: sha256(imageIndex), size: imageIndex.length, annotations: { 'io.containerd.image.name': 'docker.io/library/app:v1', 'org.opencontainers.image.ref.name': 'v1' } },
          ],
        }),
      },
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    ];
    if (options.manifestJson !== false) {
      entries.push({ name: 'manifest.json', data: JSON.stringify([{ Config: blobName(config), RepoTags: ['app:v1'], Layers: [blobName(layer)] }]) });
    }
    return rawTar(entries);
  }

  async function fileOf(bytes: Buffer): Promise<string> {
    const file = join(await temp.make(), 'ctr.tar');
    await writeFile(file, bytes);
    return file;
  }

  it('without a reference the root is the saved image index; its present child is readable, the absent one NOT_FOUND', async () => {
    const source = new DockerArchiveSource(await fileOf(archive()));
    const root = await source.resolveRoot();
    expect(root.mediaType).toBe(MediaType.OciIndex);
    expect(root.expectedDigest).toBe(sha256(imageIndex));
    const children = (JSON.parse(imageIndex.toString()) as { manifests: Array<{ mediaType: string; digest: string; size: number }> }).manifests;
    expect((await source.fetchManifest(children[1]!)).bytes).toEqual(manifest);
    await expectError(source.fetchManifest(children[0]!), 'NOT_FOUND', /not found in docker archive/);
    await source.close();
  });

  it('with a name:tag, manifest.json leads to the platform manifest inside the index', async () => {
    const source = new DockerArchiveSource(await fileOf(archive()), 'app:v1');
    const image = await readWholeImage(source);
    expect(image.manifestDigest).toBe(sha256(manifest));
    expect(image.layers).toEqual([layer]);
    await source.close();
  });

  it('without manifest.json, a name:tag matches the containerd image name annotation', async () => {
    const file = await fileOf(archive({ manifestJson: false }));
    expect((await rootOf(file, 'app:v1')).expectedDigest).toBe(sha256(imageIndex));
    await expectError(rootOf(file, 'other:v1'), 'NOT_FOUND', /available: "docker.io\/library\/app:v1", "v1"/);
  });

  it('when index.json does not describe the image manifest.json names, the image is read the legacy way', async () => {
    const source = new DockerArchiveSource(await fileOf(archive({ indexEntries: [] })), 'app:v1');
    const image = await readWholeImage(source);
    expect(image.manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(image.manifest.layers[0]).toEqual({ mediaType: MediaType.DockerLayer, size: layer.length, digest: sha256(layer) });
    await source.close();
  });
});
