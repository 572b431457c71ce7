import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import type tarStream from 'tar-stream';
import { digestOf } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, ImageManifest } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import { parseReference } from '../../reference/reference.js';
import { REF_NAME_ANNOTATION } from '../oci-layout/layout-read.js';
import type { TarHeader } from '../oci-layout/layer-tar.js';
import { CONTAINERD_IMAGE_NAME } from './archive-layout-match.js';
import { tarStreamLibrary } from '../../util/tar-stream-library.js';

/** One image to put in an archive: its config bytes, its layers as uncompressed tars (bytes or a file path), tags. */
export interface ArchiveImageInput {
  config: Uint8Array;
  layers: Array<Uint8Array | string>;
  repoTags: string[];
}

export interface WriteDockerArchiveOptions {
  /** `legacy`: `docker save` before Docker 25 (`<id>/layer.tar`); `oci`: Docker 25+ (an OCI layout plus manifest.json). */
  format: 'legacy' | 'oci';
  /** Legacy only: gzip the layer.tar files, as some tools other than Docker do. */
  gzipLayers?: boolean;
}

type Content = Buffer | { path: string; size: number };

interface PreparedLayer {
  content: Content;
  diffId: string;
}

const EPOCH = new Date(0);

async function prepareLayer(layer: Uint8Array | string): Promise<PreparedLayer> {
  if (typeof layer !== 'string') {
    const bytes = Buffer.from(layer.buffer, layer.byteOffset, layer.byteLength);
    return { content: bytes, diffId: digestOf(bytes) };
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(layer)) hash.update(chunk as Buffer);
  return { content: { path: layer, size: (await stat(layer)).size }, diffId: `sha256:${hash.digest('hex')}` };
}

function addEntry(pack: tarStream.Pack, name: string, content?: Content | string, type: 'file' | 'directory' | 'symlink' = 'file', linkname?: string): Promise<void> {
  const header: TarHeader = { name, type, mtime: EPOCH, mode: type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644 };
  if (linkname !== undefined) header.linkname = linkname;
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve());
    if (content === undefined) {
      pack.entry(header, done);
    } else if (typeof content === 'string' || Buffer.isBuffer(content)) {
      pack.entry(header, typeof content === 'string' ? Buffer.from(content) : content, done);
    } else {
      const sink = pack.entry({ ...header, size: content.size }, done);
      (async () => {
        for await (const chunk of createReadStream(content.path)) {
          if (!sink.write(chunk as Buffer)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
        }
        sink.end(undefined);
      })().catch((error: unknown) => {
        sink.destroy(error as Error);
        reject(error as Error);
      });
    }
  });
}

