import { isTollgateError, isUnavailableError } from '@tollgate/core';

/**
 * Whether an upstream error means "try the cache": unreachable, rate limited or failing (5xx but 501), not "no such
 * thing" nor an answer (a 400, 405 or 501 is the upstream's word). One definition with the gate's indeterminate
 * outcome and the upstream's health — except the proxy's own store being down: the cache lives there, so falling
 * back to it cannot help, and the upstream is not at fault.
 */
export function isUpstreamUnavailable(error: unknown): boolean {
  return isUnavailableError(error) && !isTollgateError(error, 'STORE_UNAVAILABLE');
}
