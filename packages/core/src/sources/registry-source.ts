import type { Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';
import type { ContentSource, Descriptor, OpenBlobOptions, RawManifest } from '../image/types.js';
import type { RegistryClient } from '../registry/client.js';
import { nameBrokenBody } from '../registry/http/blob-body.js';

/** Where an image lives in a registry; an ImageReference fits. */
export interface RepositoryLocation {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Images from an OCI distribution registry. Blobs come only from the registry's own blob endpoint: foreign-layer
 * `urls` in descriptors are never followed.
 */
export class RegistrySource implements ContentSource {
  readonly description: string;

  constructor(
    /** Where the image lives (policy verification reads its signatures from the same repository). */
    readonly location: RepositoryLocation,
    /** The client it reads through, shared with signature discovery. */
    readonly client: RegistryClient,
  ) {
    const where = `${location.registry}/${location.repository}`;
    this.description = `docker://${where}${location.tag !== undefined ? `:${location.tag}` : ''}${location.digest !== undefined ? `@${location.digest}` : ''}`;
  }

  async resolveRoot(): Promise<RawManifest> {
    const reference = this.location.digest ?? this.location.tag;
    if (reference === undefined) {
      throw new TollgateError('INVALID_REFERENCE', `${this.description} names neither a tag nor a digest; add :tag or @sha256:…`);
    }
    const { bytes, mediaType, expectedDigest } = await this.client.getManifest(this.location.repository, reference);
    return { bytes, mediaType, ...(expectedDigest !== undefined ? { expectedDigest } : {}) };
  }

  async fetchManifest(descriptor: Descriptor): Promise<RawManifest> {
    const { bytes, mediaType } = await this.client.getManifest(this.location.repository, descriptor.digest);
    return { bytes, mediaType: mediaType ?? descriptor.mediaType, expectedDigest: descriptor.digest };
  }

  async openBlob(descriptor: Descriptor, options: OpenBlobOptions = {}): Promise<Readable> {
    const body = await this.client.getBlob(this.location.repository, descriptor.digest, {
      expectedSize: descriptor.size,
      ...(options.range ? { range: options.range } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const context = { registry: this.location.registry, repository: this.location.repository, reference: descriptor.digest, action: 'fetching blob' };
    return nameBrokenBody(body, context, expectedLength(descriptor.size, options.range));
  }
}

/** The bytes a (ranged) read of a blob of `size` bytes should give; `end` is inclusive. */
function expectedLength(size: number, range: { start: number; end?: number } | undefined): number {
  if (range === undefined) return size;
  return Math.max(0, Math.min(range.end === undefined ? size : range.end + 1, size) - range.start);
}
