import { TollgateError } from '../errors/tollgate-error.js';
import { digestOf, parseDigest } from '../digest/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../manifest/parse.js';
import { Image } from './image.js';
import { ImageIndex } from './image-index.js';
import type { ContentSource, Descriptor, RawManifest } from './types.js';

/**
 * Turns manifest bytes from a source into an Image or ImageIndex, after checking them: size bound, digest against
 * what the reference, the registry or the parent descriptor claims, and size and media type against the parent
 * descriptor. The digest is always computed from the bytes as received.
 */
export function loadManifest(
  source: ContentSource,
  raw: RawManifest,
  options: { descriptor?: Descriptor; depth?: number } = {},
): Image | ImageIndex {
  const { descriptor } = options;
  const what = `manifest from ${source.description}`;
  if (raw.bytes.length > MAX_MANIFEST_BYTES) {
    throw new TollgateError('MANIFEST_TOO_LARGE', `${what} is ${raw.bytes.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  const algorithm = raw.expectedDigest ? parseDigest(raw.expectedDigest, 'expected manifest digest').algorithm : 'sha256';
  const digest = digestOf(raw.bytes, algorithm);
  if (raw.expectedDigest && digest !== raw.expectedDigest) {
    throw new TollgateError('DIGEST_MISMATCH', `${what}: digest mismatch, expected ${raw.expectedDigest}, got ${digest}; the manifest was altered or the source is lying`);
  }
  if (descriptor && descriptor.size !== raw.bytes.length) {
    throw new TollgateError('SIZE_MISMATCH', `${what}: size mismatch, the index declares ${descriptor.size} bytes for ${descriptor.digest}, got ${raw.bytes.length}`);
  }
  const parsed = parseManifest(raw.bytes, raw.mediaType ?? descriptor?.mediaType, what);
  if (descriptor && descriptor.mediaType !== parsed.mediaType) {
    throw new TollgateError('INVALID_MANIFEST', `${what}: the index declares media type ${descriptor.mediaType} for ${descriptor.digest} but the manifest is ${parsed.mediaType}`);
  }
  return parsed.kind === 'image'
    ? new Image(source, raw.bytes, digest, parsed.mediaType, parsed.manifest)
    : new ImageIndex(source, raw.bytes, digest, parsed.mediaType, parsed.index, options.depth ?? 0);
}
