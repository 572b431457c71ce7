import { digestOf } from '../../digest/digest.js';
import type { Descriptor, ImageManifest } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  BUNDLE_V03_MEDIA_TYPE,
  CREATED_ANNOTATION,
  EMPTY_CONFIG_BYTES,
  EMPTY_CONFIG_DIGEST,
  TITLE_ANNOTATION,
} from '../constants.js';

export interface ReferrerManifest {
  bytes: Uint8Array;
  digest: string;
  /** The descriptor of this manifest as a referrers index lists it (artifactType and annotations copied up). */
  descriptor: Descriptor;
  bundleDigest: string;
}

export interface ReferrerManifestOptions {
  /** `dsse-envelope` or `message-signature`. */
  content: 'dsse-envelope' | 'message-signature';
  predicateType?: string;
  /** RFC 3339; default the clock's time (whole seconds, as cosign). */
  created?: string;
  /** The clock, in ms since the epoch, for the default `created` (default Date.now). */
  now?: () => number;
}

/**
 * The OCI 1.1 artifact manifest cosign v3 pushes for a Sigstore bundle (specs/BUNDLE_SPEC.md): artifactType and
 * the single layer are the v0.3 bundle media type, the config is the empty descriptor, `subject` is the signed
 * manifest, and the annotations say what the bundle holds.
 */
export function buildReferrerManifest(bundleBytes: Uint8Array, subject: Descriptor, options: ReferrerManifestOptions): ReferrerManifest {
  const bundleDigest = digestOf(bundleBytes);
  const annotations: Record<string, string> = {
    [BUNDLE_CONTENT_ANNOTATION]: options.content,
    ...(options.predicateType !== undefined ? { [BUNDLE_PREDICATE_TYPE_ANNOTATION]: options.predicateType } : {}),
    [CREATED_ANNOTATION]: options.created ?? wholeSeconds((options.now ?? Date.now)()),
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    config: { mediaType: MediaType.OciEmpty, digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG_BYTES.byteLength },
    layers: [
      {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        digest: bundleDigest,
        size: bundleBytes.byteLength,
        annotations: { [TITLE_ANNOTATION]: `${bundleDigest.replace(':', '-')}.sigstore.json` },
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  return {
    bytes,
    digest,
    bundleDigest,
    descriptor: { mediaType: MediaType.OciManifest, digest, size: bytes.byteLength, artifactType: BUNDLE_V03_MEDIA_TYPE, annotations },
  };
}

/** RFC 3339 in UTC without fractional seconds, as cosign writes `org.opencontainers.image.created`. */
function wholeSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
