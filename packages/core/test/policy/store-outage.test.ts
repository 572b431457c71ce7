/**
 * The proxy's gate reads layers through its store: when that store cannot be reached (STORE_UNAVAILABLE) in the
 * middle of a check, the image is undecided (retry), not denied for "files that could not be read", and never
 * allowed.
 */
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, isUnavailableError, loadPolicy, TollgateError } from '@tollgate/core';
import { syntheticImage, yaml } from './support.js';

const app = { registry: 'ghcr.io', repository: 'org/app' };
const outage = new TollgateError('STORE_UNAVAILABLE', 'the Redis metadata store at 127.0.0.1:6379 is unreachable (ECONNREFUSED); requests fail until it is back');

describe('a store outage while a check reads the image', () => {
  it('counts as unavailable', () => {
    expect(isUnavailableError(outage)).toBe(true);
    expect(isUnavailableError(new TollgateError('STORE_ERROR', 'not JSON'))).toBe(false);
  });

  it('leaves the image undecided (deny + indeterminate), where a broken layer is a plain deny', async () => {
    const policy = await loadPolicy(yaml('rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    checks: {nonRootUser: true}\n'));
    const failing = (error: Error) => syntheticImage(app, { layerIndexes: () => Promise.reject(error) });
    const cut = await evaluatePolicy(failing(outage), policy);
    expect(cut.decision).toBe('deny');
    expect(cut.indeterminate).toBe(true);
    const broken = await evaluatePolicy(failing(new TollgateError('DIGEST_MISMATCH', 'layer digest does not match')), policy);
    expect(broken.decision).toBe('deny');
    expect(broken.indeterminate).toBeUndefined();
  });
});
