import { createGunzip, type Gunzip, type ZlibOptions } from 'node:zlib';

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

/** Input buffers of INPUT_BATCH bytes, reused: zlib holds at most this many writes at a time. */
const INPUT_BUFFERS = 3;

/**
 * Copies the source into INPUT_BATCH-byte buffers and writes each to zlib once full. A buffer is filled again only
 * after zlib has called back for its write, by which time zlib has consumed all of it — so feeding allocates
 * nothing per chunk, and waits (backpressure) while zlib holds every buffer. Ends the stream after the source, or
 * destroys it with the source's error; stops reading the source once the stream is destroyed.
 */
async function feed(source: AsyncIterable<Buffer>, stream: Gunzip): Promise<void> {
  const free: Buffer[] = Array.from({ length: INPUT_BUFFERS }, () => Buffer.allocUnsafe(INPUT_BATCH));
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  stream.once('close', notify);
  const nextBuffer = async (): Promise<Buffer | undefined> => {
    while (free.length === 0 && !stream.destroyed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    return stream.destroyed ? undefined : free.pop();
  };
  const write = (buffer: Buffer, length: number): void => {
    stream.write(length === buffer.length ? buffer : buffer.subarray(0, length), () => {
      free.push(buffer);
      notify();
    });
  };
  try {
    let target = await nextBuffer();
    let filled = 0;
    for await (const chunk of source) {
      if (stream.destroyed) return;
      for (let at = 0; at < chunk.length && target !== undefined; ) {
        const take = Math.min(chunk.length - at, INPUT_BATCH - filled);
        chunk.copy(target, filled, at, at + take);
        filled += take;
        at += take;
        if (filled === INPUT_BATCH) {
          write(target, filled);
          filled = 0;
          target = await nextBuffer();
        }
      }
      if (target === undefined) return; // leaving the loop closes the source
    }
    if (target !== undefined && filled > 0) write(target, filled);
    stream.end();
  } catch (error) {
    stream.destroy(error as Error);
  }
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
  // A failure of the source destroys `stream` with that error too (see feed), so it arrives here either way.
  stream.on('error', fail);
  const feeding = feed(source, stream);
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
