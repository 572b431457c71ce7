import { isIndexMediaType, isManifestMediaType } from '../media-types.js';

/** Docker's image manifest schema 1 (signed and unsigned), which tollgate does not read. */
export const SCHEMA1_MEDIA_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

/** Content types that say nothing about which manifest format a document is. */
const GENERIC_MEDIA_TYPES: readonly string[] = ['application/json', 'application/octet-stream', 'text/plain'];

/** A Content-Type reduced to `type/subtype` in lowercase, without parameters; undefined when empty. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const bare = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return bare === '' ? undefined : bare;
}

export function isGenericMediaType(mediaType: string): boolean {
  return GENERIC_MEDIA_TYPES.includes(mediaType);
}

export function isSchema1MediaType(mediaType: string): boolean {
  return SCHEMA1_MEDIA_TYPES.includes(mediaType);
}

/** An image manifest or index media type tollgate reads. */
export function isKnownManifestMediaType(mediaType: string): boolean {
  return isManifestMediaType(mediaType) || isIndexMediaType(mediaType);
}

export const SCHEMA1_ADVICE =
  'Docker image manifest schema 1 is not supported (it is deprecated); rebuild or re-push the image with a current Docker, or convert it with `skopeo copy --format v2s2`';
