import { isTollgateError, isUnavailableError, TollgateError } from '@tollgate/core';

/** Error codes of the OCI distribution spec (plus distribution's UNAVAILABLE). */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

/** An error answered as `{"errors":[{code,message,detail}]}` with an HTTP status. */
export class OciError extends Error {
  constructor(
    readonly status: number,
    readonly code: OciErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'OciError';
  }

  body(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail !== undefined ? { detail: this.detail } : {}) }] };
  }
}

export type Subject = 'manifest' | 'blob' | 'tags' | 'referrers' | 'other';

/**
 * Maps an error from the serving path to what the client is told. Upstream trouble is UNAVAILABLE (503) or
 * TOOMANYREQUESTS (429); content that failed verification is refused as 502 (the upstream is at fault); nothing
 * from an upstream error body is echoed beyond a one-line message.
 */
export function toOciError(error: unknown, subject: Subject): OciError {
  if (error instanceof OciError) return error;
  if (!(error instanceof TollgateError)) return new OciError(500, 'UNKNOWN', 'internal error in the tollgate proxy; see its log');
  const message = error.message;
  switch (error.code) {
    case 'NOT_FOUND':
      if (subject === 'blob') return new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { upstream: message });
      if (subject === 'manifest' || subject === 'referrers') return new OciError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { upstream: message });
      return new OciError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { upstream: message });
    case 'INVALID_DIGEST':
      return new OciError(400, 'DIGEST_INVALID', message);
    case 'INVALID_REFERENCE':
      return new OciError(400, 'NAME_INVALID', message);
    case 'TOO_MANY_REQUESTS':
      return new OciError(429, 'TOOMANYREQUESTS', 'the upstream is rate limiting tollgate and the content is not cached; try again later', { upstream: message });
    case 'NETWORK_ERROR':
    case 'REGISTRY_ERROR':
    case 'UNAUTHORIZED':
    case 'DENIED':
    case 'INSECURE_REGISTRY':
    case 'CREDENTIALS':
      return new OciError(503, 'UNAVAILABLE', 'the upstream is unavailable and the content is not cached (or not admitted while cached); try again later', { upstream: message });
    case 'STORE_UNAVAILABLE':
      // The cause is the proxy's own store, not the upstream: the message must not send anyone to the upstream.
      return new OciError(503, 'UNAVAILABLE', "the tollgate proxy's store is unavailable right now; nothing is served until it is back — try again shortly", { store: message });
    case 'MANIFEST_TOO_LARGE':
      return new OciError(502, 'SIZE_INVALID', message);
    case 'DIGEST_MISMATCH':
    case 'SIZE_MISMATCH':
    case 'INVALID_MANIFEST':
    case 'INVALID_JSON':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'INVALID_LAYOUT':
      return new OciError(502, subject === 'blob' ? 'BLOB_UNKNOWN' : 'MANIFEST_INVALID', message);
    default:
      return new OciError(500, 'UNKNOWN', message);
  }
}

/**
 * Whether an upstream error means "try the cache": unreachable, rate limited or failing (5xx), not "no such thing"
 * nor an answer (a 400 or 501 is the upstream's word). One definition with the gate's indeterminate outcome and
 * the upstream's health — except the proxy's own store being down: the cache lives there, so falling back to it
 * cannot help, and the upstream is not at fault.
 */
export function isUpstreamUnavailable(error: unknown): boolean {
  return isUnavailableError(error) && !isTollgateError(error, 'STORE_UNAVAILABLE');
}
