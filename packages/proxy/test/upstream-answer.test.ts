/**
 * How an upstream's error reaches a client: an answer (4xx, 501) keeps its status and the registry's code when it
 * is one of the spec's, on one sanitised line; a refusal of tollgate's own credentials is not handed on as the
 * client's; outages stay 503/429. What the registry wrote never carries a credential or a second line through.
 */
import { isUnavailableError, TollgateError } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import { isUpstreamUnavailable, toOciError } from '../src/http/oci-error.js';
import { sanitizeServerText } from '../src/http/server-text.js';

function registryError(status: number, entries: { code?: string; message?: string }[] = [], code: 'REGISTRY_ERROR' | 'UNAUTHORIZED' | 'DENIED' | 'TOO_MANY_REQUESTS' = 'REGISTRY_ERROR'): TollgateError {
  const said = entries.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  return new TollgateError(code, `fetching manifest up.example/app:v1: unexpected response, HTTP ${status}${said ? ` (${said})` : ''}`, { status, registryErrors: entries });
}

describe('an upstream answer', () => {
  it('keeps its status and the spec code the registry gave, with its message on one line', () => {
    const oci = toOciError(registryError(400, [{ code: 'MANIFEST_INVALID', message: 'manifest invalid: schema 1 is not supported' }]), 'manifest');
    expect([oci.status, oci.code]).toEqual([400, 'MANIFEST_INVALID']);
    expect(oci.message).toBe('the upstream registry answered HTTP 400: manifest invalid: schema 1 is not supported');
    expect(oci.detail).toMatchObject({ upstreamStatus: 400 });
  });

  it('falls back to UNSUPPORTED for 405 and 501, UNKNOWN otherwise, when the registry gave no spec code', () => {
    expect(toOciError(registryError(405), 'manifest')).toMatchObject({ status: 405, code: 'UNSUPPORTED' });
    expect(toOciError(registryError(501, [{ code: 'NOT_A_SPEC_CODE' }]), 'referrers')).toMatchObject({ status: 501, code: 'UNSUPPORTED' });
    expect(toOciError(registryError(418, [{ code: 'TEAPOT' }]), 'blob')).toMatchObject({ status: 418, code: 'UNKNOWN' });
  });

  it("never hands on codes about tollgate's own session as the client's", () => {
    for (const code of ['UNAUTHORIZED', 'DENIED', 'TOOMANYREQUESTS']) {
      expect(toOciError(registryError(400, [{ code, message: 'x' }]), 'manifest').code).toBe('UNKNOWN');
    }
  });

  it('is not an outage; 5xx (but 501) and 429 are, and stay 503 / 429', () => {
    for (const status of [400, 405, 409, 501]) expect(isUpstreamUnavailable(registryError(status))).toBe(false);
    for (const status of [500, 502, 503, 504]) {
      expect(isUpstreamUnavailable(registryError(status))).toBe(true);
      expect(toOciError(registryError(status), 'manifest')).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    }
    const limited = registryError(429, [{ code: 'TOOMANYREQUESTS' }], 'TOO_MANY_REQUESTS');
    expect(isUnavailableError(limited)).toBe(true);
    expect(toOciError(limited, 'blob')).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS' });
  });

  it('a registry error without a status (a broken redirect, junk from the token service) stays 503', () => {
    expect(toOciError(new TollgateError('REGISTRY_ERROR', 'fetching blob: redirect without a Location header'), 'blob')).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
  });
});

describe("the upstream refusing tollgate's credentials", () => {
  it('is 503 UNAVAILABLE saying whose credentials were refused, and not an outage', () => {
    for (const [status, code] of [
      [401, 'UNAUTHORIZED'],
      [403, 'DENIED'],
    ] as const) {
      const error = registryError(status, [{ code, message: 'authentication required' }], code);
      const oci = toOciError(error, 'manifest');
      expect([oci.status, oci.code]).toEqual([503, 'UNAVAILABLE']);
      expect(oci.message).toMatch(/refused tollgate's own credentials \(HTTP \d+\).*client's credentials are not at fault/);
      expect(isUpstreamUnavailable(error)).toBe(false);
    }
  });
});

describe('server text', () => {
  it('is one bounded line with credentials redacted', () => {
    const text = sanitizeServerText(
      'denied\r\nSet-Cookie: x; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig see https://bob:hunter2@cdn.example/b?X-Amz-Signature=abc123&X-Amz-Credential=AKIA/x&part=1 password=s3cret token: tkn-123',
    );
    expect(text).not.toMatch(/[\r\n]/);
    for (const secret of ['eyJhbGciOiJIUzI1NiJ9', 'hunter2', 'abc123', 'AKIA', 's3cret', 'tkn-123']) expect(text).not.toContain(secret);
    expect(text).toContain('part=1');
    expect(sanitizeServerText('x'.repeat(1000)).length).toBe(201);
  });

  it('is what an answer carries from the registry', () => {
    const oci = toOciError(registryError(400, [{ code: 'NAME_INVALID', message: 'see https://u:pw-123@host/x?access_token=zzz' }]), 'manifest');
    expect(JSON.stringify(oci.body())).not.toMatch(/pw-123|zzz/);
  });
});
