/**
 * `tollgate copy docker-archive:<file> …` (the built CLI) with archives made by skopeo from images umoci built and a
 * real docker-registry served: what arrives at a registry and in an OCI layout, and hostile variants of the same
 * archives refused with one line and nothing tagged at the destination.
 *
 * What a copy out of a docker archive keeps, and what it cannot: skopeo writes the layers uncompressed and no
 * registry manifest (`<config-hex>.json`, `<diffID-hex>.tar`, manifest.json), so tollgate rebuilds a Docker schema 2
 * manifest: the config byte for byte (so the image ID, the config digest, is the original one), each layer as the
 * uncompressed tar whose digest is its diffID, in JSON.stringify order. The original registry manifest's digest,
 * its gzip layer blobs and its signatures are not preserved (the archive holds none of them); the rebuilt manifest's
 * digest is what tollgate reports and what skopeo sees at the destination, the same for every copy of the archive.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { pushOciLayout, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { buildUmociImage } from '../support/umoci.js';
import { skopeo } from '../proxy/support/skopeo.js';
import { manifestOf, readTar, sha256, withData, withManifest, writeTar, type ArchiveEntry } from './support/archive-tar.js';

const execFileAsync = promisify(execFile);

async function missingTools(): Promise<string | undefined> {
  for (const [tool, args] of [['skopeo', ['--version']], ['docker-registry', ['--version']], ['umoci', ['--version']]] as const) {
    const found = await execFileAsync(tool, [...args], { timeout: 30_000 }).then(() => true, (e: { code?: unknown }) => e.code !== 'ENOENT');
    if (!found) return `${tool} is not installed (scripts/test-deps.sh installs it)`;
  }
  return undefined;
}

const unavailable = await missingTools();

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

let registry: RunningRegistry;
let work: string;
/** skopeo's archive of a two-layer image, tagged src/app:v1 and src/app:v2. */
let multi: string;
/** skopeo's archive of a one-layer image, tagged src/one:v1. */
let single: string;
/** Both images in one archive (skopeo writes one image per file: merged from the two above). */
let both: string;
let multiEntries: ArchiveEntry[];
let singleEntries: ArchiveEntry[];
/** The manifest digests the images had in the registry they were exported from. */
let original: { multi: string; single: string };

interface CopyJson {
  source: string;
  destination: string;
  digest: string;
  mediaType: string;
  tag?: string;
  reference: string;
  imageCopied: boolean;
  blobs: { copied: number; present: number; mounted: number; bytes: number };
  manifests: { copied: number; present: number };
  attachments: unknown[];
  warnings: string[];
}

async function copy(...args: string[]): Promise<{ code: number; json?: CopyJson; stdout: string; stderr: string }> {
  const result = await runCli(['copy', ...args, '--json']);
  return { ...result, ...(result.code === 0 ? { json: JSON.parse(result.stdout) as CopyJson } : {}) };
}

async function exportArchive(file: string, ...refs: string[]): Promise<void> {
  const [first, ...more] = refs;
  const extra = more.flatMap((r) => ['--additional-tag', `${registry.host}/${r}`]);
  const result = await skopeo(['copy', '--quiet', '--src-tls-verify=false', ...extra, `docker://${registry.host}/${first}`, `docker-archive:${file}:${registry.host}/${first}`]);
  if (result.code !== 0) throw new Error(`skopeo copy to ${file} failed: ${result.stderr}`);
}

/**
 * The manifest tollgate rebuilds from a skopeo archive, computed here from the archive alone: Docker schema 2, the
 * config file as it is, every layer file uncompressed (digest = diffID), keys in Docker's order, no spaces.
 */
function expectedManifest(entries: ArchiveEntry[], index = 0): { bytes: Buffer; digest: string } {
  const image = manifestOf(entries)[index]!;
  const file = (name: string) => entries.find((e) => e.name === name)!.data;
  const config = file(image.Config);
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.length, digest: sha256(config) },
    layers: image.Layers.map((name) => ({ mediaType: DOCKER_LAYER, size: file(name).length, digest: sha256(file(name)) })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, digest: sha256(bytes) };
}

