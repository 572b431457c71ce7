import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { parseDigest } from '../digest/digest.js';
import { TollgateError } from '../errors/tollgate-error.js';
import type { Descriptor } from '../image/types.js';

/**
 * Passes a blob's bytes through while hashing and counting them, and holds the last chunk back until the end: only
 * when the size and digest match the descriptor does that chunk go out and the stream end. A sink (a registry
 * upload, a layout's temp file) therefore never receives the whole of a blob that is not what its descriptor says;
 * a longer body fails as soon as it passes the size. Nothing is buffered beyond one chunk.
 */
export function verifyingStream(descriptor: Descriptor, what: string): Transform {
  const expected = parseDigest(descriptor.digest, `${what} digest`);
  const hash = createHash(expected.algorithm);
  let size = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > descriptor.size) {
        done(new TollgateError('SIZE_MISMATCH', `${what} ${descriptor.digest}: more than the ${descriptor.size} bytes its descriptor declares; the source altered it`));
        return;
      }
      hash.update(chunk);
      const out = held;
      held = chunk;
      done(null, out);
    },
    flush(done) {
      if (size !== descriptor.size) {
        done(new TollgateError('SIZE_MISMATCH', `${what} ${descriptor.digest}: ${size} bytes, not the ${descriptor.size} its descriptor declares; the source truncated it`));
        return;
      }
      const actual = `${expected.algorithm}:${hash.digest('hex')}`;
      if (actual !== expected.value) {
        done(new TollgateError('DIGEST_MISMATCH', `${what}: digest mismatch, expected ${expected.value}, got ${actual}; the source altered it, nothing was written for it`));
        return;
      }
      done(null, held);
    },
  });
}

/** `source` through a verifyingStream; an error on either side destroys both. */
export function verified(source: Readable, descriptor: Descriptor, what: string): Readable {
  return pipeline(source, verifyingStream(descriptor, what), () => undefined);
}
