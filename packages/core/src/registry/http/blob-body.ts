import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { isTransientNetworkError, oneLine, registryError, type RequestContext } from '../errors.js';

/** Passes bytes through and counts them. */
class Counter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Wraps a blob stream from the registry so that a connection breaking in the middle of the body (undici's
 * SocketError "other side closed", a reset, a body timeout) fails it with a NETWORK_ERROR naming the blob, the
 * registry and repository, how many of the `expected` bytes arrived, and what to do. Any other error passes through
 * as it is (an abort stays an abort, a SIZE_MISMATCH stays one). Destroying the returned stream destroys `body`.
 */
export function nameBrokenBody(body: Readable, context: RequestContext, expected: number | undefined): Readable {
  const counter = new Counter();
  body.on('error', (error: unknown) => {
    counter.destroy(isBrokenConnection(error) ? brokenBody(error, counter.bytes, context, expected) : (error as Error));
  });
  counter.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(counter);
  return counter;
}

function isBrokenConnection(error: unknown): boolean {
  return isTransientNetworkError(error) || codeOf(error) === 'UND_ERR_BODY_TIMEOUT';
}

function brokenBody(error: unknown, received: number, context: RequestContext, expected: number | undefined): Error {
  const code = codeOf(error);
  const how = code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT' ? 'the registry stopped sending' : 'the registry closed the connection';
  const reason = error instanceof Error && error.message !== '' ? oneLine(error.message, 80) : (code ?? 'connection lost');
  const progress = expected === undefined ? `${received} bytes` : `${received} of ${expected} bytes`;
  return registryError('NETWORK_ERROR', context, `${how} after ${progress} (${reason}); the blob is incomplete — retry, or check the registry and the network`, error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
