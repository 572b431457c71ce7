import { TollgateError } from '@tollgate/core';
import { ServeRefusal } from '../serve/refusal.js';
import { OciError } from './oci-error-body.js';
import { refusalResponse } from './refusal-response.js';
import { sanitizeServerText } from './server-text.js';
import { upstreamAnswer, upstreamRefusedCredentials } from './upstream-answer.js';

export { isUpstreamUnavailable } from '../upstream/unavailable.js';
export { OciError, type OciErrorCode } from './oci-error-body.js';

export type Subject = 'manifest' | 'blob' | 'tags' | 'referrers' | 'other';

/**
 * Maps an error from the serving path to what the client is told. An upstream that is unreachable, failing (5xx)
 * or refusing tollgate's credentials is UNAVAILABLE (503), one rate limiting is TOOMANYREQUESTS (429) — the client
 * retries; an upstream's answer (a 400, 405, 501 …) keeps its status and the registry's code (upstreamAnswer);
 * content that failed verification is refused as 502 (the upstream is at fault). Nothing from an upstream error
 * body is echoed beyond one sanitised line.
 */
export function toOciError(error: unknown, subject: Subject): OciError {
  if (error instanceof OciError) return error;
  if (error instanceof ServeRefusal) return refusalResponse(error);
  if (!(error instanceof TollgateError)) return new OciError(500, 'UNKNOWN', 'internal error in the tollgate proxy; see its log');
  const message = sanitizeServerText(error.message, 600);
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
    case 'UNAUTHORIZED':
    case 'DENIED':
      return upstreamRefusedCredentials(error);
    case 'REGISTRY_ERROR':
      return upstreamAnswer(error) ?? new OciError(503, 'UNAVAILABLE', 'the upstream is unavailable and the content is not cached (or not admitted while cached); try again later', { upstream: message });
    case 'NETWORK_ERROR':
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
