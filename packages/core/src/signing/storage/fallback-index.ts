import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, IndexManifest } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import type { RegistryClient } from '../../registry/client.js';
import { referrersTag } from '../../registry/referrers.js';

/**
 * Adds `descriptor` to the referrers tag schema index (`sha256-<hex>`) of `subjectDigest`, for registries without
 * the referrers API (distribution-spec "pushing manifests with subject"): read the index the tag names (none: start
 * empty), append the descriptor unless it is already listed, and put the index back under the tag. Entries already
 * there are kept as they are, whatever they are. Returns false when the descriptor was already listed.
 * Not atomic: two writers racing on one subject can lose an entry, as with every client of the tag schema.
 */
export async function addToFallbackIndex(client: RegistryClient, repository: string, subjectDigest: string, descriptor: Descriptor): Promise<boolean> {
  const tag = referrersTag(subjectDigest);
  let index: IndexManifest = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  try {
    const existing = await client.getManifest(repository, tag);
    const parsed = parseManifest(existing.bytes, existing.mediaType, `referrers tag ${tag}`);
    if (parsed.kind !== 'index') {
      throw new TollgateError('INVALID_MANIFEST', `the referrers tag ${tag} names an image, not an index; delete or retag it before attaching signatures`);
    }
    index = parsed.index;
  } catch (error) {
    if (!(error instanceof TollgateError && error.code === 'NOT_FOUND')) throw error;
  }
  if (index.manifests.some((m) => m.digest === descriptor.digest)) return false;
  const updated: IndexManifest = { ...index, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...index.manifests, descriptor] };
  await client.putManifest(repository, tag, new TextEncoder().encode(JSON.stringify(updated)), MediaType.OciIndex);
  return true;
}
