import type { Readable } from 'node:stream';
import type { ContentSource, Descriptor, IndexManifest, OpenBlobOptions, RawManifest } from '../../image/types.js';
import { DirectoryStore } from './directory-store.js';
import {
  checkLayoutMarker,
  layoutTags,
  openLayoutBlob,
  readLayoutIndex,
  readLayoutManifest,
  selectLayoutRoot,
} from './layout-read.js';

/**
 * An OCI image layout directory as a content source (skopeo's `oci:<dir>[:<tag>]`). The root is the index.json
 * entry tagged `tag` (its `org.opencontainers.image.ref.name`), or the only entry when no tag is given. Blobs are
 * read from `blobs/<alg>/<hex>` (paths built from parsed digests; symlinks leaving the layout are refused).
 */
export class OciLayoutSource implements ContentSource {
  readonly description: string;
  /** The layout directory (policy verification reads signatures from its `sha256-<hex>` referrers tags). */
  readonly dir: string;
  private readonly store: DirectoryStore;
  private readonly tag: string | undefined;
  private index: Promise<IndexManifest> | undefined;

  constructor(dir: string, tag?: string) {
    this.dir = dir;
    this.store = new DirectoryStore(dir);
    this.tag = tag;
    this.description = `oci:${dir}${tag !== undefined ? `:${tag}` : ''}`;
  }

  async resolveRoot(): Promise<RawManifest> {
    const descriptor = selectLayoutRoot(await this.loadIndex(), this.tag, this.store.location);
    return readLayoutManifest(this.store, descriptor);
  }

  async fetchManifest(descriptor: Descriptor): Promise<RawManifest> {
    await this.loadIndex();
    return readLayoutManifest(this.store, descriptor);
  }

  async openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> {
    await this.loadIndex();
    return openLayoutBlob(this.store, descriptor, options);
  }

  /** The layout's tags (ref.name annotations of index.json), in index order. */
  async tags(): Promise<string[]> {
    return layoutTags(await this.loadIndex());
  }

  async close(): Promise<void> {
    // Nothing stays open between calls: each read opens and closes its own file.
  }

  private loadIndex(): Promise<IndexManifest> {
    this.index ??= (async () => {
      await checkLayoutMarker(this.store);
      return readLayoutIndex(this.store);
    })();
    // A failure is not cached: the layout may be fixed (or finish being written) before the next call.
    this.index.catch(() => {
      this.index = undefined;
    });
    return this.index;
  }
}

/** The tags of the OCI layout in `dir` (ref.name annotations of its index.json), in index order. */
export async function listLayoutTags(dir: string): Promise<string[]> {
  return new OciLayoutSource(dir).tags();
}
