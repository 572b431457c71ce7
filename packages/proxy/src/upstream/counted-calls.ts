import { TollgateError } from '@tollgate/core';
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

  async run<T>(operation: UpstreamOperation, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.observer.request(this.upstream, operation, 'ok');
      this.observer.health(this.upstream, true);
      return result;
    } catch (error) {
      this.observer.request(this.upstream, operation, outcomeOf(error));
      if (isUpstreamUnavailable(error)) this.observer.health(this.upstream, false, (error as Error).message);
      throw error;
    }
  }
}
