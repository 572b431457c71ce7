/**
 * STORE_UNAVAILABLE (the proxy's own store cannot be reached) is answered 503 UNAVAILABLE telling the client to try
 * again, and is not taken for an upstream outage: the cache the proxy would fall back to is what is down.
 */
import { isUnavailableError, TollgateError } from '@tollgate/core';
import { expect, it } from 'vitest';
import { isUpstreamUnavailable, toOciError } from '../src/http/oci-error.js';

const outage = new TollgateError('STORE_UNAVAILABLE', 'the Redis metadata store at 10.0.0.7:6379 is unreachable (ECONNREFUSED); requests fail until it is back');

it('is answered 503 UNAVAILABLE for every kind of request, naming the store, not the upstream', () => {
  for (const subject of ['manifest', 'blob', 'tags', 'referrers', 'other'] as const) {
    const oci = toOciError(outage, subject);
    expect(oci.status).toBe(503);
    expect(oci.code).toBe('UNAVAILABLE');
    expect(oci.message).toMatch(/proxy's store is unavailable.*try again/);
    expect(oci.message).not.toMatch(/upstream/);
    expect(oci.body().errors[0]!.detail).toEqual({ store: outage.message });
  }
});

it('is unavailable for the gate, but not an upstream outage', () => {
  expect(isUnavailableError(outage)).toBe(true);
  expect(isUpstreamUnavailable(outage)).toBe(false);
  expect(isUpstreamUnavailable(new TollgateError('NETWORK_ERROR', 'reset'))).toBe(true);
});
