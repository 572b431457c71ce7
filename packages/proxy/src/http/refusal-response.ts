import type { ServeRefusal } from '../serve/refusal.js';
import { OciError } from './oci-error-body.js';

/** What the client is told when serve/ refuses: status, OCI code and the detail that goes with each kind. */
export function refusalResponse(error: ServeRefusal): OciError {
  const refusal = error.refusal;
  switch (refusal.kind) {
    case 'invalid-digest':
      return new OciError(400, 'DIGEST_INVALID', error.message);
    case 'unknown-reference':
      return new OciError(404, 'MANIFEST_UNKNOWN', error.message);
    case 'denied': {
      const { verdict, move } = refusal;
      return new OciError(403, 'DENIED', error.message, {
        digest: refusal.digest,
        rule: verdict.rule,
        reasons: verdict.reasons,
        policyRevision: verdict.policyRevision,
        ...(move !== undefined ? { tagMove: move } : {}),
      });
    }
    case 'gate-error':
      return new OciError(403, 'DENIED', error.message, { digest: refusal.digest, reason: refusal.reason });
    case 'indeterminate':
      return new OciError(503, 'UNAVAILABLE', error.message, { digest: refusal.digest, reasons: refusal.reasons.slice(0, 5) });
    case 'blob-not-admitted':
      return new OciError(404, 'BLOB_UNKNOWN', error.message, { reason: refusal.reason });
    case 'blob-size-conflict':
      return new OciError(502, 'BLOB_UNKNOWN', error.message);
    case 'blob-busy':
      return new OciError(503, 'UNAVAILABLE', error.message);
  }
}
