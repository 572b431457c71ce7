/** serve/'s typed refusals become the OCI errors clients have always been given: status, code and detail per kind. */
import { expect, it } from 'vitest';
import { toOciError } from '../src/http/oci-error.js';
import { ServeRefusal, type Refusal } from '../src/serve/refusal.js';

const digest = `sha256:${'a'.repeat(64)}`;
const verdict = { decision: 'deny' as const, rule: 'signed', reasons: ['no signature'], policyRevision: 'r1' };

it('maps every kind of refusal to its status, code and detail, keeping the message', () => {
  const cases: [Refusal, number, string, unknown][] = [
    [{ kind: 'invalid-digest' }, 400, 'DIGEST_INVALID', undefined],
    [{ kind: 'unknown-reference' }, 404, 'MANIFEST_UNKNOWN', undefined],
    [{ kind: 'denied', digest, verdict, move: { tag: 'v1', from: digest, to: digest } }, 403, 'DENIED', { digest, rule: 'signed', reasons: ['no signature'], policyRevision: 'r1', tagMove: { tag: 'v1', from: digest, to: digest } }],
    [{ kind: 'gate-error', digest, reason: 'boom' }, 403, 'DENIED', { digest, reason: 'boom' }],
    [{ kind: 'indeterminate', digest, reasons: ['1', '2', '3', '4', '5', '6'], cause: 'store' }, 503, 'UNAVAILABLE', { digest, reasons: ['1', '2', '3', '4', '5'] }],
    [{ kind: 'blob-not-admitted', reason: 'pull the manifest first' }, 404, 'BLOB_UNKNOWN', { reason: 'pull the manifest first' }],
    [{ kind: 'blob-size-conflict' }, 502, 'BLOB_UNKNOWN', undefined],
    [{ kind: 'blob-busy' }, 503, 'UNAVAILABLE', undefined],
  ];
  for (const [refusal, status, code, detail] of cases) {
    const oci = toOciError(new ServeRefusal(refusal, `refused: ${refusal.kind}`), 'manifest');
    expect({ status: oci.status, code: oci.code, message: oci.message, detail: oci.detail }, refusal.kind).toEqual({ status, code, message: `refused: ${refusal.kind}`, detail });
  }
});
