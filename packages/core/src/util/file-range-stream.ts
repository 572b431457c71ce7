import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';

const CHUNK = 64 * 1024;

/**
 * A stream of bytes [start, end] (inclusive) of a shared file handle, read with positional reads. Unlike
 * `handle.createReadStream`, ending or destroying the stream never closes the handle, so many streams (concurrent or
 * abandoned half-way) can read one open archive; the handle's owner closes it.
 */
export function fileRangeStream(handle: FileHandle, start: number, end: number, signal?: AbortSignal): Readable {
  let position = start;
  return new Readable({
    highWaterMark: CHUNK,
    signal,
    read() {
      const remaining = end - position + 1;
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, remaining));
      handle.read(buffer, 0, buffer.length, position).then(
        ({ bytesRead }) => {
          if (this.destroyed) return;
          if (bytesRead === 0) {
            this.destroy(new TollgateError('SIZE_MISMATCH', `file ended at byte ${position}, before the expected end ${end + 1}; it was truncated while being read`));
            return;
          }
          position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        },
        (error: unknown) => this.destroy(error as Error),
      );
    },
  });
}
