import { TollgateError } from '../errors/tollgate-error.js';
import { isForeignLayer, layerCompression } from '../media-types.js';
import type { Image } from '../image/image.js';
import type { ImageConfig } from '../image/types.js';
import { readLayer } from '../layer/read-layer.js';
import type { LayerLimits } from '../layer/types.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import type { LayerIndexStore } from '../store/layer-index-store.js';
import type { LayerValidation, ValidationProblem, ValidationResult } from './types.js';

export interface ValidateOptions {
  /** Layers read at once; independent layers in parallel. Default 2. */
  concurrency?: number;
  /** Cache of file indexes by diffID: a cached layer is still hashed, but its tar is not parsed again. */
  store?: LayerIndexStore;
  limits?: LayerLimits;
  signal?: AbortSignal;
  /** Called as blob bytes are read: layer position in the manifest and bytes read so far. */
  onProgress?: (layerIndex: number, bytesRead: number) => void;
  /** Called when a layer is done. */
  onLayer?: (layer: LayerValidation) => void;
}

/**
 * Recomputes and checks the whole chain of an image: config digest and size, every layer's digest and size,
 * every diffID against the config's rootfs.diff_ids, and the layer count against the history. The manifest's
 * own digest was checked when the Image was loaded. Every mismatch becomes a problem that names the blob.
 */
export async function validateImage(image: Image, options: ValidateOptions = {}): Promise<ValidationResult> {
  const problems: ValidationProblem[] = [];
  const configDescriptor = image.configDescriptor;
  let config: ImageConfig | undefined;
  try {
    config = await image.config();
  } catch (error) {
    problems.push(configProblem(error, configDescriptor.digest));
  }

  const diffIDs = config?.rootfs.diff_ids;
  if (diffIDs && diffIDs.length !== image.layers.length) {
    problems.push({
      kind: 'diff-id-count',
      blob: 'config',
      expected: String(image.layers.length),
      found: String(diffIDs.length),
      message: `config lists ${diffIDs.length} diff_ids but the manifest has ${image.layers.length} layers`,
    });
  }
  const history = config?.history;
  if (history && history.length > 0) {
    const withLayers = history.filter((entry) => entry.empty_layer !== true).length;
    if (withLayers !== image.layers.length) {
      problems.push({
        kind: 'history-count',
        blob: 'config',
        expected: String(image.layers.length),
        found: String(withLayers),
        message: `config history has ${withLayers} non-empty entries but the manifest has ${image.layers.length} layers`,
      });
    }
  }

  const layers = await mapConcurrent([...image.layers.keys()], options.concurrency ?? 2, async (index) => {
    const layerProblems: ValidationProblem[] = [];
    const layer = await validateLayer(image, index, diffIDs?.[index], options, layerProblems);
    problems.push(...layerProblems);
    options.onLayer?.(layer);
    return layer;
  });

  return {
    ok: problems.length === 0,
    manifestDigest: image.digest,
    mediaType: image.mediaType,
    config: { digest: configDescriptor.digest, size: configDescriptor.size, ok: config !== undefined },
    layers,
    problems,
  };
}

async function validateLayer(
  image: Image,
  index: number,
  expectedDiffID: string | undefined,
  options: ValidateOptions,
  problems: ValidationProblem[],
): Promise<LayerValidation> {
  const descriptor = image.layers[index]!;
  const result: LayerValidation = { index, descriptor, expectedDiffID, ok: false };
  const blob = descriptor.digest;
  const compression = layerCompression(descriptor.mediaType);
  if (compression === undefined) {
    problems.push({ kind: 'unknown-layer-type', blob, found: descriptor.mediaType, message: `layer ${index} (${blob}) has media type ${descriptor.mediaType}, which is not a layer type tollgate can read` });
    return result;
  }

  const cached = expectedDiffID && options.store ? await options.store.get(expectedDiffID) : undefined;
  let stream;
  try {
    stream = await image.openBlob(descriptor, { signal: options.signal });
  } catch (error) {
    if (isForeignLayer(descriptor.mediaType)) {
      problems.push({ kind: 'foreign-layer', blob, message: `layer ${index} (${blob}) is a foreign/non-distributable layer the source does not hold; tollgate never fetches its URLs, so it was not validated` });
    } else {
      problems.push({ kind: 'layer-unreadable', blob, message: `layer ${index} (${blob}) could not be read: ${(error as Error).message}` });
    }
    return result;
  }

  try {
    const read = await readLayer(stream, {
      compression,
      indexFiles: cached === undefined,
      limits: options.limits,
      signal: options.signal,
      onProgress: options.onProgress ? (bytes) => options.onProgress!(index, bytes) : undefined,
    });
    Object.assign(result, {
      digest: read.digest,
      size: read.size,
      diffID: read.diffID,
      uncompressedSize: read.uncompressedSize,
      fileCount: cached?.length ?? read.files?.length,
      indexCached: cached !== undefined,
    });
    const before = problems.length;
    if (read.digest !== descriptor.digest) {
      problems.push({ kind: 'layer-digest', blob, expected: descriptor.digest, found: read.digest, message: `layer ${index}: digest mismatch, expected ${descriptor.digest}, got ${read.digest}` });
    }
    if (read.size !== descriptor.size) {
      problems.push({ kind: 'layer-size', blob, expected: String(descriptor.size), found: String(read.size), message: `layer ${index} (${blob}): size mismatch, manifest declares ${descriptor.size} bytes, read ${read.size}` });
    }
    if (expectedDiffID !== undefined && read.diffID !== expectedDiffID) {
      problems.push({ kind: 'diff-id', blob, expected: expectedDiffID, found: read.diffID, message: `layer ${index} (${blob}): diffID mismatch, config says ${expectedDiffID}, uncompressed content is ${read.diffID}` });
    }
    for (const unsafe of read.unsafeEntries) {
      problems.push({ kind: 'unsafe-entry', blob, found: unsafe.path, message: `layer ${index} (${blob}): unsafe tar entry ${JSON.stringify(unsafe.path)}: ${unsafe.reason}` });
    }
    result.ok = problems.length === before && expectedDiffID !== undefined;
    if (result.ok && cached === undefined && read.files && options.store) {
      await options.store.put(read.diffID, read.files);
    }
  } catch (error) {
    if (error instanceof TollgateError && (error.code === 'CORRUPT_LAYER' || error.code === 'SIZE_LIMIT')) {
      problems.push({ kind: 'corrupt-layer', blob, message: `layer ${index} (${blob}): ${error.message}` });
      return result;
    }
    throw error;
  } finally {
    stream.destroy();
  }
  return result;
}

function configProblem(error: unknown, digest: string): ValidationProblem {
  if (error instanceof TollgateError) {
    if (error.code === 'DIGEST_MISMATCH') return { kind: 'config-digest', blob: digest, message: error.message };
    if (error.code === 'SIZE_MISMATCH') return { kind: 'config-size', blob: digest, message: error.message };
    if (error.code === 'INVALID_JSON' || error.code === 'INVALID_MANIFEST' || error.code === 'SIZE_LIMIT') {
      return { kind: 'config-invalid', blob: digest, message: error.message };
    }
  }
  throw error;
}
