import { createHash } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import { packLayer, type LayerFile } from './layer-tar.js';
import { OciLayoutWriter, type WrittenBlob } from './oci-layout-writer.js';

export interface BuildLayer {
  files: LayerFile[];
  /** Written to the layer's history entry as `created_by`. */
  createdBy?: string;
}

export interface BuildImageOptions {
  layers: BuildLayer[];
  /** Merged over the defaults (linux/amd64, epoch timestamps); rootfs is always computed from the layers. */
  config?: Partial<ImageConfig>;
  tag: string;
  /** `gzip` (default) writes `tar+gzip` layers; `none` writes plain tar layers. */
  compression?: 'gzip' | 'none';
  annotations?: Record<string, string>;
}

export interface BuiltLayer extends WrittenBlob {
  mediaType: string;
  diffId: string;
}

export interface BuiltImage {
  /** The index.json entry: digest, size and media type of the manifest. */
  descriptor: Descriptor;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  configBytes: Uint8Array;
  config: ImageConfig;
  layers: BuiltLayer[];
}

const CREATED = '1970-01-01T00:00:00Z';

/** Writes one layer: tar → (diffID hash) → gzip → layout blob, in one streaming pass. */
async function writeLayer(writer: OciLayoutWriter, files: LayerFile[], compression: 'gzip' | 'none'): Promise<BuiltLayer> {
  const diffHash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      callback(null, chunk);
    },
  });
  const output = compression === 'gzip' ? createGzip({ level: 6 }) : new PassThrough();
  const [blob] = await Promise.all([writer.writeBlob(output), pipeline(packLayer(files), hashing, output)]);
  return {
    ...blob,
    mediaType: compression === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer,
    diffId: `sha256:${diffHash.digest('hex')}`,
  };
}

/**
 * Builds an OCI image into a layout with our own writer: real tar layers (gzip by default), a config whose
 * rootfs.diff_ids and history match them, and an OCI manifest tagged `tag`. Deterministic: the same input gives
 * the same digests. Used by tests and the demo; independent tools (skopeo, umoci) read what it writes.
 */
export async function buildImage(writer: OciLayoutWriter, options: BuildImageOptions): Promise<BuiltImage> {
  const compression = options.compression ?? 'gzip';
  const layers: BuiltLayer[] = [];
  for (const layer of options.layers) layers.push(await writeLayer(writer, layer.files, compression));

  const { rootfs: _ignored, ...given } = options.config ?? {};
  const config: ImageConfig = {
    created: CREATED,
    architecture: 'amd64',
    os: 'linux',
    ...given,
    config: { ...(given.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: given.history ?? options.layers.map((l, i) => ({ created: CREATED, created_by: l.createdBy ?? `tollgate build layer ${i + 1}` })),
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const configBlob = await writer.writeBlob(configBytes);

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  if (options.annotations !== undefined) manifest.annotations = options.annotations;
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  const platform: Platform = { architecture: config.architecture ?? 'amd64', os: config.os ?? 'linux' };
  if (config.variant !== undefined) platform.variant = config.variant;
  const descriptor = await writer.writeManifest(manifestBytes, MediaType.OciManifest, options.tag, platform);
  return { descriptor, manifestBytes, manifest, configBytes, config, layers };
}

/** Creates (or opens) the layout in `dir` and builds an image into it; see buildImage. */
export async function writeImageToLayout(dir: string, options: BuildImageOptions): Promise<BuiltImage> {
  return buildImage(await OciLayoutWriter.create(dir), options);
}
