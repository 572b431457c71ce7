import { setImmediate as nextTurn } from 'node:timers/promises';
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
 * Output is handed on in pieces of at most this size, with a turn of the event loop between pieces. zlib's next
 * inflate call can only be sent from this thread, when the event loop runs: consuming a whole 2 MiB chunk without a
 * break (~2.5 ms of hashing and parsing) left zlib idle whenever its call ended sooner — ~0.3 s per 360 MB layer.
 */
const PIECE_SIZE = 256 * 1024;
/**
 * Compressed bytes per write to zlib. zlib takes each write as at least one inflate call that ends when that input
 * runs out (~170 KiB of output from a 64 KiB chunk of a typical layer): writes of ~1 MiB let calls fill whole
 * output chunks. Smaller source chunks are gathered into reused buffers of this size; larger ones go as they are.
 */
const INPUT_BATCH = 1024 * 1024;
/**
 * Writes zlib may hold at a time (the feeder waits beyond this: backpressure). Two keep zlib fed; more would let the
 * blob be read further ahead of zlib, and the compression-ratio limit is judged against the blob bytes read.
 */
const MAX_WRITES = 2;
/** zlib streams pass stream options through to Transform; @types/node's ZlibOptions does not declare them. */
const GUNZIP_OPTIONS: ZlibOptions & { highWaterMark: number } = {
  chunkSize: GZIP_CHUNK_SIZE,
  highWaterMark: GZIP_HIGH_WATER_MARK,
};

/**
 * Writes the source to zlib, at most MAX_WRITES writes at a time. A chunk of at least INPUT_BATCH bytes is written as
 * it is; smaller ones are copied into INPUT_BATCH-byte buffers, each refilled only after zlib has called back for its
 * write (zlib has consumed all of it by then), so gathering allocates nothing per chunk. Ends the stream after the
 * source, or destroys it with the source's error; stops reading the source once the stream is destroyed.
 */
async function feed(source: AsyncIterable<Buffer>, stream: Gunzip): Promise<void> {
  const spare: Buffer[] = [];
  let writes = 0;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  stream.once('close', notify);
  /** Resolves true once zlib can take another write, false once the stream is destroyed. */
  const room = async (): Promise<boolean> => {
    while (writes >= MAX_WRITES && !stream.destroyed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    return !stream.destroyed;
  };
  const write = (data: Buffer, reuse: Buffer | undefined): void => {
    writes++;
    stream.write(data, () => {
      writes--;
      if (reuse !== undefined) spare.push(reuse);
      notify();
    });
  };
  let batch: Buffer | undefined;
  let filled = 0;
  try {
    for await (const chunk of source) {
      if (stream.destroyed) return; // leaving the loop closes the source
      if (filled === 0 && chunk.length >= INPUT_BATCH) {
        if (!(await room())) return;
        write(chunk, undefined);
        continue;
      }
      for (let at = 0; at < chunk.length; ) {
        batch ??= spare.pop() ?? Buffer.allocUnsafe(INPUT_BATCH);
        const take = Math.min(chunk.length - at, INPUT_BATCH - filled);
        chunk.copy(batch, filled, at, at + take);
        filled += take;
        at += take;
        if (filled === INPUT_BATCH) {
          if (!(await room())) return;
          write(batch, batch);
          batch = undefined;
          filled = 0;
        }
      }
    }
    if (filled > 0) {
      if (!(await room())) return;
      write(batch!.subarray(0, filled), undefined);
    }
    stream.end();
  } catch (error) {
    stream.destroy(error as Error);
  }
}

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
        for (let at = 0; at < chunk.length; at += PIECE_SIZE) {
          if (at > 0) {
            await nextTurn();
            rethrow();
          }
          yield at === 0 && chunk.length <= PIECE_SIZE ? chunk : chunk.subarray(at, at + PIECE_SIZE);
        }
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
