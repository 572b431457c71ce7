import { TollgateError } from '../errors/tollgate-error.js';
import type { Image } from '../image/image.js';
import type { Descriptor } from '../image/types.js';
import type { FileEntry, LayerLimits, UnsafeEntry } from '../layer/types.js';
import type { LayerIndexStore } from '../store/layer-index-store.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { readVerifiedLayer } from './read-verified-layer.js';

/** The file index of one layer, named by the diffID the image config gives it. */
export interface LayerIndex {
  diffID: string;
  /** The blob the index was read from, or that was found in the store under the diffID. */
  descriptor: Descriptor;
  files: FileEntry[];
  /** Hostile or unreadable tar entries of the layer (never cached: a layer that has any is read again each time). */
  unsafeEntries: UnsafeEntry[];
  /** True when the index came from the store and no blob byte was read. */
  fromCache: boolean;
  /** Compressed bytes read for this index (0 from the cache). */
  bytesRead: number;
}

export interface IndexLayersOptions {
  /** File indexes by diffID: read from it first, and filled with every layer read whose digests all check out. */
  store?: LayerIndexStore;
  limits?: LayerLimits;
  signal?: AbortSignal;
  /** Layers read at once (default 2). */
  concurrency?: number;
}

/** One layer to index: the image that holds it, its descriptor, and the diffID its config gives it. */
export interface LayerJob {
  image: Image;
  descriptor: Descriptor;
  diffID: string;
}

/** The diffIDs of an image's layers from its (verified) config, checked to match the manifest's layer count. */
export async function layerDiffIDs(image: Image): Promise<string[]> {
  const config = await image.config();
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== image.layers.length) {
    throw new TollgateError(
      'INVALID_CONFIG',
      `image ${image.digest}: its config lists ${diffIDs.length} diff_ids but the manifest has ${image.layers.length} layers; the image is malformed — rebuild it`,
    );
  }
  return diffIDs;
}

/**
 * Indexes the layers named by `jobs`, each distinct diffID once (the first job naming it is used), at most
 * `concurrency` at a time. A cached index is taken from the store without reading the blob; otherwise the blob is
 * streamed through readLayer, its digest checked against the descriptor and its diffID against the config, and the
 * index stored. Any mismatch aborts with DIGEST_MISMATCH naming the blob: a diff of corrupted content is worse than
 * none. Returns the indexes by diffID.
 */
export async function indexLayerJobs(jobs: readonly LayerJob[], options: IndexLayersOptions = {}): Promise<Map<string, LayerIndex>> {
  const distinct = new Map<string, LayerJob>();
  for (const job of jobs) if (!distinct.has(job.diffID)) distinct.set(job.diffID, job);
  const list = [...distinct.values()];
  const results = await mapConcurrent(list, options.concurrency, (job, _i, innerSignal) => {
    const signal = options.signal ? AbortSignal.any([options.signal, innerSignal]) : innerSignal;
    return indexOneLayer(job, { ...options, signal });
  });
  return new Map(results.map((index) => [index.diffID, index]));
}

/** The file index of every layer of one image, in manifest order. */
export async function indexLayers(image: Image, options: IndexLayersOptions = {}): Promise<LayerIndex[]> {
  const diffIDs = await layerDiffIDs(image);
  const jobs = image.layers.map((descriptor, i) => ({ image, descriptor, diffID: diffIDs[i]! }));
  const byDiffID = await indexLayerJobs(jobs, options);
  return diffIDs.map((diffID) => byDiffID.get(diffID)!);
}

async function indexOneLayer(job: LayerJob, options: IndexLayersOptions): Promise<LayerIndex> {
  const { descriptor, diffID } = job;
  const cached = options.store ? await options.store.get(diffID) : undefined;
  if (cached !== undefined) return { diffID, descriptor, files: cached, unsafeEntries: [], fromCache: true, bytesRead: 0 };

  const read = await readVerifiedLayer(job, { limits: options.limits, signal: options.signal });
  const files = read.files ?? [];
  if (options.store && read.unsafeEntries.length === 0) await options.store.put(diffID, files);
  return { diffID, descriptor, files, unsafeEntries: read.unsafeEntries, fromCache: false, bytesRead: read.size };
}