async function readBlob(client: RegistryClient, repository: string, digest: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await client.getBlob(repository, digest)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function layoutTags(dir: string): Promise<Array<{ digest: string; tag?: string }>> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  return index.manifests.map((d) => ({ digest: d.digest, ...(d.annotations?.['org.opencontainers.image.ref.name'] !== undefined ? { tag: d.annotations['org.opencontainers.image.ref.name'] } : {}) }));
}

let counter = 0;
async function archiveFile(entries: ArchiveEntry[] | Buffer): Promise<string> {
  const file = join(work, `variant-${++counter}.tar`);
  await writeFile(file, Buffer.isBuffer(entries) ? entries : writeTar(entries));
  return file;
}

describe('copy docker-archive: (skopeo-made archives)', skipWhen(unavailable), () => {
  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'tollgate-copy-archive-'));
    const layout = join(work, 'built');
    await buildUmociImage(layout, 'multi', [
      async (rootfs) => writeFile(join(rootfs, 'hello.txt'), 'hello from the first layer\n'),
      async (rootfs) => {
        await mkdir(join(rootfs, 'etc'), { recursive: true });
        await writeFile(join(rootfs, 'etc', 'app.conf'), 'answer = 42\n'.repeat(500));
      },
    ], { config: { entrypoint: ['/bin/app'], labels: { 'org.example.built-by': 'umoci' } } });
    await buildUmociImage(layout, 'single', [async (rootfs) => writeFile(join(rootfs, 'only.txt'), 'a single layer\n')]);
    // umoci writes gzip layers: the registry holds them compressed, skopeo's archive holds them uncompressed.
    await pushOciLayout(layout, 'multi', registry.host, 'src/app:v1');
    await pushOciLayout(layout, 'single', registry.host, 'src/one:v1');
    original = { multi: await skopeoInspectDigest(`${registry.host}/src/app:v1`), single: await skopeoInspectDigest(`${registry.host}/src/one:v1`) };
    multi = join(work, 'multi.tar');
    single = join(work, 'single.tar');
    await exportArchive(multi, 'src/app:v1', 'src/app:v2');
    await exportArchive(single, 'src/one:v1');
    multiEntries = readTar(await readFile(multi));
    singleEntries = readTar(await readFile(single));
    // Two images in one file, as `docker save a b` writes it: the entries of both (a shared name is the same
    // content-addressed file), one manifest.json listing both images.
    const merged = new Map<string, ArchiveEntry>();
    for (const entry of [...multiEntries, ...singleEntries]) if (!merged.has(entry.name) && entry.name !== 'repositories') merged.set(entry.name, entry);
    both = await archiveFile(withManifest([...merged.values()], [...manifestOf(multiEntries), ...manifestOf(singleEntries)]));
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('skopeo wrote what the rest assumes: uncompressed layer files named and hashed by their diffIDs, no registry manifest', () => {
    const [image] = manifestOf(multiEntries);
    expect(image!.RepoTags).toEqual([`${registry.host}/src/app:v1`, `${registry.host}/src/app:v2`]);
    expect(image!.Layers).toHaveLength(2);
    const config = JSON.parse(multiEntries.find((e) => e.name === image!.Config)!.data.toString()) as { rootfs: { diff_ids: string[] } };
    const layers = image!.Layers.map((name) => multiEntries.find((e) => e.name === name)!.data);
    expect(layers.map(sha256)).toEqual(config.rootfs.diff_ids);
    expect(layers.every((l) => l[0] !== 0x1f)).toBe(true); // not gzip
    expect(multiEntries.some((e) => e.type === '2')).toBe(true); // skopeo's legacy <id>/layer.tar symlinks
    expect(multiEntries.map((e) => e.name)).not.toContain('index.json');
  });

  it('to a registry: the rebuilt manifest, the config byte for byte, uncompressed layers = diff_ids; validate passes; skopeo sees the reported digest', async () => {
    const expected = expectedManifest(multiEntries);
    const result = await copy(`docker-archive:${multi}`, `${registry.host}/dst/app:v1`);
    expect(result.code, result.stderr).toBe(0);
    const json = result.json!;
    expect(json).toMatchObject({ source: `docker-archive:${multi}`, digest: expected.digest, mediaType: DOCKER_MANIFEST, tag: 'v1', imageCopied: true, attachments: [], warnings: [] });
    expect(json.reference).toBe(`${registry.host}/dst/app@${expected.digest}`);
    expect(json.blobs).toMatchObject({ copied: 3, present: 0, mounted: 0 });
    expect(json.manifests).toEqual({ copied: 1, present: 0 });

    const client = new RegistryClient(registry.host, { retries: 0 });
    const pulled = await client.getManifest('dst/app', 'v1');
    expect(pulled.digest).toBe(expected.digest);
    expect(Buffer.from(pulled.bytes).equals(expected.bytes)).toBe(true);
    const manifest = JSON.parse(Buffer.from(pulled.bytes).toString()) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };
    const [image] = manifestOf(multiEntries);
    const archiveConfig = multiEntries.find((e) => e.name === image!.Config)!.data;
    const config = await readBlob(client, 'dst/app', manifest.config.digest);
    expect(config.equals(archiveConfig)).toBe(true);
    const diffIds = (JSON.parse(config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    expect(manifest.layers.map((l) => l.digest)).toEqual(diffIds);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([DOCKER_LAYER, DOCKER_LAYER]);
    for (const [i, layer] of manifest.layers.entries()) {
      const bytes = await readBlob(client, 'dst/app', layer.digest);
      expect(sha256(bytes)).toBe(diffIds[i]);
      expect(bytes.equals(multiEntries.find((e) => e.name === image!.Layers[i])!.data)).toBe(true);
    }

    // Preserved: the config, so the image ID. Not preserved: the manifest the image had in its registry (gzip layers).
    const source = await client.getManifest('src/app', 'v1');
    expect((JSON.parse(Buffer.from(source.bytes).toString()) as { config: { digest: string } }).config.digest).toBe(manifest.config.digest);
    expect(expected.digest).not.toBe(original.multi);

    expect(await skopeoInspectDigest(`${registry.host}/dst/app:v1`)).toBe(expected.digest);
    const validated = await runCli(['validate', '--json', '--no-cache', `${registry.host}/dst/app:v1`]);
    expect(validated.code, validated.stderr).toBe(0);
    expect(JSON.parse(validated.stdout).ok).toBe(true);
  });

  it('the same copy again moves nothing: the manifest is there, so its blobs are not even asked for', async () => {
    const result = await copy(`docker-archive:${multi}`, `${registry.host}/dst/app:v1`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.blobs).toEqual({ copied: 0, present: 0, mounted: 0, bytes: 0 });
    expect(result.json!.manifests).toEqual({ copied: 0, present: 1 });
  });

  it('to an OCI layout: the tag the archive was named by, the same digest, validate passes', async () => {
    const dir = join(work, 'layout-v2');
    const expected = expectedManifest(multiEntries);
    const result = await copy(`docker-archive:${multi}:${registry.host}/src/app:v2`, `oci:${dir}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!).toMatchObject({ digest: expected.digest, tag: 'v2', destination: `oci:${dir}`, reference: `oci:${dir}@${expected.digest}` });
    expect(await layoutTags(dir)).toEqual([{ digest: expected.digest, tag: 'v2' }]);
    expect((await readFile(join(dir, 'blobs/sha256', expected.digest.slice(7)))).equals(expected.bytes)).toBe(true);
    const validated = await runCli(['validate', '--no-cache', `oci:${dir}:v2`]);
    expect(validated.code, validated.stderr).toBe(0);
    // Not checked with skopeo: skopeo 1.9 skips index.json entries that are not OCI manifests, and the rebuilt
    // manifest is Docker schema 2 (the layout → registry copy below is how it leaves the layout).
    const pushed = await copy(`oci:${dir}:v2`, `${registry.host}/from-layout/app:v2`);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await skopeoInspectDigest(`${registry.host}/from-layout/app:v2`)).toBe(expected.digest);
  });

  it('a one-layer image, named by nothing: a layout takes its only RepoTags tag, a registry `latest`', async () => {
    const expected = expectedManifest(singleEntries);
    const dir = join(work, 'layout-one');
    const toLayout = await copy(`docker-archive:${single}`, `oci:${dir}`);
    expect(toLayout.code, toLayout.stderr).toBe(0);
    expect(toLayout.json!).toMatchObject({ digest: expected.digest, tag: 'v1' });
    expect(await layoutTags(dir)).toEqual([{ digest: expected.digest, tag: 'v1' }]);
    expect((await runCli(['validate', '--no-cache', `oci:${dir}:v1`])).code).toBe(0);
    const toRegistry = await copy(`docker-archive:${single}`, `${registry.host}/dst/one`);
    expect(toRegistry.code, toRegistry.stderr).toBe(0);
    expect(toRegistry.json!).toMatchObject({ digest: expected.digest, tag: 'latest' });
    const manifest = JSON.parse(Buffer.from((await new RegistryClient(registry.host).getManifest('dst/one', 'latest')).bytes).toString()) as { layers: unknown[] };
    expect(manifest.layers).toHaveLength(1);
    expect(expected.digest).not.toBe(original.single);
  });

  it('an image with two tags: either tag or @0 picks it (same digest); with no name a layout gets `latest`, the tags being two', async () => {
    const expected = expectedManifest(multiEntries).digest;
    for (const [name, tag] of [[`:${registry.host}/src/app:v1`, 'v1'], [`:${registry.host}/src/app:v2`, 'v2'], [':@0', 'latest'], ['', 'latest']] as const) {
      const dir = join(work, `layout-tags-${tag}-${name.length}`);
      const result = await copy(`docker-archive:${multi}${name}`, `oci:${dir}`);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      expect(result.json!, name).toMatchObject({ digest: expected, tag });
    }
  });

  it('two images in one archive: each by its tag or index, the rebuilt digests those of the one-image archives', async () => {
    for (const [name, expected] of [
      [`${registry.host}/src/one:v1`, expectedManifest(singleEntries).digest],
      ['@1', expectedManifest(singleEntries).digest],
      [`${registry.host}/src/app:v2`, expectedManifest(multiEntries).digest],
      ['@0', expectedManifest(multiEntries).digest],
    ] as const) {
      const result = await copy(`docker-archive:${both}:${name}`, `${registry.host}/dst/both:x`, '--force');
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      expect(result.json!.digest, name).toBe(expected);
    }
    expect((await runCli(['validate', '--no-cache', `${registry.host}/dst/both:x`])).code).toBe(0);
  });

  it('a gzip layer file (as other tools write) is copied as a tar.gzip layer whose content is checked against its diffID', async () => {
    const [image] = manifestOf(multiEntries);
    const name = image!.Layers[1]!;
    const entries = withData(multiEntries, name, gzipSync(multiEntries.find((e) => e.name === name)!.data));
    const result = await copy(`docker-archive:${await archiveFile(entries)}`, `${registry.host}/dst/gz:v1`);
    expect(result.code, result.stderr).toBe(0);
    const manifest = JSON.parse(Buffer.from((await new RegistryClient(registry.host).getManifest('dst/gz', 'v1')).bytes).toString()) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([DOCKER_LAYER, DOCKER_LAYER_GZIP]);
    expect(manifest.layers[1]!.digest).toBe(sha256(entries.find((e) => e.name === name)!.data));
    const validated = await runCli(['validate', '--no-cache', `${registry.host}/dst/gz:v1`]);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
  });

  describe('hostile archives: one line, the documented exit status, no tag at the destination', () => {
    const layerOf = (entries: ArchiveEntry[], i: number) => manifestOf(entries)[0]!.Layers[i]!;
    const flip = (data: Buffer, at: number) => {
      const copy = Buffer.from(data);
      copy[at] = copy[at]! ^ 0xff;
      return copy;
    };
    const cases: Array<[string, () => Promise<string>, number, RegExp]> = [
      ['a truncated tar', async () => { const bytes = await readFile(multi); return archiveFile(bytes.subarray(0, Math.floor(bytes.length / 2))); }, 2, /truncated|declares \d+ bytes/],
      ['a layer whose bytes are not its diff_id', async () => {
        const name = layerOf(multiEntries, 1);
        return archiveFile(withData(multiEntries, name, flip(multiEntries.find((e) => e.name === name)!.data, 600)));
      }, 1, /digest mismatch|DIGEST_MISMATCH|hashes to/i],
      ['a gzip layer whose content is not its diff_id', async () => {
        const name = layerOf(multiEntries, 1);
        return archiveFile(withData(multiEntries, name, gzipSync(flip(multiEntries.find((e) => e.name === name)!.data, 600))));
      }, 1, /diffID mismatch.*altered/],
      ['manifest.json naming a missing layer file', async () => {
        const manifest = manifestOf(multiEntries);
        manifest[0]!.Layers[0] = `${'0'.repeat(64)}.tar`;
        return archiveFile(withManifest(multiEntries, manifest));
      }, 2, /not in the archive/],
      ['manifest.json naming a missing config', async () => {
        const manifest = manifestOf(multiEntries);
        manifest[0]!.Config = 'gone.json';
        return archiveFile(withManifest(multiEntries, manifest));
      }, 2, /config "gone\.json", which is not in the archive/],
      ['an entry named ../x', async () => archiveFile([...multiEntries, { name: '../x', type: '0', data: Buffer.from('escape') }]), 1, /"\.\.\/x" contains "\.\."/],
      ['manifest.json naming ../x as a layer', async () => {
        const manifest = manifestOf(multiEntries);
        manifest[0]!.Layers[0] = '../x.tar';
        return archiveFile(withManifest(multiEntries, manifest));
      }, 1, /contains "\.\."/],
      ['a layer.tar symlink pointing outside the archive', async () => {
        const link = multiEntries.find((e) => e.type === '2')!;
        const entries = multiEntries.map((e) => (e === link ? { ...e, linkname: '../../../etc/passwd' } : e));
        const manifest = manifestOf(entries);
        manifest[0]!.Layers[0] = link.name;
        return archiveFile(withManifest(entries, manifest));
      }, 1, /outside the archive/],
      ['an oversize manifest.json', async () => archiveFile(withManifest(multiEntries, JSON.stringify(manifestOf(multiEntries)) + ' '.repeat(4 * 1024 * 1024))), 2, /over the \d+-byte limit/],
      ['a duplicate entry', async () => {
        const name = layerOf(multiEntries, 0);
        return archiveFile([...multiEntries, { name, type: '0', data: Buffer.from('a second, different file of the same name') }]);
      }, 2, /twice/],
      ['several images and none chosen', async () => both, 2, /holds 2 images; name one .*src\/app:v1.*src\/one:v1/],
    ];

    it.each(cases)('%s', async (label, make, code, message) => {
      const file = await make();
      const repo = `hostile/case${cases.findIndex((c) => c[0] === label)}`;
      const dir = join(work, `hostile-layout-${repo.slice(-2)}`);
      for (const destination of [`${registry.host}/${repo}:v1`, `oci:${dir}:v1`]) {
        const result = await runCli(['copy', `docker-archive:${file}`, destination]);
        expect(result.code, `${destination}: ${result.stderr}`).toBe(code);
        expect(result.stdout).toBe('');
        expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
        expect(result.stderr).toMatch(message);
      }
      expect(await new RegistryClient(registry.host, { retries: 0 }).headManifest(repo, 'v1')).toBeUndefined();
      // The archive is read before the layout is opened: it is not even created unless the copy got to the blobs,
      // and then index.json lists nothing and no blob named by an altered layer's diffID is there.
      if (label === 'a layer whose bytes are not its diff_id') {
        expect(await layoutTags(dir)).toEqual([]);
        const diffIds = manifestOf(multiEntries)[0]!.Layers.map((n) => sha256(multiEntries.find((e) => e.name === n)!.data).slice(7));
        expect(await readdir(join(dir, 'blobs/sha256'))).not.toContain(diffIds[1]);
      } else {
        expect(await exists(dir)).toBe(false);
      }
    });
  });
});
