import { TollgateError } from '../errors/tollgate-error.js';
import type { Image } from '../image/image.js';
import type { Descriptor } from '../image/types.js';
import type { LayerLimits } from '../layer/types.js';
import { readVerifiedLayer } from './read-verified-layer.js';

export interface ReadLayerFileOptions {
  /** The content sha256 the file index records for the entry: the bytes returned are exactly those. */
  sha256: string;
  /** Hard cap: a larger file is a SIZE_LIMIT error, never a truncated read. */
  maxBytes: number;
  limits?: LayerLimits | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The content of one regular file of one layer, read by streaming the layer blob (verified like any layer read:
 * digest, size, diffID) and keeping only that file. The file index stores hashes, not contents, so a check that
 * must read a file (the nonRootUser check reads /etc/passwd) pays one pass over that layer.
 */
export async function readLayerFile(
  layer: { image: Image; descriptor: Descriptor; diffID: string },
  path: string,
  options: ReadLayerFileOptions,
): Promise<Buffer> {
  const read = await readVerifiedLayer(layer, { limits: options.limits, signal: options.signal, captureFiles: { paths: [path], maxBytes: options.maxBytes } });
  const file = read.captured?.find((f) => f.path === path);
  if (file === undefined) {
    throw new TollgateError('NOT_FOUND', `layer ${layer.descriptor.digest} has no regular file /${path}, though its file index said so; the index store may be stale — clear it and retry`);
  }
  if (file.sha256 !== options.sha256) {
    throw new TollgateError('DIGEST_MISMATCH', `layer ${layer.descriptor.digest}: /${path} hashes to ${file.sha256} but the file index records ${options.sha256}; the index store may be stale — clear it and retry`);
  }
  return file.content;
}
