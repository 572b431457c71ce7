import { OciLayoutSignatureReader } from '../../policy/verifier/layout-signature-reader.js';
import { fetchSignatures } from '../storage/fetch-signatures.js';
import type { ImageVerificationResult, SignatureLimits } from '../types.js';
import type { ImageTrust, ImageVerifyOptions } from '../verify/trust.js';
import { verifyImageAttestations, verifyImageSignatures } from '../verify/verify-image-signatures.js';
import { formatLayoutImageReference, parseLayoutImageReference, type LayoutImageReference } from './layout-image-reference.js';
import { layoutContentProblems } from './layout-content.js';
import { resolveLayoutSubject } from './layout-subject.js';

export interface VerifyLayoutImageOptions extends Omit<ImageVerifyOptions, 'repository'>, SignatureLimits {
  /** Verify attestations of this predicate type instead of signatures. */
  predicateType?: string;
}

/**
 * Verifies an image in an OCI layout as verifyImage does one in a registry, with the layout in the registry's place:
 * the reference is resolved to its manifest digest (bytes checked against it), the signatures attached to that
 * digest are read from the layout (referrers tag index, cosign's `.sig`/`.att` tags) within the same limits, then
 * verified purely. Unlike a registry image, the content is checked too (layoutContentProblems): every blob the
 * manifest reaches must be in the layout with its digest, else the verification fails with the reasons. A layout
 * has no registry name, so a legacy payload's docker-reference is not compared with one (as cosign's
 * `verify --local-image`); the digest always is.
 */
export async function verifyLayoutImage(image: string | LayoutImageReference, trust: ImageTrust, options: VerifyLayoutImageOptions = {}): Promise<ImageVerificationResult> {
  const reference = typeof image === 'string' ? parseLayoutImageReference(image) : image;
  const reader = new OciLayoutSignatureReader(reference.dir);
  const subject = await resolveLayoutSubject(reader, reference);
  const digest = subject.digest;
  const include = options.predicateType !== undefined ? 'attestations' : 'signatures';
  const limits = {
    ...(options.maxSignatures !== undefined ? { maxSignatures: options.maxSignatures } : {}),
    ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
  };
  const fetched = await fetchSignatures(reader, '', digest, { ...limits, include });
  const { predicateType, ...verifyOptions } = options;
  const shown = formatLayoutImageReference(reference);
  const result = predicateType !== undefined
    ? await verifyImageAttestations(digest, shown, fetched, trust, { ...verifyOptions, predicateType })
    : await verifyImageSignatures(digest, shown, fetched, trust, verifyOptions);
  const content = await layoutContentProblems(reference.dir, subject);
  return content.length === 0 ? result : { ...result, ok: false, reasons: [...content, ...result.reasons] };
}
