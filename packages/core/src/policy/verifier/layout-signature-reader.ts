import type { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, IndexManifest, RawManifest } from '../../image/types.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../manifest/parse.js';
import { MANIFEST_MEDIA_TYPES, MediaType } from '../../media-types.js';
import type { GetBlobOptions } from '../../registry/blobs.js';
import { referrersTag, type ReferrersResult } from '../../registry/referrers.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';
import { DirectoryStore } from '../../sources/oci-layout/directory-store.js';
import { cosignSaveAttachment, type CosignSaveOrigin } from '../../sources/oci-layout/cosign-save-index.js';
import { blobPath, checkLayoutMarker, openLayoutBlob, readLayoutIndex, refName, selectLayoutRoot } from '../../sources/oci-layout/layout-read.js';

/** cosign's legacy tags, `sha256-<hex>.sig` / `.att`: the digest they are for and which kind. */
const LEGACY_TAG = /^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})\.(sig|att)$/;

/**
 * Reads the signatures stored in an OCI image layout as signature discovery reads a registry without the referrers
 * API: the referrers of a digest are the index tagged `sha256-<hex>` in index.json (the referrers tag schema), cosign's
 * legacy `.sig`/`.att` tags are index.json tags too, and manifests and blobs come from `blobs/<alg>/<hex>`. Every
 * manifest is bounded at 4 MiB and checked against the digest that named it; the repository argument is ignored
 * (a layout is one repository). A layout written by `cosign save` has no such tags: there, a legacy tag the index
 * does not hold is answered with the `kind`-marked signatures or attestations image of the layout's signed entity
 * (cosignSaveAttachment), marked as such (CosignSaveOrigin) — so both read the same way, by the same checks.
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
  async getManifest(_repository: string, reference: string): Promise<RawManifest & { digest: string } & CosignSaveOrigin> {
    await checkLayoutMarker(this.store);
    if (reference.includes(':')) {
      const digest = parseDigest(reference, 'manifest digest').value;
      return this.readManifest(digest, undefined);
    }
    const index = await readLayoutIndex(this.store);
    const legacy = LEGACY_TAG.exec(reference);
    // A tag of the index wins (what tollgate copy and sign write); cosign save's entries answer only in its absence.
    if (legacy && !index.manifests.some((d) => refName(d) === reference)) {
      const kind = legacy[3] === 'sig' ? 'sigs' : 'atts';
      const entry = cosignSaveAttachment(index, `${legacy[1]}:${legacy[2]}`, kind, this.store.location);
      if (entry !== undefined) return { ...(await this.readCosignSaveEntry(entry, kind)), cosignSave: kind };
    }
    const descriptor = selectLayoutRoot(index, reference, this.store.location);
    return this.readManifest(descriptor.digest, descriptor.mediaType);
  }

  async getBlob(_repository: string, digest: string, options: GetBlobOptions = {}): Promise<Readable> {
    await checkLayoutMarker(this.store);
    const size = options.expectedSize ?? (await this.store.size(blobPath(digest)));
    if (size === undefined) throw new TollgateError('NOT_FOUND', `blob ${digest} is not in ${this.store.location}`);
    return openLayoutBlob(this.store, { mediaType: 'application/octet-stream', digest, size }, { ...(options.range ? { range: options.range } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }

  /**
   * A `cosign save` signatures/attestations image: an image manifest (cosign writes one), its index.json descriptor
   * exact (size too). A missing blob is a damaged layout, not an absent signature: said, not skipped.
   */
  private async readCosignSaveEntry(entry: Descriptor, kind: 'sigs' | 'atts'): Promise<RawManifest & { digest: string }> {
    const what = `the cosign save ${kind} entry ${entry.digest} of index.json in ${this.store.location}`;
    if (!MANIFEST_MEDIA_TYPES.includes(entry.mediaType)) throw new TollgateError('INVALID_LAYOUT', `${what} has media type ${JSON.stringify(entry.mediaType).slice(0, 100)}; cosign saves an image manifest there`);
    let raw: RawManifest & { digest: string };
    try {
      raw = await this.readManifest(entry.digest, entry.mediaType);
    } catch (error) {
      if (error instanceof TollgateError && error.code === 'NOT_FOUND') throw new TollgateError('INVALID_LAYOUT', `${what} names a manifest that is not in blobs/; the layout is incomplete`);
      throw error;
    }
    if (raw.bytes.byteLength !== entry.size) throw new TollgateError('INVALID_LAYOUT', `${what} declares ${entry.size} bytes, but the manifest is ${raw.bytes.byteLength}; the layout was altered`);
    return raw;
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
