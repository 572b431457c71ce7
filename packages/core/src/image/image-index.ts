import type { ContentSource, Descriptor, IndexManifest, Platform } from './types.js';
import { TollgateError } from '../errors/tollgate-error.js';
import { selectManifest } from '../platform/select.js';
import type { Image } from './image.js';
import { loadManifest } from './load-manifest.js';

/** Nested indexes beyond this depth are refused: no real image needs them and a loop must end. */
export const MAX_INDEX_DEPTH = 4;

/** A multi-platform image (OCI image index or Docker manifest list), verified against its digest. */
export class ImageIndex {
  readonly kind = 'index' as const;

  constructor(
    readonly source: ContentSource,
    readonly rawManifest: Uint8Array,
    readonly digest: string,
    readonly mediaType: string,
    readonly index: IndexManifest,
    readonly depth = 0,
  ) {}

  get manifests(): readonly Descriptor[] {
    return this.index.manifests;
  }

  /** A child manifest, checked against the descriptor's digest, size and media type. */
  async child(descriptor: Descriptor): Promise<Image | ImageIndex> {
    if (this.depth + 1 > MAX_INDEX_DEPTH) {
      throw new TollgateError('INVALID_MANIFEST', `index ${this.digest} nests indexes deeper than ${MAX_INDEX_DEPTH} levels; refusing to follow`);
    }
    const raw = await this.source.fetchManifest(descriptor);
    return loadManifest(this.source, { ...raw, expectedDigest: descriptor.digest }, { descriptor, depth: this.depth + 1 });
  }

  /** The image for a platform, following nested indexes. */
  async imageFor(platform: Platform): Promise<Image> {
    const descriptor = selectManifest(this.index, platform);
    const child = await this.child(descriptor);
    return child.kind === 'image' ? child : child.imageFor(platform);
  }
}
