import type { TollgateError } from '@tollgate/core';
import { OciError, type OciErrorCode } from './oci-error-body.js';
import { sanitizeServerText } from './server-text.js';

/**
 * The spec's error codes an upstream's answer may hand on to a client. Not UNAUTHORIZED, DENIED or TOOMANYREQUESTS:
 * those are about tollgate's own session with the upstream, and a client would take them for its own.
 */
const FORWARDED_CODES: ReadonlySet<string> = new Set<OciErrorCode>([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNSUPPORTED',
]);

/** Whether the upstream answered (its word, kept) rather than failed (an outage: 5xx but 501). */
function isAnswer(status: number): boolean {
  return (status >= 400 && status < 500) || status === 501;
}

/**
 * An upstream's 4xx (other than 401/403/404/429, which have codes of their own) or 501 as the client sees it: the
 * same status, the registry's error code when it is one of the spec's (else UNSUPPORTED for 405/501, UNKNOWN), and
 * its message on one sanitised line. Undefined for anything that is not such an answer.
 */
export function upstreamAnswer(error: TollgateError): OciError | undefined {
  const status = error.status;
  if (error.code !== 'REGISTRY_ERROR' || status === undefined || !isAnswer(status)) return undefined;
  const entry = error.registryErrors?.find((e) => e.code !== undefined && FORWARDED_CODES.has(e.code));
  const code = (entry?.code as OciErrorCode | undefined) ?? (status === 405 || status === 501 ? 'UNSUPPORTED' : 'UNKNOWN');
  const said = entry?.message !== undefined && entry.message !== '' ? `: ${sanitizeServerText(entry.message)}` : '';
  return new OciError(status, code, `the upstream registry answered HTTP ${status}${said}`, { upstream: sanitizeServerText(error.message, 600), upstreamStatus: status });
}

/**
 * The upstream refused tollgate's own credentials (401, 403, or its token service did). Not forwarded as such: the
 * client would take it for its own credentials being wrong. 503 as before (the operator must act), not an outage.
 */
export function upstreamRefusedCredentials(error: TollgateError): OciError {
  const status = error.status !== undefined ? ` (HTTP ${error.status})` : '';
  return new OciError(
    503,
    'UNAVAILABLE',
    `the upstream registry refused tollgate's own credentials${status}: the repository may need credentials the proxy is not configured with, or not exist there; the client's credentials are not at fault — the proxy's operator can check its upstream credentials`,
    { upstream: sanitizeServerText(error.message, 600), ...(error.status !== undefined ? { upstreamStatus: error.status } : {}) },
  );
}
