import { parseDigest } from '../digest/digest.js';
import { TollgateError } from '../errors/tollgate-error.js';
import type { IndexManifest } from '../image/types.js';
import { bareMediaType } from '../manifest/media-type.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../manifest/parse.js';
import { MediaType } from '../media-types.js';
import { pullScope } from './auth/scope.js';
import { registryError, type RequestContext } from './errors.js';
import { failure } from './http/raw-request.js';
import { contentLength, drain, headerValue, readBounded, discardBody } from './http/read-bounded.js';
import type { RegistryHttp } from './http/registry-http.js';
import { getManifest } from './manifests.js';
import { checkDigest, checkRepository } from './names.js';

export interface ReferrersResult {
  index: IndexManifest;
  /** `api`: the OCI 1.1 referrers API answered; `tag-fallback`: the `<alg>-<hex>` tag; `none`: neither exists. */
  source: 'api' | 'tag-fallback' | 'none';
}

/** The tag the referrers tag schema uses for a subject digest: `sha256:abc…` → `sha256-abc…`. */
export function referrersTag(digest: string): string {
  const parsed = parseDigest(digest);
  return `${parsed.algorithm}-${parsed.hex}`;
}

function emptyIndex(): IndexManifest {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

function asIndex(bytes: Uint8Array, mediaType: string | undefined, context: RequestContext): IndexManifest | undefined {
  try {
    const parsed = parseManifest(bytes, mediaType, 'referrers index');
    return parsed.kind === 'index' ? parsed.index : undefined;
  } catch (error) {
    if (error instanceof TollgateError) throw registryError(error.code, context, error.message);
    throw error;
  }
}

function filter(index: IndexManifest, artifactType: string | undefined): IndexManifest {
  if (artifactType === undefined) return index;
  return { ...index, manifests: index.manifests.filter((d) => d.artifactType === artifactType) };
}

/**
 * The manifests that refer to `digest` (signatures, attestations, SBOMs): the OCI 1.1 referrers API first, then the
 * referrers tag schema (`sha256-<hex>`) for registries without the API. artifactType is filtered here when the
 * server did not apply it (no `OCI-Filters-Applied: artifactType`).
 */
export async function referrers(http: RegistryHttp, repository: string, digest: string, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<ReferrersResult> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'listing referrers of' };
  checkRepository(repository, context);
  checkDigest(digest, context);
  const query = options.artifactType !== undefined ? `?${new URLSearchParams({ artifactType: options.artifactType }).toString()}` : '';
  const response = await http.send({
    method: 'GET',
    target: `/v2/${repository}/referrers/${digest}${query}`,
    headers: { accept: MediaType.OciIndex },
    scope: pullScope(repository),
    context,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 200) {
    const mediaType = bareMediaType(headerValue(response.headers['content-type']));
    const tooLarge = () => registryError('MANIFEST_TOO_LARGE', context, 'the referrers index is larger than 4 MiB; it is refused unread');
    const declared = contentLength(response.headers['content-length']);
    if (mediaType === MediaType.OciIndex) {
      if (declared !== undefined && declared > MAX_MANIFEST_BYTES) {
        discardBody(response.body);
        throw tooLarge();
      }
      const index = asIndex(await readBounded(response.body, MAX_MANIFEST_BYTES, tooLarge), mediaType, context);
      if (index !== undefined) {
        const applied = (headerValue(response.headers['oci-filters-applied']) ?? '').split(',').map((s) => s.trim());
        return { index: applied.includes('artifactType') ? index : filter(index, options.artifactType), source: 'api' };
      }
    } else {
      // Not an index: a registry (or a front page) that does not implement the API. Use the tag schema.
      await drain(response.body);
    }
  } else if (response.status === 404) {
    await drain(response.body);
  } else {
    throw await failure(response, context);
  }
  try {
    const manifest = await getManifest(http, repository, referrersTag(digest), options.signal ? { signal: options.signal } : {});
    const index = asIndex(manifest.bytes, manifest.mediaType, context);
    if (index === undefined) {
      throw registryError('INVALID_MANIFEST', context, `the referrers tag ${referrersTag(digest)} names an image, not an index; the tag schema expects an index`);
    }
    return { index: filter(index, options.artifactType), source: 'tag-fallback' };
  } catch (error) {
    if (error instanceof TollgateError && error.code === 'NOT_FOUND') return { index: emptyIndex(), source: 'none' };
    throw error;
  }
}
