import { TollgateError } from '../errors/tollgate-error.js';
import type { Image } from '../image/image.js';
import type { Descriptor } from '../image/types.js';
import { isForeignLayer, layerCompression } from '../media-types.js';
import { readLayer } from '../layer/read-layer.js';
import type { CaptureFiles, LayerLimits, LayerReadResult } from '../layer/types.js';

export interface VerifiedLayerReadOptions {
  limits?: LayerLimits | undefined;
  signal?: AbortSignal | undefined;
  captureFiles?: CaptureFiles;
}

/**
 * Streams one layer blob of an image through readLayer and checks it is the layer the image names: its digest and
 * size against the descriptor, its diffID against the config. Anything read from it (index, captured files) is
 * only returned when all three hold.
 */
export async function readVerifiedLayer(
  job: { image: Image; descriptor: Descriptor; diffID: string },
  options: VerifiedLayerReadOptions = {},
): Promise<LayerReadResult> {
  const { image, descriptor, diffID } = job;
  const compression = layerCompression(descriptor.mediaType);
  if (compression === undefined) {
    throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', `layer ${descriptor.digest} has media type ${descriptor.mediaType}, which is not a layer type tollgate can read`);
  }
  let stream;
  try {
    stream = await image.openBlob(descriptor, { signal: options.signal });
  } catch (error) {
    if (isForeignLayer(descriptor.mediaType)) {
      throw new TollgateError('FOREIGN_LAYER', `layer ${descriptor.digest} is a foreign/non-distributable layer the source does not hold; tollgate never fetches its URLs, so it cannot be compared`, { cause: error });
    }
    throw error;
  }
  try {
    const read = await readLayer(stream, {
      compression,
      limits: options.limits,
      signal: options.signal,
      expectedDigest: descriptor.digest,
      ...(options.captureFiles ? { captureFiles: options.captureFiles } : {}),
    });
    if (read.size !== descriptor.size) {
      throw new TollgateError('SIZE_MISMATCH', `layer ${descriptor.digest}: the manifest declares ${descriptor.size} bytes, the source served ${read.size}; fetch it again or check the source`);
    }
    if (read.diffID !== diffID) {
      throw new TollgateError(
        'DIGEST_MISMATCH',
        `layer ${descriptor.digest}: its uncompressed content is ${read.diffID} but the config says ${diffID}; the image is corrupt — refusing to diff it`,
      );
    }
    return read;
  } finally {
    stream.destroy();
  }
}
