import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, IndexManifest } from '../../image/types.js';

/**
 * How `cosign save` marks the parts of a layout (cosign pkg/oci/layout): no tags — each index.json entry it writes
 * carries one annotation, `kind`, saying what it is: the saved image or image index, its signatures image, its
 * attestations image. Nothing else ties a signatures image to what it signs: cosign's reader takes the first
 * `imageIndex` entry, else the first `image` entry, as the signed entity, and the first `sigs` (`atts`) entry as
 * its signatures (attestations); each signature then has to name that entity's digest in its payload.
 */
export const COSIGN_KIND_ANNOTATION = 'kind';
export const CosignSaveKind = {
  image: 'dev.cosignproject.cosign/image',
  imageIndex: 'dev.cosignproject.cosign/imageIndex',
  sigs: 'dev.cosignproject.cosign/sigs',
  atts: 'dev.cosignproject.cosign/atts',
} as const;

/** What the layout signature reader adds to a manifest it found by a `kind` entry instead of a tag. */
export interface CosignSaveOrigin {
  /** `sigs` or `atts`: the signatures or attestations image of a `cosign save` layout. */
  cosignSave?: 'sigs' | 'atts';
}

function kindOf(descriptor: Descriptor): string | undefined {
  return descriptor.annotations?.[COSIGN_KIND_ANNOTATION];
}

/** Whether an entry is a signatures or attestations image of a `cosign save` layout (not an image of its own). */
export function isCosignSaveAttachment(descriptor: Descriptor): boolean {
  const kind = kindOf(descriptor);
  return kind === CosignSaveKind.sigs || kind === CosignSaveKind.atts;
}

/** The entity cosign's `verify --local-image` checks: the first `imageIndex` entry, else the first `image` entry. */
export function cosignSaveSubject(index: IndexManifest): Descriptor | undefined {
  return index.manifests.find((d) => kindOf(d) === CosignSaveKind.imageIndex) ?? index.manifests.find((d) => kindOf(d) === CosignSaveKind.image);
}

/**
 * The signatures (`sigs`) or attestations (`atts`) entry of a `cosign save` layout, if `digest` is its signed
 * entity (cosignSaveSubject) — another image of the layout has none of cosign's. cosign writes at most one entry of
 * each kind; two are refused (cosign would silently read the first; which one was meant is not knowable).
 */
export function cosignSaveAttachment(index: IndexManifest, digest: string, kind: 'sigs' | 'atts', location: string): Descriptor | undefined {
  const entries = index.manifests.filter((d) => kindOf(d) === CosignSaveKind[kind]);
  if (entries.length === 0) return undefined;
  if (cosignSaveSubject(index)?.digest !== digest) return undefined;
  if (entries.length > 1) {
    throw new TollgateError('INVALID_LAYOUT', `index.json in ${location} has ${entries.length} entries of kind ${CosignSaveKind[kind]}; cosign save writes one, so which holds the ${kind === 'sigs' ? 'signatures' : 'attestations'} is ambiguous: refused`);
  }
  return entries[0];
}
