import type { Descriptor } from '../image/types.js';
import { NOTATION_SIGNATURE_ARTIFACT_TYPE } from '../notation/types.js';
import { SIGSTORE_BUNDLE_MEDIA_TYPES } from '../sigstore/bundle.js';
import { BUNDLE_CONTENT_ANNOTATION, BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE } from './constants.js';

/** What an attachment is, as `tollgate tree` groups them. */
export type AttachedArtifactKind = 'signature' | 'attestation' | 'sbom' | 'notation-signature' | 'other';

/** The same, in cosign's `--only` vocabulary (what `copy` selects and reports): both kinds of signature are `sig`. */
export type AttachmentKind = 'sig' | 'att' | 'sbom' | 'other';

const ONLY_KIND_OF: Readonly<Record<AttachedArtifactKind, AttachmentKind>> = {
  signature: 'sig',
  'notation-signature': 'sig',
  attestation: 'att',
  sbom: 'sbom',
  other: 'other',
};

/** SPDX, CycloneDX and Syft media types in their spellings (`application/spdx+json`, `text/spdx`, `application/vnd.cyclonedx+json` …). */
export function isSbomMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && /(^|[/.+])(spdx|cyclonedx|syft)([+;.]|$)/i.test(mediaType);
}

/**
 * What a referrer is, from its descriptor in a referrers index (artifactType and the annotations copied up): a
 * cosign bundle is a signature when its predicate type is cosign's sign predicate or absent, or when it holds a
 * message signature (which cannot carry an in-toto statement, whatever predicate type is annotated); else an
 * attestation. SPDX/CycloneDX/Syft artifact types are SBOMs; notation's artifact type is a notation signature;
 * anything else is another referrer. Nothing is fetched: the annotations are hints, not verified.
 */
export function classifyReferrer(descriptor: Descriptor): { kind: AttachedArtifactKind; predicateType?: string } {
  const artifactType = descriptor.artifactType;
  if (artifactType !== undefined && SIGSTORE_BUNDLE_MEDIA_TYPES.includes(artifactType)) {
    const predicateType = descriptor.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
    const content = descriptor.annotations?.[BUNDLE_CONTENT_ANNOTATION];
    // cosign always annotates attestations with their predicate type, so its absence means a signature.
    if (predicateType === undefined || predicateType === COSIGN_SIGN_PREDICATE_TYPE || content === 'message-signature') return { kind: 'signature', ...(predicateType ? { predicateType } : {}) };
    return { kind: 'attestation', predicateType };
  }
  if (artifactType === NOTATION_SIGNATURE_ARTIFACT_TYPE) return { kind: 'notation-signature' };
  if (isSbomMediaType(artifactType)) return { kind: 'sbom' };
  return { kind: 'other' };
}

/** classifyReferrer's answer in cosign's `--only` vocabulary, so `copy --only` selects exactly what `tree` shows. */
export function referrerKind(descriptor: Descriptor): AttachmentKind {
  return ONLY_KIND_OF[classifyReferrer(descriptor).kind];
}
