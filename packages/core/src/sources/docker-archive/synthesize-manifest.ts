import { digestOf } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { ImageManifest } from '../../image/types.js';
import { readLayer } from '../../layer/read-layer.js';
import { MAX_CONFIG_BYTES, parseImageConfig } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import type { ArchiveImage } from './archive-manifest.js';
import type { TarEntry } from './tar-index.js';
import type { TarStore } from './tar-store.js';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export interface SynthesizedManifest {
  bytes: Uint8Array;
  digest: string;
  /** Blob digest → the archive entry holding that blob (config and layers). */
  blobs: Map<string, TarEntry>;
}

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

function broken(archive: string, why: string): never {
  throw new TollgateError('INVALID_ARCHIVE', `${archive}: ${why}; the archive is damaged or incomplete`);
}

/**
 * A compressed layer file is read once: its digest names the blob in the synthesised manifest, and its uncompressed
 * content must be the config's diffID. Nothing else vouches for a manifest-less archive, and a copy that trusted the
 * compressed bytes would publish an image whose layers are not the ones its config (its image ID) describes.
 */
async function digestCompressed(store: TarStore, entry: TarEntry, compression: 'gzip' | 'zstd', diffId: string, index: number): Promise<string> {
  const read = await readLayer(store.openEntry(entry, 0, entry.size - 1), { compression, indexFiles: false });
  if (read.diffID !== diffId) {
    throw new TollgateError(
      'DIGEST_MISMATCH',
      `${store.location}: layer ${index} ${JSON.stringify(entry.name)}: diffID mismatch, the config says ${diffId}, its uncompressed content is ${read.diffID}; the layer was altered`,
    );
  }
  return read.digest;
}

/**
 * A docker archive from before Docker 25 has no distribution manifest, so one is synthesised, as skopeo and crane
 * do: a Docker schema 2 manifest whose config is the archive's config file (digest hashed from its bytes) and whose
 * layers are the layer files. An uncompressed layer's digest is its diffID from the config (every reader hashes the
 * blob against it, so a lying config is caught); a compressed layer (some tools write them) is read here, its digest
 * hashed and its uncompressed content checked against the diffID (DIGEST_MISMATCH otherwise). The manifest is
 * serialised with JSON.stringify, no spaces, keys in the order Docker's schema 2 writer uses (mediaType, size,
 * digest), so its digest is synthetic: it names these bytes, not any registry's. It differs from skopeo's synthetic
 * manifest only where skopeo labels uncompressed layers `tar.gzip`; tollgate gives the true media type.
 */
const CONFIG_NAMED_BY_DIGEST = /^(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/;

export async function synthesizeManifest(store: TarStore, image: ArchiveImage): Promise<SynthesizedManifest> {
  const archive = store.location;
  const configEntry = store.entry(image.config);
  if (configEntry === undefined) broken(archive, `manifest.json names config ${JSON.stringify(image.config)}, which is not in the archive`);
  if (configEntry.size > MAX_CONFIG_BYTES) {
    throw new TollgateError('SIZE_LIMIT', `${archive}: config ${JSON.stringify(image.config)} is ${configEntry.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  }
  const configBytes = (await store.read(image.config, MAX_CONFIG_BYTES))!;
  const configDigest = digestOf(configBytes);
  // Docker names the config after its digest (`<hex>.json`, or `blobs/sha256/<hex>` from Docker 25): the only claim
  // a manifest-less archive makes about its config, so hold the bytes to it before trusting them.
  const named = CONFIG_NAMED_BY_DIGEST.exec(image.config);
  if (named && `sha256:${named[1]}` !== configDigest) {
    throw new TollgateError(
      'DIGEST_MISMATCH',
      `${archive}: config ${JSON.stringify(image.config)}: digest mismatch, its name says sha256:${named[1]}, its content is ${configDigest}; the config was altered`,
    );
  }
  const config = parseImageConfig(configBytes, `config ${image.config} in ${archive}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== image.layers.length) {
    broken(archive, `manifest.json lists ${image.layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }

  const blobs = new Map<string, TarEntry>([[configDigest, configEntry]]);
  const layers: ImageManifest['layers'] = [];
  for (const [i, path] of image.layers.entries()) {
    const entry = store.entry(path);
    if (entry === undefined) broken(archive, `manifest.json names layer ${JSON.stringify(path)}, which is not in the archive`);
    const diffId = diffIds[i]!;
    const head = (await store.read(path, ZSTD_MAGIC.length - 1))!;
    let mediaType: string = MediaType.DockerLayer;
    let digest = diffId;
    if (startsWith(head, GZIP_MAGIC) || startsWith(head, ZSTD_MAGIC)) {
      const gzip = startsWith(head, GZIP_MAGIC);
      mediaType = gzip ? MediaType.DockerLayerGzip : MediaType.OciLayerZstd;
      digest = await digestCompressed(store, entry, gzip ? 'gzip' : 'zstd', diffId, i);
    }
    blobs.set(digest, entry);
    layers.push({ mediaType, size: entry.size, digest });
  }

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, size: configBytes.length, digest: configDigest },
    layers,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { bytes, digest: digestOf(bytes), blobs };
}
