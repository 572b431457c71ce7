import { TollgateError } from '../../errors/tollgate-error.js';
import type { Platform } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import { isAttestationManifest } from '../../platform/select.js';
import type { ImageReference } from '../../reference/reference.js';
import type { RegistryClient } from '../../registry/client.js';

/** One manifest to sign or verify on its own: the image (or index) named, or a manifest its index lists. */
export interface ManifestTarget {
  digest: string;
  mediaType: string;
  size: number;
  /** The platform the index lists it under (children only). */
  platform?: Platform;
  /** The index that lists it (children only). */
  parent?: string;
}

/** More manifests than any real multi-platform image has; an index listing more is refused, not walked. */
export const MAX_RECURSIVE_TARGETS = 256;
const MAX_DEPTH = 3;

/**
 * What `sign --recursive` signs and `verify --recursive` checks, as cosign: the manifest the reference names and,
 * when it is an index, every manifest the index lists (nested indexes walked, up to 3 levels), each its own
 * target. BuildKit's attestation manifests (`unknown/unknown`) are left out: nothing runs them, and policies'
 * `platforms: all` does not ask for them. Without `recursive`, or for a single image, only the named manifest.
 * Every manifest is fetched by digest (verified, bounded, strictly parsed) and listed once.
 */
export async function manifestTargets(client: RegistryClient, reference: ImageReference, options: { recursive?: boolean } = {}): Promise<ManifestTarget[]> {
  const raw = await client.getManifest(reference.repository, reference.pinned() ?? reference.tag ?? 'latest');
  if (raw.mediaType === undefined) throw new TollgateError('INVALID_MANIFEST', `the registry did not say the media type of ${reference.toString()}`);
  const root: ManifestTarget = { digest: raw.digest, mediaType: raw.mediaType, size: raw.bytes.byteLength };
  const targets = [root];
  if (!options.recursive) return targets;
  const seen = new Set([root.digest]);
  const walk = async (bytes: Uint8Array, mediaType: string, digest: string, depth: number): Promise<void> => {
    const parsed = parseManifest(bytes, mediaType, `manifest ${digest}`);
    if (parsed.kind !== 'index') return;
    if (depth >= MAX_DEPTH) throw new TollgateError('INVALID_MANIFEST', `index ${digest} nests indexes more than ${MAX_DEPTH} deep; refusing to walk it`);
    for (const child of parsed.index.manifests) {
      if (isAttestationManifest(child) || seen.has(child.digest)) continue;
      seen.add(child.digest);
      if (targets.length >= MAX_RECURSIVE_TARGETS) {
        throw new TollgateError('INVALID_MANIFEST', `${reference.toString()} lists more than ${MAX_RECURSIVE_TARGETS} manifests; refusing to walk it`);
      }
      targets.push({ digest: child.digest, mediaType: child.mediaType, size: child.size, parent: digest, ...(child.platform ? { platform: child.platform } : {}) });
      if (/index|manifest\.list/.test(child.mediaType)) {
        const nested = await client.getManifest(reference.repository, child.digest);
        await walk(nested.bytes, nested.mediaType ?? child.mediaType, child.digest, depth + 1);
      }
    }
  };
  await walk(raw.bytes, raw.mediaType, raw.digest, 0);
  return targets;
}
