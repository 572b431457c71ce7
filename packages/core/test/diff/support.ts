/** Test support for image diffs: images with raw tar entries (xattrs, devices, any gzip level) via our layout writer. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import {
  buildImage,
  MediaType,
  OciLayoutWriter,
  openImage,
  type BuildLayer,
  type ImageConfig,
  type ImageManifest,
  type OpenedImage,
} from '@tollgate/core';

export type RawEntry = Parameters<tarStream.Pack['entry']>[0] & { content?: string | Buffer };

/** Packs raw tar-stream headers (pax records, devices, any type) into an uncompressed tar in memory. */
export async function packRaw(entries: readonly RawEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const { content, ...header } of entries) {
    const h = { mtime: new Date(0), uid: 0, gid: 0, ...header };
    const isFile = h.type === undefined || h.type === 'file' || h.type === 'contiguous-file';
    if (content !== undefined || isFile) pack.entry(h, typeof content === 'string' ? Buffer.from(content) : (content ?? Buffer.alloc(0)));
    else pack.entry(h);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface RawImageOptions {
  tag: string;
  /** Uncompressed tars, one per layer. */
  layers: Buffer[];
  /** gzip level per layer (default 6); 0 writes the layer uncompressed. */
  gzipLevels?: number[];
  config?: Partial<ImageConfig>;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
  /** Overrides applied to the config's diff_ids (to build corrupt images). */
  diffIDs?: string[];
}

/** Writes an image from raw tars into a layout with our OciLayoutWriter; returns the manifest digest. */
export async function writeRawImage(writer: OciLayoutWriter, options: RawImageOptions): Promise<{ digest: string; manifest: ImageManifest; diffIDs: string[] }> {
  const layers = [];
  const diffIDs: string[] = [];
  for (const [i, tar] of options.layers.entries()) {
    const level = options.gzipLevels?.[i] ?? 6;
    const blob = level === 0 ? tar : gzipSync(tar, { level });
    const written = await writer.writeBlob(blob);
    layers.push({ mediaType: level === 0 ? MediaType.OciLayer : MediaType.OciLayerGzip, digest: written.digest, size: written.size });
    diffIDs.push(sha(tar));
  }
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config: ImageConfig = {
    created: '1970-01-01T00:00:00Z',
    ...platform,
    config: {},
    ...options.config,
    rootfs: { type: 'layers', diff_ids: options.diffIDs ?? diffIDs },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob = await writer.writeBlob(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  if (options.annotations) manifest.annotations = options.annotations;
  const bytes = Buffer.from(JSON.stringify(manifest));
  const descriptor = await writer.writeManifest(bytes, MediaType.OciManifest, options.tag, platform);
  return { digest: descriptor.digest, manifest, diffIDs };
}

/** A temp layout and helpers to build and open images in it. */
export async function tempLayout(): Promise<{
  dir: string;
  writer: OciLayoutWriter;
  build(tag: string, layers: BuildLayer[], config?: Partial<ImageConfig>): Promise<void>;
  open(tag: string): Promise<OpenedImage>;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-diff-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  const opened: OpenedImage[] = [];
  return {
    dir,
    writer,
    async build(tag, layers, config) {
      await buildImage(writer, { tag, layers, config });
    },
    async open(tag) {
      const image = await openImage(`oci:${writer.dir}:${tag}`);
      opened.push(image);
      return image;
    },
    async cleanup() {
      await Promise.all(opened.map((o) => o.source.close?.()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The change set in a compact, exact form: '<kind> <path> [attrs]'. */
export function changeSet(files: { kind: string; path: string; changes: string[] }[]): string[] {
  return files.map((f) => `${f.kind === 'added' ? '+' : f.kind === 'removed' ? '-' : '~'} ${f.path}${f.changes.length ? ` ${f.changes.join(',')}` : ''}`);
}
