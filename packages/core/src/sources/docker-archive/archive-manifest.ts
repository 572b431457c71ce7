import { TollgateError } from '../../errors/tollgate-error.js';
import { parseStrictJson } from '../../json/strict-json.js';
import { parseReference } from '../../reference/reference.js';
import { isObject, listNames, shortJson } from '../oci-layout/layout-read.js';
import { normalizeEntryName } from './tar-index.js';

/** One image of a docker archive's manifest.json (`docker save`): config file, tags, layer files in order. */
export interface ArchiveImage {
  config: string;
  repoTags: string[];
  layers: string[];
}

export const MAX_ARCHIVE_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_IMAGES = 1000;
const MAX_LAYERS = 1000;
const MAX_TAGS = 1000;

function invalid(archive: string, why: string): never {
  throw new TollgateError('INVALID_ARCHIVE', `manifest.json in ${archive} ${why}; the archive is damaged or not made by docker save`);
}

/** Parses manifest.json strictly: `[{Config, RepoTags, Layers}]`, with every path normalised and checked. */
export function parseArchiveManifest(bytes: Uint8Array, archive: string): ArchiveImage[] {
  let value: unknown;
  try {
    value = parseStrictJson(bytes, `manifest.json in ${archive}`);
  } catch (error) {
    if (error instanceof TollgateError) throw new TollgateError('INVALID_ARCHIVE', error.message, { cause: error });
    throw error;
  }
  if (!Array.isArray(value)) invalid(archive, 'is not a JSON array');
  if (value.length > MAX_IMAGES) invalid(archive, `lists ${value.length} images, over the limit of ${MAX_IMAGES}`);
  return value.map((item, i): ArchiveImage => {
    if (!isObject(item)) invalid(archive, `entry ${i} is not an object`);
    const { Config, RepoTags, Layers } = item;
    if (typeof Config !== 'string' || Config === '') invalid(archive, `entry ${i} has no "Config" file name`);
    if (RepoTags !== undefined && RepoTags !== null && !(Array.isArray(RepoTags) && RepoTags.every((t) => typeof t === 'string'))) {
      invalid(archive, `entry ${i} has "RepoTags" ${shortJson(RepoTags)}, not a list of strings`);
    }
    if (!Array.isArray(Layers) || !Layers.every((l) => typeof l === 'string')) invalid(archive, `entry ${i} has no "Layers" list of file names`);
    const repoTags = (RepoTags ?? []) as string[];
    if (repoTags.length > MAX_TAGS) invalid(archive, `entry ${i} has over ${MAX_TAGS} tags`);
    if (Layers.length > MAX_LAYERS) invalid(archive, `entry ${i} has ${Layers.length} layers, over the limit of ${MAX_LAYERS}`);
    return {
      config: normalizeEntryName(Config, archive),
      repoTags,
      layers: (Layers as string[]).map((l) => normalizeEntryName(l, archive)),
    };
  });
}

function normalizedName(text: string): string | undefined {
  try {
    return parseReference(text).toString();
  } catch {
    return undefined;
  }
}

/**
 * Picks an image like skopeo's `docker-archive:<file>[:<name:tag>|:@<index>]`: by tag (compared in Docker's
 * normalised form, so `busybox:latest` matches `docker.io/library/busybox:latest`), by index, or the only one.
 */
export function selectArchiveImage(images: ArchiveImage[], reference: string | undefined, archive: string): { image: ArchiveImage; index: number } {
  const allTags = images.flatMap((img) => img.repoTags);
  if (reference === undefined) {
    if (images.length === 1) return { image: images[0]!, index: 0 };
    if (images.length === 0) throw new TollgateError('NOT_FOUND', `${archive} holds no images (manifest.json is empty)`);
    throw new TollgateError('USAGE', `${archive} holds ${images.length} images; name one as docker-archive:<file>:<name:tag> or :@<index>, available tags: ${listNames(allTags)}`);
  }
  if (reference.startsWith('@')) {
    const index = /^@(0|[1-9][0-9]{0,8})$/.test(reference) ? Number(reference.slice(1)) : NaN;
    if (Number.isNaN(index)) throw new TollgateError('USAGE', `image index ${shortJson(reference)} is not "@" followed by a number`);
    const image = images[index];
    if (image === undefined) {
      throw new TollgateError('NOT_FOUND', `${archive} has ${images.length} image(s); index @${index} does not exist, use @0 to @${Math.max(0, images.length - 1)}`);
    }
    return { image, index };
  }
  const wanted = normalizedName(reference) ?? reference;
  const index = images.findIndex((img) => img.repoTags.some((t) => t === reference || normalizedName(t) === wanted));
  if (index < 0) {
    throw new TollgateError('NOT_FOUND', `image ${shortJson(reference)} not found in ${archive}; available tags: ${listNames(allTags)}`);
  }
  return { image: images[index]!, index };
}
