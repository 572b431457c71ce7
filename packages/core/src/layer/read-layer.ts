import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TollgateError } from '../errors/tollgate-error.js';
import { gunzip } from './gunzip-stage.js';
import { formatBytes, limitError, RATIO_CHECK_AFTER_BYTES, resolveLayerLimits } from './limits.js';
import { readInChunks } from './read-chunks.js';
import { TarIndexer } from './tar-indexer.js';
import type { LayerReadResult, ReadLayerOptions } from './types.js';
import { ZstdStreamError, zstdDecompress } from './zstd-stage.js';

interface Counters {
  size: number;
  uncompressed: number;
}

/** Blob bytes asked of the source at a time (see readInChunks: a file stream then reads this much per call). */
const READ_SIZE = 1024 * 1024;

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TollgateError('USAGE', 'readLayer needs a byte stream; do not set an encoding on the blob stream');
}

/**
 * Reads a layer blob once, computing its digest (of the bytes as read), its diffID (of the uncompressed tar) and,
 * unless `indexFiles` is false, its file index with a sha256 per regular file. Memory stays flat: nothing is
 * buffered beyond a few decompressed chunks (~8 MiB for gzip, see gunzip-stage.ts) and one tar header (and, with
 * `captureFiles`, the content of the named files, each at most `captureFiles.maxBytes`). Whiteouts are recorded,
 * not applied.
 *
 * Rejects with CORRUPT_LAYER for a damaged or truncated gzip/zstd stream or tar archive, SIZE_LIMIT when a limit
 * in `options.limits` is passed, DIGEST_MISMATCH when `expectedDigest` is given and differs, and with
 * `signal.reason` when the signal aborts. Errors raised by the blob stream itself are passed through unchanged.
 * Trailing bytes after the tar's end-of-archive blocks are not indexed but are part of the diffID; trailing zero
 * bytes after the last gzip member are ignored by zlib, other trailing bytes are a corrupt gzip stream.
 */
export async function readLayer(blob: Readable, options: ReadLayerOptions): Promise<LayerReadResult> {
  const { compression, signal, onProgress } = options;
  if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd') {
    throw new TollgateError('USAGE', `unknown layer compression ${JSON.stringify(compression)}; use "none", "gzip" or "zstd"`);
  }
  const limits = resolveLayerLimits(options.limits);
  const label = options.expectedDigest ? `layer ${options.expectedDigest}` : 'layer';
  signal?.throwIfAborted();

  const blobHash = createHash('sha256');
  const diffHash = compression === 'none' ? blobHash : createHash('sha256');
  if (options.captureFiles !== undefined && options.indexFiles === false) {
    throw new TollgateError('USAGE', 'readLayer: captureFiles needs the tar parsed; do not set indexFiles to false with it');
  }
  const indexer = options.indexFiles === false ? undefined : new TarIndexer(limits, label, options.captureFiles);
  const counters: Counters = { size: 0, uncompressed: 0 };

  const checkUncompressed = (): void => {
    const n = counters.uncompressed;
    if (n > limits.maxUncompressedBytes) {
      throw limitError(label, `uncompressed size passed ${formatBytes(limits.maxUncompressedBytes)}`, 'maxUncompressedBytes', limits.maxUncompressedBytes);
    }
    if (compression !== 'none' && n > RATIO_CHECK_AFTER_BYTES && n > limits.maxCompressionRatio * counters.size) {
      throw limitError(
        label,
        `${formatBytes(counters.size)} of compressed data expanded to over ${formatBytes(n)}, a compression ratio above ${limits.maxCompressionRatio} (a decompression bomb?)`,
        'maxCompressionRatio',
        limits.maxCompressionRatio,
      );
    }
  };

  /**
   * Blob bytes, as they arrive: digest, size, progress (and, uncompressed, the whole job). Reads `blob` itself
   * (pipeline hands it over as the source) to ask for READ_SIZE bytes at a time.
   */
  const readBlob = async function* (): AsyncGenerator<Buffer> {
    for await (const raw of readInChunks(blob, READ_SIZE)) {
      const chunk = toBuffer(raw);
      blobHash.update(chunk);
      counters.size += chunk.length;
      onProgress?.(counters.size);
      yield chunk;
    }
  };

  /** Uncompressed tar bytes: diffID, limits, index. */
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      if (diffHash !== blobHash) diffHash.update(chunk);
      counters.uncompressed += chunk.length;
      checkUncompressed();
      indexer?.push(chunk);
    }
  };

  try {
    const opts = signal ? { signal } : {};
    if (compression === 'gzip') {
      await pipeline(blob, readBlob, gunzip, consume, opts);
    } else if (compression === 'zstd') {
      await pipeline(blob, readBlob, zstdDecompress, consume, opts);
    } else {
      await pipeline(blob, readBlob, consume, opts);
    }
    if (compression !== 'none' && counters.size === 0) {
      throw new TollgateError('CORRUPT_LAYER', `${label}: the ${compression} blob is empty; fetch it again`);
    }
    indexer?.end();
  } catch (error) {
    throw mapError(error, label, compression, counters, signal);
  }

  const digest = `sha256:${blobHash.digest('hex')}`;
  if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
    throw new TollgateError(
      'DIGEST_MISMATCH',
      `${label}: the blob read hashes to ${digest}; the source served different content — fetch it again or check the source`,
    );
  }
  const result: LayerReadResult = {
    digest,
    size: counters.size,
    diffID: compression === 'none' ? digest : `sha256:${diffHash.digest('hex')}`,
    uncompressedSize: counters.uncompressed,
    unsafeEntries: indexer?.unsafe ?? [],
  };
  if (indexer) result.files = indexer.files;
  if (indexer && options.captureFiles !== undefined) result.captured = [...indexer.captured.values()];
  return result;
}

function mapError(
  error: unknown,
  label: string,
  compression: string,
  counters: Counters,
  signal: AbortSignal | undefined,
): unknown {
  if (signal?.aborted) return signal.reason ?? error;
  if (error instanceof TollgateError) return error;
  const where = `after ${counters.size} compressed bytes`;
  if (error instanceof ZstdStreamError) {
    return new TollgateError(
      'CORRUPT_LAYER',
      `${label}: ${error.message} ${where}; the blob is ${error.truncated ? 'incomplete' : 'damaged'} — fetch it again`,
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (compression === 'gzip' && typeof code === 'string' && code.startsWith('Z_')) {
    const message = (error as Error).message;
    const truncated = code === 'Z_BUF_ERROR' || /unexpected end/i.test(message);
    return new TollgateError(
      'CORRUPT_LAYER',
      truncated
        ? `${label}: gzip stream is truncated ${where}; the blob is incomplete — fetch it again`
        : `${label}: gzip stream is corrupt (${message}) ${where}; the blob is damaged — fetch it again`,
      { cause: error },
    );
  }
  return error;
}
