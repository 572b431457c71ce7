import type { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { IndexManifest, RawManifest } from '../../image/types.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import type { GetBlobOptions } from '../../registry/blobs.js';
import { referrersTag, type ReferrersResult } from '../../registry/referrers.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';
import { DirectoryStore } from '../../sources/oci-layout/directory-store.js';
import { blobPath, checkLayoutMarker, openLayoutBlob, readLayoutIndex, selectLayoutRoot } from '../../sources/oci-layout/layout-read.js';

/**
 * Reads the signatures stored in an OCI image layout as signature discovery reads a registry without the referrers
 * API: the referrers of a digest are the index tagged `sha256-<hex>` in index.json (the referrers tag schema), cosign's
 * legacy `.sig`/`.att` tags are index.json tags too, and manifests and blobs come from `blobs/<alg>/<hex>`. Every
 * manifest is bounded at 4 MiB and checked against the digest that named it; the repository argument is ignored
 * (a layout is one repository).
 */
export class OciLayoutSignatureReader implements SignatureReader {
  private readonly store: DirectoryStore;

  constructor(readonly dir: string) {
    this.store = new DirectoryStore(dir);
  }

  async referrers(repository: string, digest: string, options: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const tag = referrersTag(digest);
    let raw: RawManifest & { digest: string };
    try {
      raw = await this.getManifest(repository, tag);
    } catch (error) {
      if (error instanceof TollgateError && error.code === 'NOT_FOUND') return { index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }, source: 'none' };
      throw error;
    }
    const parsed = parseManifest(raw.bytes, raw.mediaType, `referrers tag ${tag} in ${this.store.location}`);
    if (parsed.kind !== 'index') {
      throw new TollgateError('INVALID_MANIFEST', `the referrers tag ${tag} in ${this.store.location} names an image, not an index; remove or retag it`);
    }
    const index: IndexManifest = options.artifactType === undefined ? parsed.index : { ...parsed.index, manifests: parsed.index.manifests.filter((d) => d.artifactType === options.artifactType) };
    return { index, source: 'tag-fallback' };
  }

  /** A manifest by digest (any blob of the layout, checked against the digest) or by tag (an index.json ref.name). */
  async getManifest(_repository: string, reference: string): Promise<RawManifest & { digest: string }> {
    await checkLayoutMarker(this.store);
    if (reference.includes(':')) {
      const digest = parseDigest(reference, 'manifest digest').value;
      return this.readManifest(digest, undefined);
    }
    const descriptor = selectLayoutRoot(await readLayoutIndex(this.store), reference, this.store.location);
    return this.readManifest(descriptor.digest, descriptor.mediaType);
  }

  async getBlob(_repository: string, digest: string, options: GetBlobOptions = {}): Promise<Readable> {
    await checkLayoutMarker(this.store);
    const size = options.expectedSize ?? (await this.store.size(blobPath(digest)));
    if (size === undefined) throw new TollgateError('NOT_FOUND', `blob ${digest} is not in ${this.store.location}`);
    return openLayoutBlob(this.store, { mediaType: 'application/octet-stream', digest, size }, { ...(options.range ? { range: options.range } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }

  private async readManifest(digest: string, declaredMediaType: string | undefined): Promise<RawManifest & { digest: string }> {
    const bytes = await this.store.read(blobPath(digest), MAX_MANIFEST_BYTES);
    if (bytes === undefined) throw new TollgateError('NOT_FOUND', `manifest ${digest} is not in ${this.store.location}`);
    if (bytes.length > MAX_MANIFEST_BYTES) throw new TollgateError('MANIFEST_TOO_LARGE', `manifest ${digest} in ${this.store.location} is over the ${MAX_MANIFEST_BYTES}-byte limit; refused`);
    const actual = digestOf(bytes, parseDigest(digest).algorithm);
    if (actual !== digest) throw new TollgateError('DIGEST_MISMATCH', `manifest ${digest} in ${this.store.location} digests to ${actual}; the layout was altered`);
    const mediaType = declaredMediaType ?? parseManifest(bytes, undefined, `manifest ${digest} in ${this.store.location}`).mediaType;
    return { bytes, mediaType, digest, expectedDigest: digest };
  }
}
