import type { Image } from '../image/image.js';
import type { ImageIndex } from '../image/image-index.js';
import type { Descriptor } from '../image/types.js';
import { MediaType } from '../media-types.js';
import { formatPlatform } from '../platform/platform.js';
import { canonicalJson } from './diff-config.js';
import type { ManifestChange } from './types.js';

/** Annotations that only say when something was built. */
const TIMESTAMP_ANNOTATIONS = new Set(['org.opencontainers.image.created']);

/** Docker and OCI spell the same things differently; semantically they are one. */
const EQUIVALENT: Record<string, string> = {
  [MediaType.DockerManifest]: MediaType.OciManifest,
  [MediaType.DockerManifestList]: MediaType.OciIndex,
  [MediaType.DockerConfig]: MediaType.OciConfig,
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.DockerLayer]: MediaType.OciLayer,
};

function mediaTypeKey(mediaType: string | undefined, semantic: boolean): string | undefined {
  if (mediaType === undefined || !semantic) return mediaType;
  return EQUIVALENT[mediaType] ?? mediaType;
}

function change(out: ManifestChange[], scope: ManifestChange['scope'], field: string, before: unknown, after: unknown): void {
  if (canonicalJson(before) === canonicalJson(after)) return;
  const c: ManifestChange = { scope, field };
  if (before !== undefined) c.before = before;
  if (after !== undefined) c.after = after;
  out.push(c);
}

function annotations(out: ManifestChange[], scope: ManifestChange['scope'], a: Record<string, string> | undefined, b: Record<string, string> | undefined, semantic: boolean): void {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
  for (const key of keys) {
    if (semantic && TIMESTAMP_ANNOTATIONS.has(key)) continue;
    change(out, scope, `annotations[${key}]`, a?.[key], b?.[key]);
  }
}

function platformsOf(index: ImageIndex): string[] {
  return index.manifests.map((d: Descriptor) => (d.platform ? formatPlatform(d.platform) : 'unknown')).sort();
}

/**
 * Manifest-level differences: for two indexes, their media types, annotations and the platforms present in one and
 * not the other; for the two image manifests, media type, config media type, artifactType, subject and
 * annotations. Layer descriptors are the layers section's business.
 */
export function diffManifests(
  a: { root: Image | ImageIndex; image: Image },
  b: { root: Image | ImageIndex; image: Image },
  semantic: boolean,
): ManifestChange[] {
  const out: ManifestChange[] = [];
  const ia = a.root.kind === 'index' ? a.root : undefined;
  const ib = b.root.kind === 'index' ? b.root : undefined;
  if (ia && ib) {
    change(out, 'index', 'mediaType', mediaTypeKey(ia.mediaType, semantic), mediaTypeKey(ib.mediaType, semantic));
    annotations(out, 'index', ia.index.annotations, ib.index.annotations, semantic);
    const pa = platformsOf(ia);
    const pb = platformsOf(ib);
    const removed = pa.filter((p) => !pb.includes(p));
    const added = pb.filter((p) => !pa.includes(p));
    for (const p of removed) out.push({ scope: 'index', field: 'platforms', before: p });
    for (const p of added) out.push({ scope: 'index', field: 'platforms', after: p });
  } else if (ia || ib) {
    change(out, 'index', 'index', ia?.digest, ib?.digest);
  }
  const ma = a.image.manifest;
  const mb = b.image.manifest;
  change(out, 'manifest', 'mediaType', mediaTypeKey(a.image.mediaType, semantic), mediaTypeKey(b.image.mediaType, semantic));
  change(out, 'manifest', 'config.mediaType', mediaTypeKey(ma.config.mediaType, semantic), mediaTypeKey(mb.config.mediaType, semantic));
  change(out, 'manifest', 'artifactType', ma.artifactType, mb.artifactType);
  change(out, 'manifest', 'subject', ma.subject?.digest, mb.subject?.digest);
  annotations(out, 'manifest', ma.annotations, mb.annotations, semantic);
  return out;
}
