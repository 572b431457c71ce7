import type { PlatformScope } from '../schema/types.js';
import type { PolicyImage } from './types.js';

/**
 * The manifests whose signatures a rule's `platforms` scope requires. `pulled` (the default): the platform
 * manifest that is actually pulled, never "some child is signed" nor "the index is signed". `index`: the index
 * itself (its signature covers every child digest it lists). `all`: every platform manifest of the index.
 * A single-platform image is its own and only target in every scope.
 */
export function signatureTargets(image: PolicyImage, scope: PlatformScope): PolicyImage[] {
  if (image.index === undefined || scope === 'pulled') return [{ ...image, subject: 'image' }];
  if (scope === 'index') return [{ ...image, digest: image.index.digest, subject: 'index' }];
  return image.index.manifests.map((m) => ({ ...image, digest: m.digest, subject: m.digest === image.digest ? 'image' : 'platform' }));
}
