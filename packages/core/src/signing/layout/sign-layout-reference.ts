import { OciLayoutSignatureReader } from '../../policy/verifier/layout-signature-reader.js';
import { signLayoutImage, type LayoutSignResult } from '../../policy/verifier/layout-signature-writer.js';
import { DirectoryStore } from '../../sources/oci-layout/directory-store.js';
import { checkLayoutMarker } from '../../sources/oci-layout/layout-read.js';
import { OciLayoutWriter } from '../../sources/oci-layout/oci-layout-writer.js';
import type { ImageSigningOptions } from '../sign/sign-dsse.js';
import { formatLayoutImageReference, parseLayoutImageReference, type LayoutImageReference } from './layout-image-reference.js';
import { resolveLayoutSubject } from './layout-subject.js';

export interface SignLayoutReferenceOptions {
  /** `-a key=value`, signed into the statement subject. */
  annotations?: Record<string, string>;
  /** Attest instead of sign: an in-toto statement of this predicate type (the subject name is the tag, else the digest). */
  attestation?: { predicateType: string; predicate: unknown };
}

export interface SignLayoutReferenceResult extends LayoutSignResult {
  /** `oci:<dir>@<digest>`: what was signed. */
  reference: string;
}

/**
 * Signs (or attests) the image an `oci:` reference names inside its layout, stored as `tollgate copy` stores a
 * registry image's signatures there (signLayoutImage: referrer in the `sha256-<hex>` tag index), so verify reads
 * it and copy carries it on. The reference is resolved to its digest once and the digest is what gets signed; the
 * layout must already exist (a mistyped directory is an error, not a new empty layout).
 */
export async function signLayoutReference(image: string | LayoutImageReference, signing: ImageSigningOptions, options: SignLayoutReferenceOptions = {}): Promise<SignLayoutReferenceResult> {
  const reference = typeof image === 'string' ? parseLayoutImageReference(image) : image;
  await checkLayoutMarker(new DirectoryStore(reference.dir));
  const subject = await resolveLayoutSubject(new OciLayoutSignatureReader(reference.dir), reference);
  const writer = await OciLayoutWriter.create(reference.dir);
  const attestation = options.attestation ? { ...options.attestation, name: reference.tag ?? subject.digest } : undefined;
  const result = await signLayoutImage(writer, subject.digest, signing, {
    ...(attestation ? { attestation } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  return { ...result, reference: formatLayoutImageReference({ dir: reference.dir, digest: result.digest }) };
}
