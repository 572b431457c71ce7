import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { isTransientS3Error } from './s3-errors.js';

/**
 * Sends bytes [start, end) of a local file as one request's body, read from the file (never held in memory), with a
 * fresh stream per attempt: the SDK does not retry a request whose body is a stream, since it cannot rewind it.
 */
export async function sendFileRange<T>(
  path: string,
  start: number,
  end: number,
  attempts: number,
  signal: AbortSignal | undefined,
  send: (body: Readable | Buffer, length: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // An empty body as a stream would need end = start - 1, which createReadStream reads as "to the end".
    const body = end > start ? createReadStream(path, { start, end: end - 1, highWaterMark: 256 * 1024 }) : Buffer.alloc(0);
    try {
      return await send(body, end - start);
    } catch (error) {
      if (attempt >= attempts || signal?.aborted || !isTransientS3Error(error)) throw error;
      // Backing off gives a restarting or throttling store a moment; the signal cuts the wait on abort.
      await delay(200 * 4 ** (attempt - 1), undefined, signal ? { signal } : undefined);
    } finally {
      // A failed request leaves the stream unread: close its file descriptor now rather than at garbage collection.
      if (!Buffer.isBuffer(body)) body.destroy();
    }
  }
}
