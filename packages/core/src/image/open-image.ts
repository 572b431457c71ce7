import type { TransportReference } from '../reference/transport.js';
import { openSource, type OpenSourceOptions } from '../sources/open-source.js';
import { hostPlatform } from '../platform/platform.js';
import type { Image } from './image.js';
import type { ImageIndex } from './image-index.js';
import { loadManifest } from './load-manifest.js';
import type { ContentSource, Platform } from './types.js';

export interface OpenImageOptions extends OpenSourceOptions {
  /** The platform to pick from an index; the host's platform when absent. */
  platform?: Platform;
}

export interface OpenedImage {
  source: ContentSource;
  /** What the reference names: an image, or an index of images. */
  root: Image | ImageIndex;
  /** The single-platform image: the root itself, or the index's child for the platform. */
  image: Image;
}

/** Reads the manifest a reference names from any source, verified, and resolves an index to one platform. */
export async function openImage(reference: string | TransportReference, options: OpenImageOptions = {}): Promise<OpenedImage> {
  const source = openSource(reference, options);
  try {
    const root = await openRoot(source);
    const image = root.kind === 'image' ? root : await root.imageFor(options.platform ?? hostPlatform());
    return { source, root, image };
  } catch (error) {
    await source.close?.();
    throw error;
  }
}

/** The root manifest or index of a source, verified against the digest the source claims. */
export async function openRoot(source: ContentSource): Promise<Image | ImageIndex> {
  return loadManifest(source, await source.resolveRoot());
}
