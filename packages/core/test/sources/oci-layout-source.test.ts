import { mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollgateError, listLayoutTags, OciLayoutSource, writeImageToLayout, type Descriptor, type ImageManifest } from '@tollgate/core';
import { buildUmociImage } from '../../../../test/support/umoci.js';
import { expectError, readAll, readWholeImage, run, sha256, skopeo, tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());


describe('OciLayoutSource on a umoci-built layout', () => {
  let layout: string;
  let work: string;

  beforeAll(async () => {
    work = await temp.make();
    layout = join(work, 'layout');
    await buildUmociImage(
      layout,
      'v1',
      [
        async (rootfs) => {
          await mkdir(join(rootfs, 'etc'), { recursive: true });
          await writeFile(join(rootfs, 'etc', 'motd'), 'hello from umoci\n');
        },
        async (rootfs) => {
          await writeFile(join(rootfs, 'etc', 'motd'), 'changed\n');
          await symlink('motd', join(rootfs, 'etc', 'motd.link'));
        },
      ],
      { config: { user: '1000:1000', entrypoint: ['/bin/true'], env: ['A=1'], labels: { team: 'gate' } } },
    );
    await buildUmociImage(layout, 'v2', [(rootfs) => writeFile(join(rootfs, 'only-file'), 'x')]);
  });

  it('resolves a tag to the manifest skopeo sees, byte for byte', async () => {
    const source = new OciLayoutSource(layout, 'v1');
    const root = await source.resolveRoot();
    const raw = await skopeo(['inspect', '--raw', `oci:${layout}:v1`], work);
    expect(sha256(root.bytes)).toBe(sha256(Buffer.from(raw)));
    expect(root.expectedDigest).toBe(sha256(Buffer.from(raw)));
    expect(root.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(source.description).toBe(`oci:${layout}:v1`);
  });

  it('reads every blob so that it verifies, and the config carries umoci config', async () => {
    const image = await readWholeImage(new OciLayoutSource(layout, 'v1'));
    expect(image.manifest.layers).toHaveLength(2);
    const config = image.config as { config: { User: string; Entrypoint: string[]; Env: string[]; Labels: Record<string, string> }; rootfs: { diff_ids: string[] } };
    expect(config.config.User).toBe('1000:1000');
    expect(config.config.Entrypoint).toEqual(['/bin/true']);
    expect(config.config.Labels).toEqual({ team: 'gate' });
    expect(config.rootfs.diff_ids).toHaveLength(2);
  });

  it('lists the tags', async () => {
    expect((await listLayoutTags(layout)).sort()).toEqual(['v1', 'v2']);
  });

  it('without a tag and several images, names the tags to choose from', async () => {
    await expectError(new OciLayoutSource(layout).resolveRoot(), 'USAGE', /holds 2 images; name one with a tag, available tags: .*"v1".*"v2"|"v2".*"v1"/);
  });

  it('an unknown tag is NOT_FOUND and lists the tags', async () => {
    await expectError(new OciLayoutSource(layout, 'v3').resolveRoot(), 'NOT_FOUND', /tag "v3" not found in OCI layout .*available tags: /);
  });

  it('serves a byte range, and bounds a blob to its descriptor size + 1', async () => {
    const source = new OciLayoutSource(layout, 'v1');
    const manifest = JSON.parse(Buffer.from((await source.resolveRoot()).bytes).toString()) as ImageManifest;
    const layer = manifest.layers[0]!;
    const whole = await readAll(await source.openBlob(layer));
    const part = await readAll(await source.openBlob(layer, { range: { start: 2, end: 9 } }));
    expect(part).toEqual(whole.subarray(2, 10));
    const open = await readAll(await source.openBlob(layer, { range: { start: 5 } }));
    expect(open).toEqual(whole.subarray(5));
    // A descriptor claiming fewer bytes than the file holds gets size + 1 bytes: the caller's size check fails.
    const short: Descriptor = { ...layer, size: 10 };
    expect((await readAll(await source.openBlob(short))).length).toBe(11);
  });
});

describe('OciLayoutSource on a single-image layout', () => {
  it('picks the only image when no tag is given', async () => {
    const dir = await temp.make();
    const built = await writeImageToLayout(dir, { tag: 'only', layers: [{ files: [{ path: 'a', content: 'a' }] }] });
    const root = await new OciLayoutSource(dir).resolveRoot();
    expect(root.expectedDigest).toBe(built.descriptor.digest);
  });
});

describe('OciLayoutSource refuses hostile or broken layouts', () => {
  async function freshLayout(): Promise<{ dir: string; manifest: Descriptor; layers: Descriptor[] }> {
    const dir = await temp.make();
    const built = await writeImageToLayout(dir, { tag: 'v1', layers: [{ files: [{ path: 'f', content: 'content' }] }] });
    return { dir, manifest: built.descriptor, layers: built.manifest.layers };
  }

  it('a missing oci-layout file', async () => {
    const { dir } = await freshLayout();
    await rm(join(dir, 'oci-layout'));
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'INVALID_LAYOUT', /has no oci-layout file/);
  });

  it('an oci-layout with another version', async () => {
    const { dir } = await freshLayout();
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'INVALID_LAYOUT', /imageLayoutVersion "2.0.0"/);
  });

  it.each([
    ['garbage', 'not json at all'],
    ['duplicate keys', '{"schemaVersion":2,"manifests":[],"manifests":[]}'],
    ['an array', '[]'],
    ['a wrong schemaVersion', '{"schemaVersion":1,"manifests":[]}'],
    ['no manifests', '{"schemaVersion":2}'],
    ['a bad descriptor digest', '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../etc/passwd","size":1}]}'],
    ['a negative size', `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:${'a'.repeat(64)}","size":-1}]}`],
    ['a truncated document', '{"schemaVersion":2,"manifests":[{"mediaType":'],
  ])('an index.json with %s', async (_name, text) => {
    const { dir } = await freshLayout();
    await writeFile(join(dir, 'index.json'), text);
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'INVALID_LAYOUT', /index\.json in OCI layout/);
  });

  it('an index.json over 4 MiB', async () => {
    const { dir } = await freshLayout();
    await writeFile(join(dir, 'index.json'), `{"schemaVersion":2,"manifests":[],"x":"${'a'.repeat(4 * 1024 * 1024)}"}`);
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'INVALID_LAYOUT', /over the 4194304-byte limit/);
  });

  it('a missing index.json', async () => {
    const { dir } = await freshLayout();
    await rm(join(dir, 'index.json'));
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'INVALID_LAYOUT', /has no index\.json/);
  });

  it('a missing manifest blob is NOT_FOUND naming digest and layout', async () => {
    const { dir, manifest } = await freshLayout();
    await rm(join(dir, 'blobs', 'sha256', manifest.digest.slice(7)));
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'NOT_FOUND', new RegExp(`blob ${manifest.digest} not found in OCI layout ${dir}`));
  });

  it('a missing layer blob is NOT_FOUND', async () => {
    const { dir, layers } = await freshLayout();
    await rm(join(dir, 'blobs', 'sha256', layers[0]!.digest.slice(7)));
    await expectError(new OciLayoutSource(dir, 'v1').openBlob(layers[0]!), 'NOT_FOUND', /not found in OCI layout/);
  });

  it('a blob that is a symlink pointing outside the layout', async () => {
    const { dir, layers } = await freshLayout();
    const outside = join(await temp.make(), 'secret');
    await writeFile(outside, 'secret');
    const blob = join(dir, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    await rm(blob);
    await symlink(outside, blob);
    await expectError(new OciLayoutSource(dir, 'v1').openBlob(layers[0]!), 'UNSAFE_PATH', /is a symlink to .* outside the layout/);
  });

  it('a blobs directory that is a symlink pointing outside the layout', async () => {
    const { dir, layers } = await freshLayout();
    const elsewhere = await temp.make();
    await run('cp', ['-r', join(dir, 'blobs'), join(elsewhere, 'blobs')]);
    await rm(join(dir, 'blobs'), { recursive: true });
    await symlink(join(elsewhere, 'blobs'), join(dir, 'blobs'));
    await expectError(new OciLayoutSource(dir, 'v1').openBlob(layers[0]!), 'UNSAFE_PATH', /outside the layout/);
  });

  it('a symlinked blob inside the layout is followed', async () => {
    const { dir, layers } = await freshLayout();
    const blob = join(dir, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    const moved = join(dir, 'blobs', 'moved');
    await run('mv', [blob, moved]);
    await symlink('../moved', blob);
    const bytes = await readAll(await new OciLayoutSource(dir, 'v1').openBlob(layers[0]!));
    expect(sha256(bytes)).toBe(layers[0]!.digest);
  });

  it('a blob path that is a directory', async () => {
    const { dir, layers } = await freshLayout();
    const blob = join(dir, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    await rm(blob);
    await mkdir(blob);
    await expectError(new OciLayoutSource(dir, 'v1').openBlob(layers[0]!), 'INVALID_LAYOUT', /not a regular file/);
  });

  it('a descriptor with a digest outside the grammar never becomes a path', async () => {
    const { dir, layers } = await freshLayout();
    await expectError(new OciLayoutSource(dir, 'v1').openBlob({ ...layers[0]!, digest: 'sha256:../../../etc/passwd' }), 'INVALID_DIGEST', /invalid blob digest/);
  });

  it('a manifest blob over 4 MiB', async () => {
    const { dir, manifest } = await freshLayout();
    const blob = join(dir, 'blobs', 'sha256', manifest.digest.slice(7));
    await truncate(blob, 4 * 1024 * 1024 + 10);
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'MANIFEST_TOO_LARGE', /over the 4194304-byte limit/);
    await expectError(new OciLayoutSource(dir, 'v1').fetchManifest({ ...manifest, size: 5 * 1024 * 1024 }), 'MANIFEST_TOO_LARGE', /declares 5242880 bytes/);
  });

  it('a manifest blob whose content was altered is handed out with the digest it must have', async () => {
    const { dir, manifest } = await freshLayout();
    const blob = join(dir, 'blobs', 'sha256', manifest.digest.slice(7));
    await writeFile(blob, (await readFile(blob, 'utf8')).replace('"schemaVersion":2', '"schemaVersion":2 '));
    const root = await new OciLayoutSource(dir, 'v1').resolveRoot();
    expect(root.expectedDigest).toBe(manifest.digest);
    expect(sha256(root.bytes)).not.toBe(manifest.digest);
  });

  it('a layout directory that does not exist', async () => {
    await expectError(new OciLayoutSource('/nonexistent/tollgate/layout', 'v1').resolveRoot(), 'NOT_FOUND', /does not exist/);
  });

  it('a layout whose index.json lists nothing', async () => {
    const { dir } = await freshLayout();
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    await expectError(new OciLayoutSource(dir).resolveRoot(), 'NOT_FOUND', /holds no images/);
    await expectError(new OciLayoutSource(dir, 'v1').resolveRoot(), 'NOT_FOUND', /available tags: \(none\)/);
  });
});

describe('OciLayoutSource index.json parsing (property)', () => {
  it('any index.json text gives a root or a one-line TollgateError', async () => {
    const fc = (await import('fast-check')).default;
    const dir = await temp.make();
    await writeImageToLayout(dir, { tag: 'v1', layers: [] });
    const descriptor = fc.record({
      mediaType: fc.oneof(fc.constant('application/vnd.oci.image.manifest.v1+json'), fc.string()),
      digest: fc.oneof(fc.constant(`sha256:${'a'.repeat(64)}`), fc.string()),
      size: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      annotations: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), { nil: undefined }),
    });
    const doc = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ schemaVersion: fc.oneof(fc.constant(2), fc.integer()), manifests: fc.array(descriptor, { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(doc, async (text) => {
        await writeFile(join(dir, 'index.json'), text);
        try {
          await new OciLayoutSource(dir).resolveRoot();
        } catch (error) {
          expect(isTollgateError(error), String(error)).toBe(true);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 200 },
    );
  });
});
