import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';

const require = createRequire(import.meta.url);
let binding: typeof ZstdBinding | undefined;

/** The native zstd binding, loaded with the first zstd layer rather than by every command at start-up. */
function zstdBinding(): typeof ZstdBinding {
  return (binding ??= require('zstd-napi/binding.js') as typeof ZstdBinding);
}

/** Output buffer per decompression call. */
const OUT_SIZE = 256 * 1024;

/** Thrown for a damaged or truncated zstd stream; the caller adds the layer's name. */
export class ZstdStreamError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/**
 * Streaming zstd decompression as a pipeline stage. Unlike zstd-napi's DecompressStream, which decodes a whole
 * input chunk before yielding (a few KiB of zstd can hold gigabytes of zeros), this yields every output buffer as
 * it is produced, so the consumer's limits and backpressure apply between buffers. Concatenated frames and
 * skippable frames are accepted; the window is capped by the library default (128 MiB).
 */
export async function* zstdDecompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const dctx = new (zstdBinding().DCtx)();
  let inFrame = false;
  let sawInput = false;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    sawInput = true;
    let src: Buffer = chunk;
    for (;;) {
      const dst = Buffer.allocUnsafe(OUT_SIZE);
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (error) {
        throw new ZstdStreamError(`zstd stream is corrupt (${(error as Error).message})`, false);
      }
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      if (produced > 0) yield produced === dst.length ? dst : dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) break;
      if (produced === 0 && consumed === 0) throw new ZstdStreamError('zstd stream makes no progress', false);
    }
  }
  if (!sawInput) throw new ZstdStreamError('zstd stream is empty', true);
  if (inFrame) throw new ZstdStreamError('zstd stream is truncated (it ends inside a frame)', true);
}
