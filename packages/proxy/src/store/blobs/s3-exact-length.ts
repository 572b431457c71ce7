import { finished, Transform, type Readable } from 'node:stream';
import { TollgateError } from '@tollgate/core';

/**
 * Passes a ranged S3 body on and fails it unless exactly `expected` bytes arrive: a connection cut or an object
 * shorter than its descriptor must reach the reader as an error, never as a short clean end that a client would
 * take for the whole blob.
 */
export function exactLength(body: Readable, expected: number, what: string, signal?: AbortSignal): Readable {
  let seen = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > expected) {
        callback(new TollgateError('SIZE_MISMATCH', `${what}: S3 sent more than the ${expected} bytes asked for; the stored object is not the blob it is named for, remove it and fetch again`));
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      callback(seen === expected ? null : new TollgateError('SIZE_MISMATCH', `${what}: S3 sent ${seen} of ${expected} bytes; the stored object is shorter than its blob, remove it and fetch again`));
    },
  });
  // pipe() ends `out` only on a clean end; an error or an early close of the body must fail it instead.
  finished(body, (error) => {
    if (error && !out.destroyed) out.destroy(new TollgateError('STORE_UNAVAILABLE', `${what}: the S3 response broke off after ${seen} of ${expected} bytes (${error.name}); retry the read`));
  });
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
  if (signal) {
    const onAbort = () => out.destroy(new TollgateError('STORE_ERROR', `${what}: the read was cancelled`));
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      out.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  body.pipe(out);
  return out;
}
