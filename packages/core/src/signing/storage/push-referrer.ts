import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import type { RegistryClient } from '../../registry/client.js';
import { referrersTag } from '../../registry/referrers.js';
import { EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST } from '../constants.js';
import { addToFallbackIndex } from './fallback-index.js';
import { buildReferrerManifest, type ReferrerManifestOptions } from './referrer-manifest.js';

/** When to maintain the `sha256-<hex>` referrers tag: only without a referrers API (auto), always, or never. */
export type ReferrersMode = 'auto' | 'always' | 'never';

export interface PushedReferrer {
  /** The referrer manifest's digest. */
  digest: string;
  bundleDigest: string;
  /** The fallback tag written (absent when the registry's referrers API made it unnecessary, or mode never). */
  fallbackTag?: string;
}

/**
 * Attaches a Sigstore bundle to `subject` as cosign v3 does: the empty config and the bundle as blobs, then the
 * referrer manifest by digest. Where the registry has no referrers API (or mode is `always`), the referrers tag
 * index is updated too, so that clients of the tag schema (and docker-registry 2.8 users) find it.
 */
export async function pushBundleReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  bundleBytes: Uint8Array,
  options: ReferrerManifestOptions & { mode?: ReferrersMode },
): Promise<PushedReferrer> {
  const mode = options.mode ?? 'auto';
  if (!['auto', 'always', 'never'].includes(mode)) throw new TollgateError('USAGE', `registry referrers mode must be auto, always or never, not ${JSON.stringify(mode)}`);
  const referrer = buildReferrerManifest(bundleBytes, subject, options);
  await client.pushBlob(repository, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST, EMPTY_CONFIG_BYTES.byteLength);
  await client.pushBlob(repository, bundleBytes, referrer.bundleDigest, bundleBytes.byteLength);
  await client.putManifest(repository, referrer.digest, referrer.bytes, MediaType.OciManifest);
  let writeTag = mode === 'always';
  if (mode === 'auto') {
    // A registry with the API now lists the new manifest; one without answers from the tag schema (or nothing).
    const listed = await client.referrers(repository, subject.digest);
    writeTag = listed.source !== 'api';
  }
  if (!writeTag) return { digest: referrer.digest, bundleDigest: referrer.bundleDigest };
  await addToFallbackIndex(client, repository, subject.digest, referrer.descriptor);
  return { digest: referrer.digest, bundleDigest: referrer.bundleDigest, fallbackTag: referrersTag(subject.digest) };
}
