import type { Readable } from 'node:stream';
import { TollgateError } from '@tollgate/core';
import { watchBody } from './body-outcome.js';
import { brokenConnection } from './broken-connection.js';
import { isUpstreamUnavailable } from './unavailable.js';

/**
 * What an upstream read is, as the `operation` label of the upstream requests metric: client-facing reads
 * (`manifest`, `blob`, `tags`, `referrers`) and the gate's reads of what sits beside an image (`signature-*`).
 */
export type UpstreamOperation = 'manifest' | 'blob' | 'tags' | 'referrers' | 'signature-referrers' | 'signature-manifest' | 'signature-blob';

/** Who hears about every upstream request: the proxy's metrics and its upstream health. */
export interface UpstreamObserver {
  /** One request to the upstream finished: `ok`, or the error's code (a small fixed set: TollgateError codes). */
  request(upstream: string, operation: UpstreamOperation, outcome: string): void;
  /** The upstream answered (`ok`), or could not be read (unreachable, rate limiting, failing). */
  health(upstream: string, ok: boolean, error?: string): void;
}

function outcomeOf(error: unknown): string {
  if (error instanceof TollgateError) return error.code;
  return error instanceof Error && error.name === 'AbortError' ? 'aborted' : 'error';
}

/**
 * Runs upstream requests of one upstream, reporting each outcome. Only unavailability marks the upstream down: an
 * answer (404, 400, 405, 501, a refused credential) says nothing about whether it is up, and neither does the
 * proxy's own store failing. A success marks it up.
 */
export class CountedCalls {
  constructor(
    readonly upstream: string,
    private readonly observer: UpstreamObserver,
  ) {}

  /**
   * A read whose outcome is known when `work` settles (a manifest, a tag list, a referrers listing, a small blob read
   * whole). A read that failed after `signal` aborted was given up by the proxy (shutting down: the abort's reason
   * is a NETWORK_ERROR, which would otherwise mark the upstream down): `aborted`, and nothing about the upstream.
   * A connection that broke mid-answer is the NETWORK_ERROR it is (brokenConnection), for the count and the caller.
   */
  async run<T>(operation: UpstreamOperation, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.succeeded(operation);
      return result;
    } catch (error) {
      if (signal?.aborted === true) {
        this.observer.request(this.upstream, operation, 'aborted');
        throw error;
      }
      const named = brokenConnection(error, `upstream ${this.upstream}: ${operation} read`) ?? error;
      this.failed(operation, named);
      throw named;
    }
  }

  /**
   * A streamed read (a blob): its outcome is its body's, not its headers'. `ok` once the whole body arrived; a body
   * broken mid-way counts as the failure it is (a reset or premature close is NETWORK_ERROR and marks the upstream
   * down, too few or too many bytes is SIZE_MISMATCH and, like a manifest failing its digest, does not: the upstream
   * answered, with bad content). A read the proxy gave up — `signal` aborted, or the stream destroyed before its end
   * because nobody wanted the rest — is `aborted` and says nothing about the upstream. The digest of the bytes is
   * checked by whoever reads them (the blob download), after this count: its verdict is the integrity failures metric.
   */
  async runBody(operation: UpstreamOperation, signal: AbortSignal | undefined, what: string, work: () => Promise<Readable>): Promise<Readable> {
    let body: Readable;
    try {
      body = await work();
    } catch (error) {
      if (signal?.aborted === true) this.observer.request(this.upstream, operation, 'aborted');
      else this.failed(operation, error);
      throw error;
    }
    watchBody(body, signal, what, (outcome) => {
      if (outcome.kind === 'ok') this.succeeded(operation);
      else if (outcome.kind === 'failed') this.failed(operation, outcome.error);
      else this.observer.request(this.upstream, operation, 'aborted');
    });
    return body;
  }

  private succeeded(operation: UpstreamOperation): void {
    this.observer.request(this.upstream, operation, 'ok');
    this.observer.health(this.upstream, true);
  }

  private failed(operation: UpstreamOperation, error: unknown): void {
    this.observer.request(this.upstream, operation, outcomeOf(error));
    if (isUpstreamUnavailable(error)) this.observer.health(this.upstream, false, (error as Error).message);
  }
}
