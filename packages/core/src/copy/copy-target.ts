import type { Readable } from 'node:stream';
import type { Descriptor, RawManifest } from '../image/types.js';

/** Where a copy writes: a registry repository or an OCI layout. Found through these methods, never by class. */
export interface CopyTarget {
  /** `docker://host/repo` or `oci:/dir`. */
  readonly description: string;
  /** Whether the blob is already there with this size (a copy skips it: resumability). */
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  /**
   * Stores a blob from a stream that already verifies itself (a verifyingStream): the target must not make the blob
   * visible unless the stream ends cleanly. Called only after hasBlob said no.
   */
  putBlob(descriptor: Descriptor, content: Readable): Promise<void>;
  /** Whether a manifest is there by digest (its blobs and children then are too). */
  hasManifest(digest: string): Promise<boolean>;
  /** Stores a manifest by digest, untagged; its blobs and children are there already. */
  putManifest(bytes: Uint8Array, mediaType: string, digest: string): Promise<void>;
  /** The digest a tag names at the target, if the tag exists. */
  resolveTag(tag: string): Promise<string | undefined>;
  /** Points `tag` at a manifest already stored by putManifest. */
  tagManifest(bytes: Uint8Array, mediaType: string, tag: string): Promise<void>;
  /**
   * Makes `referrer` findable as a referrer of `subjectDigest` (after its manifest was stored): nothing more where
   * the target has the referrers API, else added to the `sha256-<hex>` referrers tag index. True when it was added.
   */
  addReferrer(subjectDigest: string, referrer: Descriptor): Promise<boolean>;
  /** Cross-repository mount (same registry only): true when the blob was mounted and needs no upload. */
  mountBlob?(descriptor: Descriptor, from: MountSource): Promise<boolean>;
}

/** Where a blob may be mounted from: a repository of a registry. */
export interface MountSource {
  registry: string;
  repository: string;
}

/** A manifest read from the source, verified against the digest that named it. */
export interface VerifiedManifest extends RawManifest {
  digest: string;
  mediaType: string;
}
