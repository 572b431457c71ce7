import { finished, type Readable } from 'node:stream';

/**
 * The chunks of a byte stream, asking it for `size` bytes at a time. Node raises a stream's high-water mark when
 * read() is asked for more than that, and a file stream reads as much per call as its high-water mark: a file
 * stream made with the default 64 KiB then reads `size` bytes per round trip through the thread pool. It has one
 * read in flight at a time, each completed on this thread, and at 64 KiB per read it could not keep zlib fed while
 * this thread also hashed and parsed (measured: zlib waited ~0.3 s for input on a 130 MB gzip layer).
 *
 * Whatever is buffered is taken at once, without waiting for `size` bytes. An object-mode stream (Readable.from)
 * is read one object at a time, its high-water mark untouched (raising it would buffer that many objects).
 * Errors of the stream are thrown unchanged; a stream destroyed before its end throws ERR_STREAM_PREMATURE_CLOSE,
 * as `for await` over it would. Stopping early destroys the stream, as `for await` does.
 */
export async function* readInChunks(stream: Readable, size: number): AsyncGenerator<unknown> {
  const ask = stream.readableObjectMode ? undefined : size;
  let done = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  const stop = finished(stream, (error) => {
    done = true;
    if (error) failure = { error };
    notify();
  });
  stream.on('readable', notify);
  try {
    for (;;) {
      const chunk: unknown = (ask !== undefined ? stream.read(ask) : null) ?? stream.read();
      if (chunk !== null) {
        yield chunk;
        continue;
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      if (done) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stop();
    stream.off('readable', notify);
    if (!done) stream.destroy();
  }
}
