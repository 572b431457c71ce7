import { pipeline } from 'node:stream/promises';
import { createGunzip, type ZlibOptions } from 'node:zlib';

/**
 * zlib output chunk size. Every inflate call is one round trip between this thread and zlib's thread pool, with
 * only one call in flight per stream: fewer, larger calls mean fewer thread wake-ups on the critical path. zlib
 * allocates a new output buffer of this size whenever one is full.
 */
const GZIP_CHUNK_SIZE = 2 * 1024 * 1024;
/**
 * Decompressed bytes zlib may buffer while paused (see MAX_QUEUED); past this it stops inflating, even mid input.
 */
const GZIP_HIGH_WATER_MARK = GZIP_CHUNK_SIZE;
/** Output chunks waiting for the consumer before zlib is paused (besides the one being consumed). */
const MAX_QUEUED = 2;
/**
 * Compressed bytes per write to zlib. Blob streams deliver 16–64 KiB chunks, and zlib takes each write as at least
 * one inflate call that ends when that input runs out (~170 KiB of output from a 64 KiB chunk of a typical layer):
 * gathering ~1 MiB first lets each call fill a whole output chunk.
 */
const INPUT_BATCH = 1024 * 1024;
/** zlib streams pass stream options through to Transform; @types/node's ZlibOptions does not declare them. */
const GUNZIP_OPTIONS: ZlibOptions & { highWaterMark: number } = {
  chunkSize: GZIP_CHUNK_SIZE,
  highWaterMark: GZIP_HIGH_WATER_MARK,
};

/** Gathers small chunks into writes of at least INPUT_BATCH bytes (larger chunks pass through uncopied). */
async function* batched(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of source) {
    if (bytes === 0 && chunk.length >= INPUT_BATCH) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    bytes += chunk.length;
    if (bytes >= INPUT_BATCH) {
      yield Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
}

/**
 * A pipeline stage that gunzips. Output chunks are taken from zlib as it emits them (never concatenated) and
 * handed on after zlib's callback has returned — by then it has already sent the next inflate call to the thread
 * pool, so inflating and consuming overlap. At most MAX_QUEUED chunks wait; beyond that zlib is paused. zlib
 * errors are thrown as zlib raises them (`code` Z_…); errors of the source are passed through unchanged.
 */
export async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const stream = createGunzip(GUNZIP_OPTIONS);
  const queue: Buffer[] = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  stream.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= MAX_QUEUED) stream.pause();
    notify();
  });
  stream.on('end', () => {
    ended = true;
    notify();
  });
  const fail = (error: unknown): void => {
    failure ??= { error };
    notify();
  };
  const rethrow = (): void => {
    if (failure !== null) throw failure.error;
  };
  // A failure of the source destroys `stream` with that error too (pipeline), so it arrives here either way.
  stream.on('error', fail);
  const feeding = pipeline(batched(source), stream).catch(fail);
  try {
    for (;;) {
      rethrow();
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length < MAX_QUEUED && stream.isPaused()) stream.resume();
        yield chunk;
      } else if (ended) {
        break;
      } else {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    }
    await feeding;
    rethrow();
  } finally {
    stream.destroy();
  }
}