function repositories(images: ArchiveImageInput[], topIds: string[]): Record<string, Record<string, string>> {
  const repos: Record<string, Record<string, string>> = {};
  images.forEach((image, i) => {
    for (const tag of image.repoTags) {
      const colon = tag.lastIndexOf(':');
      if (colon <= 0 || tag.slice(colon).includes('/')) continue;
      (repos[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = topIds[i]!;
    }
  });
  return repos;
}

async function writeLegacy(pack: tarStream.Pack, images: ArchiveImageInput[], gzipLayers: boolean): Promise<void> {
  const written = new Set<string>();
  const layerDirByDiffId = new Map<string, string>();
  const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const topIds: string[] = [];
  for (const image of images) {
    const layers: string[] = [];
    let parent: string | undefined;
    for (const layer of image.layers) {
      const prepared = await prepareLayer(layer);
      // A v1 layer id depends on the layer and its parent chain, like the ids docker save gives its layer folders.
      const id = createHash('sha256').update(`${parent ?? ''}\n${prepared.diffId}`).digest('hex');
      if (!written.has(id)) {
        written.add(id);
        await addEntry(pack, `${id}/`, undefined, 'directory');
        await addEntry(pack, `${id}/VERSION`, '1.0');
        await addEntry(pack, `${id}/json`, JSON.stringify({ id, ...(parent ? { parent } : {}), created: EPOCH.toISOString(), os: 'linux' }));
        const earlier = layerDirByDiffId.get(prepared.diffId);
        if (earlier !== undefined) {
          // docker save stores a layer once and links later copies to it.
          await addEntry(pack, `${id}/layer.tar`, undefined, 'symlink', `../${earlier}/layer.tar`);
        } else {
          let content = prepared.content;
          if (gzipLayers) content = gzipSync(Buffer.isBuffer(content) ? content : await readFile(content.path));
          await addEntry(pack, `${id}/layer.tar`, content);
          layerDirByDiffId.set(prepared.diffId, id);
        }
      }
      layers.push(`${id}/layer.tar`);
      parent = id;
    }
    const configName = `${digestOf(image.config).slice('sha256:'.length)}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      await addEntry(pack, configName, Buffer.from(image.config));
    }
    manifest.push({ Config: configName, RepoTags: image.repoTags.length > 0 ? image.repoTags : null, Layers: layers });
    topIds.push(parent ?? '');
  }
  await addEntry(pack, 'manifest.json', JSON.stringify(manifest));
  await addEntry(pack, 'repositories', JSON.stringify(repositories(images, topIds)));
}

async function writeOci(pack: tarStream.Pack, images: ArchiveImageInput[]): Promise<void> {
  const written = new Set<string>();
  const blob = async (digest: string, content: Content) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addEntry(pack, `blobs/sha256/${digest.slice('sha256:'.length)}`, content);
  };
  await addEntry(pack, 'blobs/', undefined, 'directory');
  await addEntry(pack, 'blobs/sha256/', undefined, 'directory');
  const index: Descriptor[] = [];
  const manifestJson: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  for (const image of images) {
    const layers: Descriptor[] = [];
    for (const layer of image.layers) {
      const prepared = await prepareLayer(layer);
      const size = Buffer.isBuffer(prepared.content) ? prepared.content.length : prepared.content.size;
      await blob(prepared.diffId, prepared.content);
      layers.push({ mediaType: MediaType.OciLayer, digest: prepared.diffId, size });
    }
    const configDigest = digestOf(image.config);
    await blob(configDigest, Buffer.from(image.config));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: image.config.length },
      layers,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = digestOf(manifestBytes);
    await blob(manifestDigest, manifestBytes);
    const base: Descriptor = { mediaType: MediaType.OciManifest, digest: manifestDigest, size: manifestBytes.length };
    if (image.repoTags.length === 0) index.push(base);
    for (const tag of image.repoTags) {
      const reference = parseReference(tag);
      index.push({ ...base, annotations: { [CONTAINERD_IMAGE_NAME]: reference.toString(), [REF_NAME_ANNOTATION]: reference.tag ?? 'latest' } });
    }
    manifestJson.push({
      Config: `blobs/sha256/${configDigest.slice('sha256:'.length)}`,
      RepoTags: image.repoTags.length > 0 ? image.repoTags : null,
      Layers: layers.map((l) => `blobs/sha256/${l.digest.slice('sha256:'.length)}`),
    });
  }
  await addEntry(pack, 'index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index }));
  await addEntry(pack, 'manifest.json', JSON.stringify(manifestJson));
  await addEntry(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/**
 * Writes a `docker save`-format archive: the pre-Docker-25 layout (`<id>/layer.tar`, `<hex>.json`, manifest.json,
 * repositories) or the Docker 25+ one (an OCI layout with uncompressed layers, plus manifest.json). For tests and
 * the demo; the file appears atomically (written beside the target, then renamed).
 */
export async function writeDockerArchive(
  outputPath: string,
  source: ArchiveImageInput | ArchiveImageInput[],
  options: WriteDockerArchiveOptions,
): Promise<void> {
  const images = Array.isArray(source) ? source : [source];
  if (options.gzipLayers && options.format !== 'legacy') {
    throw new TollgateError('USAGE', 'gzipLayers applies only to the legacy docker archive format');
  }
  const temp = `${outputPath}.${process.pid}.tmp`;
  const pack = tarStreamLibrary().pack();
  const done = pipeline(pack as AsyncIterable<Buffer>, createWriteStream(temp));
  try {
    if (options.format === 'legacy') await writeLegacy(pack, images, options.gzipLayers ?? false);
    else await writeOci(pack, images);
    pack.finalize();
    await done;
    await rename(temp, outputPath);
  } catch (error) {
    pack.destroy();
    await done.catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
