import type { Descriptor } from '../image/types.js';
import { NOTATION_SIGNATURE_ARTIFACT_TYPE } from '../notation/types.js';
import { SIGSTORE_BUNDLE_MEDIA_TYPES } from '../sigstore/bundle.js';
import { BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE } from '../signing/constants.js';

/** What an attachment is, in cosign's `--only` vocabulary, plus `other` for any other referrer. */
export type AttachmentKind = 'sig' | 'att' | 'sbom' | 'other';

/** The kinds `--only` accepts (cosign's). */
export const ONLY_KINDS: readonly Exclude<AttachmentKind, 'other'>[] = ['sig', 'att', 'sbom'];

const SBOM_ARTIFACT_TYPE = /(?:^|[/.+])(?:spdx|cyclonedx|syft)(?:[.+;]|$)/i;

/**
 * The kind of a referrer, from its descriptor in the referrers index: a Sigstore bundle is a signature when its
 * predicate type (annotation) is cosign's signature type or absent, an attestation otherwise; a Notary Project
 * signature is a signature; an SPDX/CycloneDX/Syft artifact is an SBOM; anything else is `other`.
 */
export function referrerKind(descriptor: Descriptor): AttachmentKind {
  const type = descriptor.artifactType ?? '';
  if (SIGSTORE_BUNDLE_MEDIA_TYPES.includes(type)) {
    const predicateType = descriptor.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
    return predicateType === undefined || predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'sig' : 'att';
  }
  if (type === NOTATION_SIGNATURE_ARTIFACT_TYPE) return 'sig';
  if (SBOM_ARTIFACT_TYPE.test(type)) return 'sbom';
  return 'other';
}

/** cosign's legacy tag suffixes and what each holds. */
export const LEGACY_SUFFIXES: ReadonlyArray<{ suffix: 'sig' | 'att' | 'sbom'; kind: Exclude<AttachmentKind, 'other'> }> = [
  { suffix: 'sig', kind: 'sig' },
  { suffix: 'att', kind: 'att' },
  { suffix: 'sbom', kind: 'sbom' },
];

/** Parses `--only sig,att,sbom` (comma-separated, repeatable); unknown words are a usage error's message. */
export function parseOnly(values: readonly string[]): { kinds: Set<AttachmentKind> } | { error: string } {
  const kinds = new Set<AttachmentKind>();
  for (const value of values) {
    for (const word of value.split(',').map((w) => w.trim().toLowerCase())) {
      if (word === '') continue;
      if (!(ONLY_KINDS as readonly string[]).includes(word)) return { error: `--only takes sig, att and sbom (comma-separated), not ${JSON.stringify(word.slice(0, 40))}` };
      kinds.add(word as AttachmentKind);
    }
  }
  if (kinds.size === 0) return { error: '--only needs at least one of sig, att, sbom' };
  return { kinds };
}
