import type { Readable } from 'node:stream';
import { TollgateError } from '@tollgate/core';

/**
 * How a streamed upstream body ended, as the gateway counts it: `ok` (every byte arrived, to its declared size where
 * it was declared), `failed` (the body broke: a reset, a premature close, a body timeout, too few or too many bytes)
 * or `abandoned` (the proxy stopped reading: its signal aborted, or it destroyed the stream because nobody wanted the
 * rest — never the upstream's doing).
 */
export type BodyOutcome = { kind: 'ok' } | { kind: 'failed'; error: TollgateError } | { kind: 'abandoned' };

/**
 * Watches `body` without reading it or changing how it flows (listeners for end, error and close only: no extra
 * stream in the bytes' path) and calls `settled` once, when it ended. An error the body raises after its headers
 * that is not tollgate's own (a SIZE_MISMATCH from the size limit, a NETWORK_ERROR already named) is the
 * connection breaking — undici's "other side closed", a reset — and is counted as a NETWORK_ERROR.
 */
export function watchBody(body: Readable, signal: AbortSignal | undefined, what: string, settled: (outcome: BodyOutcome) => void): void {
  let done = false;
  const settle = (outcome: BodyOutcome) => {
    if (done) return;
    done = true;
    body.off('end', onEnd);
    body.off('error', onError);
    body.off('close', onClose);
    settled(outcome);
  };
  const onEnd = () => settle({ kind: 'ok' });
  const onError = (error: unknown) => settle(signal?.aborted === true || isAbort(error) ? { kind: 'abandoned' } : { kind: 'failed', error: asUpstreamError(error, what) });
  const onClose = () => settle(body.readableEnded ? { kind: 'ok' } : { kind: 'abandoned' });
  // The body may have settled before it reached us (its events are gone): judge it by its state.
  if (body.errored !== null) return onError(body.errored);
  if (body.readableEnded) return onEnd();
  if (body.destroyed) return onClose();
  body.once('end', onEnd);
  body.once('error', onError);
  body.once('close', onClose);
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function asUpstreamError(error: unknown, what: string): TollgateError {
  if (error instanceof TollgateError) return error;
  const reason = error instanceof Error && error.message !== '' ? error.message.slice(0, 120) : 'connection lost';
  return new TollgateError('NETWORK_ERROR', `${what}: the upstream connection broke mid-body (${reason})`, { cause: error });
}
