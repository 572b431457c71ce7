import { isTollgateError } from '@tollgate/core';

/**
 * What failed for the moment while the gate read its evidence for one evaluation, so an undecided outcome names the
 * right culprit: the proxy's own store (Redis, S3 — the gate reads layers through it) or, otherwise, the upstream.
 */
export class EvaluationOutages {
  private storeSeen = false;

  /** Looks at an error from a read the gate made (errors of other kinds are not an outage of the store). */
  saw(error: unknown): void {
    if (isTollgateError(error, 'STORE_UNAVAILABLE')) this.storeSeen = true;
  }

  get storeUnavailable(): boolean {
    return this.storeSeen;
  }
}
