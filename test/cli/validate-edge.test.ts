import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { buildImage, MediaType, OciLayoutWriter, writeDockerArchive, type BuiltImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';

const exec = promisify(execFile);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Edge cases of inspect/validate on images our own writer builds: platforms, hostile entries, bad chains. */
describe('tollgate inspect / validate edge cases', () => {
  let work: string;
  let writer: OciLayoutWriter;
  let amd64: BuiltImage;
  let arm64: BuiltImage;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-edge-'));
    writer = await OciLayoutWriter.create(join(work, 'layout'));
    amd64 = await buildImage(writer, { tag: 'amd64', layers: [{ files: [{ path: 'arch', content: 'amd64\n' }] }] });
    arm64 = await buildImage(writer, {
      tag: 'arm64',
      layers: [{ files: [{ path: 'arch', content: 'arm64\n' }] }],
      config: { architecture: 'arm64', variant: 'v8' },
    });
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...amd64.descriptor, annotations: undefined, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm64.descriptor, annotations: undefined, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    await writer.writeManifest(encode(index), MediaType.OciIndex, 'multi');
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('picks the requested platform from an index and validates it', async () => {
    const ref = `oci:${join(work, 'layout')}:multi`;
    const inspect = JSON.parse((await runCli(['inspect', '--json', '--platform', 'linux/arm64', ref])).stdout);
    expect(inspect.platforms.map((p: { platform: string }) => p.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(inspect.image.digest).toBe(arm64.descriptor.digest);
    const validate = await runCli(['validate', '--json', '--no-cache', '--platform', 'linux/amd64', ref]);
    expect(validate.code).toBe(0);
    expect(JSON.parse(validate.stdout).manifestDigest).toBe(amd64.descriptor.digest);
    const digest = await runCli(['digest', ref]);
    expect(digest.stdout.trim()).toMatch(/^sha256:/);
    expect(digest.stdout.trim()).not.toBe(amd64.descriptor.digest);
  });

  it('a platform the index does not have is a clear error listing the ones it has', async () => {
    const result = await runCli(['inspect', '--platform', 'linux/s390x', `oci:${join(work, 'layout')}:multi`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/linux\/amd64/);
    expect(result.stderr).toMatch(/s390x/);
  });

  it('tar entries that escape the root fail validation and are named', async () => {
    await buildImage(writer, {
      tag: 'hostile',
      layers: [{ files: [{ path: 'ok.txt', content: 'fine\n' }, { path: '../../etc/cron.d/evil', content: '* * * * * root sh\n' }] }],
    });
    const result = await runCli(['validate', '--no-cache', `oci:${join(work, 'layout')}:hostile`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('../../etc/cron.d/evil');
    expect(result.stdout).toMatch(/unsafe tar entry/);
  });

  it('a config whose diff_ids or history disagree with the layers fails, naming both counts', async () => {
    const base = amd64;
    const config = { ...base.config, rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, base.config.rootfs.diff_ids[0]] } };
    const configBlob = await writer.writeBlob(encode(config));
    const manifest = { ...base.manifest, config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size } };
    await writer.writeManifest(encode(manifest), MediaType.OciManifest, 'bad-count');
    const result = await runCli(['validate', '--json', '--no-cache', `oci:${join(work, 'layout')}:bad-count`]);
    expect(result.code).toBe(1);
    const kinds = JSON.parse(result.stdout).problems.map((p: { kind: string }) => p.kind);
    expect(kinds).toContain('diff-id-count');
  });

  it('a foreign layer the source does not hold is reported, never fetched from its URL, and fails validation', async () => {
    const base = amd64;
    const foreign = { mediaType: MediaType.DockerForeignLayer, digest: `sha256:${'ab'.repeat(32)}`, size: 1234, urls: ['http://127.0.0.1:9/never-fetched.tar.gz'] };
    const config = { ...base.config, rootfs: { type: 'layers', diff_ids: [`sha256:${'cd'.repeat(32)}`, ...base.config.rootfs.diff_ids] } };
    delete (config as { history?: unknown }).history;
    const configBlob = await writer.writeBlob(encode(config));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, digest: configBlob.digest, size: configBlob.size },
      layers: [foreign, { ...base.manifest.layers[0]!, mediaType: MediaType.DockerLayerGzip }],
    };
    await writer.writeManifest(encode(manifest), MediaType.DockerManifest, 'foreign');
    const result = await runCli(['validate', '--json', '--no-cache', `oci:${join(work, 'layout')}:foreign`]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'foreign-layer', blob: foreign.digest })]);
    expect(report.layers[1].ok).toBe(true);
  });

  it('validates zstd and uncompressed layers, with diffIDs equal to the real tools', async () => {
    const plain = await buildImage(writer, { tag: 'plain', compression: 'none', layers: [{ files: [{ path: 'a', content: 'plain layer\n' }] }] });
    const tarBlob = join(work, 'layout/blobs/sha256', plain.layers[0]!.digest.slice(7));
    // Build a zstd variant of the same layer with the real zstd tool.
    await exec('bash', ['-c', `zstd -q -c '${tarBlob}' > '${work}/layer.zst'`]);
    const { createReadStream } = await import('node:fs');
    const zstdBlob = await writer.writeBlob(createReadStream(join(work, 'layer.zst')));
    const manifest = { ...plain.manifest, layers: [{ mediaType: MediaType.OciLayerZstd, digest: zstdBlob.digest, size: zstdBlob.size }] };
    await writer.writeManifest(encode(manifest), MediaType.OciManifest, 'zstd');
    const { stdout } = await exec('bash', ['-c', `zstd -dc '${work}/layer.zst' | sha256sum`]);
    for (const tag of ['plain', 'zstd']) {
      const result = await runCli(['validate', '--json', '--no-cache', `oci:${join(work, 'layout')}:${tag}`]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).layers[0].diffID).toBe(`sha256:${stdout.split(' ')[0]}`);
    }
  });

  it.each(['legacy', 'oci'] as const)('a %s docker-archive written by our writer validates, and a flipped byte in any blob is named', async (format) => {
    const plain = await buildImage(writer, {
      tag: `archive-${format}`,
      compression: 'none',
      layers: [{ files: [{ path: 'etc/motd', content: 'archive layer one\n'.repeat(50) }] }, { files: [{ path: 'app/main', content: 'archive layer two\n'.repeat(50) }] }],
    });
    const layers = await Promise.all(plain.layers.map((l) => readFile(join(work, 'layout/blobs/sha256', l.digest.slice(7)))));
    const archive = join(work, `image-${format}.tar`);
    await writeDockerArchive(archive, { config: plain.configBytes, layers, repoTags: ['edge/app:v1'] }, { format });
    const good = await runCli(['validate', '--json', '--no-cache', `docker-archive:${archive}`]);
    expect(good.code, good.stderr).toBe(0);
    const blobs = [plain.manifest.config.digest, ...plain.layers.map((l) => l.digest)];
    const contents = [plain.configBytes, ...layers];
    const original = await readFile(archive);
    for (const [i, content] of contents.entries()) {
      const at = original.indexOf(Buffer.from(content));
      expect(at, `blob ${i} is stored verbatim in the archive`).toBeGreaterThan(0);
      const damaged = Buffer.from(original);
      const flipped = at + Math.floor(content.length / 2);
      damaged.writeUInt8(damaged.readUInt8(flipped) ^ 0x01, flipped);
      const copy = join(work, `damaged-${format}-${i}.tar`);
      await writeFile(copy, damaged);
      const result = await runCli(['validate', '--no-cache', `docker-archive:${copy}`]);
      expect(result.code, `${format} blob ${i}: ${result.stdout}${result.stderr}`).toBe(1);
      // A legacy archive has no manifest; its config is held to the digest in its file name, and that mismatch
      // stops the run before anything else is read (stderr), while blob mismatches are listed as problems (stdout).
      expect(i === 0 && format === 'legacy' ? result.stderr : result.stdout).toContain(blobs[i]);
    }
  });

  it('reads a docker-archive it cannot open with a one-line error', async () => {
    const result = await runCli(['validate', `docker-archive:${join(work, 'nope.tar')}`]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rejects --concurrency outside 1..64 as a usage error', async () => {
    const result = await runCli(['validate', '--concurrency', '0', `oci:${join(work, 'layout')}:amd64`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--concurrency/);
  });
});
