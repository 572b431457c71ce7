import { Readable } from 'node:stream';
import { readBounded } from '../../image/read-bounded.js';
import type { RawManifest } from '../../image/types.js';
import type { GetBlobOptions } from '../../registry/blobs.js';
import type { ReferrersResult } from '../../registry/referrers.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';

/** Blobs above this are streamed through uncached (signature blobs are far smaller; the callers bound them). */
const MAX_CACHED_BLOB_BYTES = 4 * 1024 * 1024;

/**
 * A reader that asks its upstream once per question for the life of one evaluation: referrer listings, manifests
 * and small sized blobs are kept (as promises, so concurrent askers share one request), and a failure is not.
 * Sigstore and notation discovery over the same digest then share one listing and one fetch of each artifact.
 */
export class MemoSignatureReader implements SignatureReader {
  private readonly referrerLists = new Map<string, Promise<ReferrersResult>>();
  private readonly manifests = new Map<string, Promise<RawManifest & { digest: string }>>();
  private readonly blobs = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly upstream: SignatureReader) {}

  referrers(repository: string, digest: string, options: { artifactType?: string } = {}): Promise<ReferrersResult> {
    return remember(this.referrerLists, JSON.stringify([repository, digest, options.artifactType ?? null]), () => this.upstream.referrers(repository, digest, options));
  }

  getManifest(repository: string, reference: string): Promise<RawManifest & { digest: string }> {
    return remember(this.manifests, JSON.stringify([repository, reference]), () => this.upstream.getManifest(repository, reference));
  }

  async getBlob(repository: string, digest: string, options: GetBlobOptions = {}): Promise<Readable> {
    const size = options.expectedSize;
    if (size === undefined || size > MAX_CACHED_BLOB_BYTES || options.range !== undefined) return this.upstream.getBlob(repository, digest, options);
    const bytes = await remember(this.blobs, JSON.stringify([repository, digest, size]), async () =>
      readBounded(await this.upstream.getBlob(repository, digest, { expectedSize: size, ...(options.signal ? { signal: options.signal } : {}) }), size, `blob ${digest}`),
    );
    return Readable.from([Buffer.from(bytes)]);
  }
}

function remember<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = load();
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
  }
  return entry;
}
