import { TollgateError } from '../errors/tollgate-error.js';
import type { Descriptor, IndexManifest, Platform } from '../image/types.js';
import { compatiblePlatforms, formatPlatform, platformMatches } from './platform.js';

const MAX_LISTED = 20;

/** BuildKit's attestation manifests ride in the index as `unknown/unknown` images: never what anyone runs. */
export function isAttestationManifest(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown')
  );
}

/**
 * The one manifest of an index to use for `wanted`: an exact match after normalisation first, else the closest
 * older variant of the same architecture (see `compatiblePlatforms`); among equals, the first in the index, as
 * Docker and containerd do. Attestation manifests and descriptors without a platform are never chosen. Throws
 * NO_MATCHING_PLATFORM naming the platforms the index has.
 */
export function selectManifest(index: IndexManifest, wanted: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (d): d is Descriptor & { platform: Platform } => d.platform !== undefined && !isAttestationManifest(d),
  );
  for (const platform of compatiblePlatforms(wanted)) {
    const found = candidates.find((d) => platformMatches(platform, d.platform));
    if (found) return found;
  }
  const available = [...new Set(candidates.map((d) => printable(formatPlatform(d.platform))))];
  const listed =
    available.length === 0
      ? 'it lists no platform-specific images'
      : `it has ${available.slice(0, MAX_LISTED).join(', ')}${available.length > MAX_LISTED ? `, and ${available.length - MAX_LISTED} more` : ''}`;
  throw new TollgateError('NO_MATCHING_PLATFORM', `no image for ${printable(formatPlatform(wanted))} in the index: ${listed}; choose one of those with --platform`);
}

/** Platform strings come from remote documents: show anything unusual quoted and cut short. */
function printable(text: string): string {
  return /^[A-Za-z0-9_.\/-]{1,100}$/.test(text) ? text : JSON.stringify(text.slice(0, 100));
}
