import { isTollgateError } from '../../errors/tollgate-error.js';
import { isDigest } from '../../digest/digest.js';
import type { Descriptor, IndexManifest } from '../../image/types.js';
import { parseStrictJson } from '../../json/strict-json.js';
import { isIndexMediaType, isManifestMediaType } from '../../media-types.js';
import { parseReference } from '../../reference/reference.js';
import { isObject, readLayoutManifest, REF_NAME_ANNOTATION } from '../oci-layout/layout-read.js';
import type { TarStore } from './tar-store.js';

/** containerd's (and Docker 25+'s) annotation holding the full image name of an index.json entry. */
export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';
/** How many index.json entries (and children of each) are opened when matching manifest.json to index.json. */
const MAX_CANDIDATES = 256;

async function readJsonManifest(store: TarStore, descriptor: Descriptor): Promise<unknown> {
  try {
    const raw = await readLayoutManifest(store, descriptor);
    return parseStrictJson(raw.bytes, `manifest ${descriptor.digest} in ${store.location}`);
  } catch (error) {
    // Docker saves only the platform it has: the other children of an index are missing, and simply not candidates.
    if (isTollgateError(error, 'NOT_FOUND')) return undefined;
    throw error;
  }
}

/**
 * The index.json descriptor of the image whose config is at `configPath` (`blobs/sha256/<hex>` in a Docker 25+
 * manifest.json): an entry's own manifest, or a child manifest of an entry that is an index. Undefined when none.
 */
export async function findLayoutManifest(store: TarStore, index: IndexManifest, configPath: string): Promise<Descriptor | undefined> {
  const match = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(configPath);
  const wanted = match ? `${match[1]}:${match[2]}` : undefined;
  if (wanted === undefined || !isDigest(wanted)) return undefined;
  for (const descriptor of index.manifests.slice(0, MAX_CANDIDATES)) {
    if (isManifestMediaType(descriptor.mediaType)) {
      const manifest = await readJsonManifest(store, descriptor);
      if (isObject(manifest) && isObject(manifest.config) && manifest.config.digest === wanted) return descriptor;
    } else if (isIndexMediaType(descriptor.mediaType)) {
      const nested = await readJsonManifest(store, descriptor);
      const children = isObject(nested) && Array.isArray(nested.manifests) ? nested.manifests.slice(0, MAX_CANDIDATES) : [];
      for (const child of children) {
        if (!isObject(child) || typeof child.mediaType !== 'string' || !isManifestMediaType(child.mediaType)) continue;
        if (!isDigest(child.digest) || typeof child.size !== 'number') continue;
        const childDescriptor = child as unknown as Descriptor;
        const manifest = await readJsonManifest(store, childDescriptor);
        if (isObject(manifest) && isObject(manifest.config) && manifest.config.digest === wanted) return childDescriptor;
      }
    }
  }
  return undefined;
}

function normalized(text: string): string | undefined {
  try {
    return parseReference(text).toString();
  } catch {
    return undefined;
  }
}

/** The names index.json gives its entries (containerd image name, ref.name), for matching and for messages. */
export function layoutImageNames(index: IndexManifest): Array<{ name: string; descriptor: Descriptor; matches(reference: string): boolean }> {
  const names: Array<{ name: string; descriptor: Descriptor; matches(reference: string): boolean }> = [];
  for (const descriptor of index.manifests) {
    for (const key of [CONTAINERD_IMAGE_NAME, REF_NAME_ANNOTATION]) {
      const name = descriptor.annotations?.[key];
      if (name === undefined) continue;
      const full = key === CONTAINERD_IMAGE_NAME ? normalized(name) : undefined;
      names.push({
        name,
        descriptor,
        matches: (reference) => reference === name || (full !== undefined && normalized(reference) === full),
      });
    }
  }
  return names;
}
