import type { Readable } from 'node:stream';
import { parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, IndexManifest, OpenBlobOptions, RawManifest } from '../../image/types.js';
import { parseStrictJson } from '../../json/strict-json.js';
import { MAX_MANIFEST_BYTES, parseDescriptor } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import { cosignSaveSubject } from './cosign-save-index.js';
import type { LayoutStore } from './layout-store.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
/** The annotation an OCI layout's index.json uses to name (tag) a manifest; skopeo's `oci:<dir>:<tag>` reads it. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const MAX_INDEX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_LAYOUT_MARKER_BYTES = 64 * 1024;
const MAX_INDEX_ENTRIES = 10_000;
/** Image layout versions we read: 1.x (the spec has only 1.0.0; a minor bump must stay compatible). */
const LAYOUT_VERSION = /^1\.[0-9]+\.[0-9]+$/;

/** Checks the `oci-layout` marker file: it must exist and be `{"imageLayoutVersion": "1.0.0"}` (any 1.x). */
export async function checkLayoutMarker(store: LayoutStore): Promise<void> {
  const bytes = await store.read(OCI_LAYOUT_FILE, MAX_LAYOUT_MARKER_BYTES);
  if (bytes === undefined) {
    throw new TollgateError('INVALID_LAYOUT', `${store.location} has no oci-layout file, so it is not an OCI image layout; check the path`);
  }
  if (bytes.length > MAX_LAYOUT_MARKER_BYTES) {
    throw new TollgateError('INVALID_LAYOUT', `oci-layout in ${store.location} is over ${MAX_LAYOUT_MARKER_BYTES} bytes; it is not a valid layout marker`);
  }
  const value = parseLayoutJson(bytes, `oci-layout in ${store.location}`);
  const version = isObject(value) ? value.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !LAYOUT_VERSION.test(version)) {
    throw new TollgateError('INVALID_LAYOUT', `oci-layout in ${store.location} declares imageLayoutVersion ${shortJson(version)}; only 1.0.0 layouts are supported`);
  }
}

/** Reads and checks index.json: a strict-JSON OCI image index of valid descriptors, bounded in size and length. */
export async function readLayoutIndex(store: LayoutStore): Promise<IndexManifest> {
  const what = `index.json in ${store.location}`;
  const bytes = await store.read(INDEX_FILE, MAX_INDEX_JSON_BYTES);
  if (bytes === undefined) {
    throw new TollgateError('INVALID_LAYOUT', `${store.location} has no index.json; it is not a complete OCI image layout`);
  }
  if (bytes.length > MAX_INDEX_JSON_BYTES) {
    throw new TollgateError('INVALID_LAYOUT', `${what} is over the ${MAX_INDEX_JSON_BYTES}-byte limit; refusing to read it`);
  }
  const value = parseLayoutJson(bytes, what);
  if (!isObject(value)) throw new TollgateError('INVALID_LAYOUT', `${what} is not a JSON object; the layout is damaged`);
  if (value.schemaVersion !== 2) {
    throw new TollgateError('INVALID_LAYOUT', `${what} has schemaVersion ${shortJson(value.schemaVersion)}, expected 2`);
  }
  if (value.mediaType !== undefined && value.mediaType !== MediaType.OciIndex) {
    throw new TollgateError('INVALID_LAYOUT', `${what} has mediaType ${shortJson(value.mediaType)}, expected ${MediaType.OciIndex}`);
  }
  if (!Array.isArray(value.manifests)) {
    throw new TollgateError('INVALID_LAYOUT', `${what} has no "manifests" array; the layout is damaged`);
  }
  if (value.manifests.length > MAX_INDEX_ENTRIES) {
    throw new TollgateError('INVALID_LAYOUT', `${what} lists ${value.manifests.length} manifests, over the limit of ${MAX_INDEX_ENTRIES}`);
  }
  const manifests = value.manifests.map((entry, i) => {
    try {
      return parseDescriptor(entry, `manifests[${i}]`, what);
    } catch (error) {
      if (error instanceof TollgateError) throw new TollgateError('INVALID_LAYOUT', error.message, { cause: error });
      throw error;
    }
  });
  const index: IndexManifest = { schemaVersion: 2, manifests };
  if (typeof value.mediaType === 'string') index.mediaType = value.mediaType;
  return index;
}

/** The tag an index.json entry carries (its ref.name annotation). */
export function refName(descriptor: Descriptor): string | undefined {
  return descriptor.annotations?.[REF_NAME_ANNOTATION];
}

/** The distinct tags of a layout's index.json, in index order. */
export function layoutTags(index: IndexManifest): string[] {
  const tags = new Set<string>();
  for (const d of index.manifests) {
    const name = refName(d);
    if (name !== undefined) tags.add(name);
  }
  return [...tags];
}

/**
 * Picks the root descriptor like skopeo's `oci:<dir>[:<tag>]`: with a tag, the one entry whose ref.name annotation
 * equals it; without, the only entry — or, in a layout `cosign save` wrote (image, signatures and attestations
 * side by side, untagged), the entity cosign's own reader picks (cosignSaveSubject). Errors name the tags to choose from.
 */
export function selectLayoutRoot(index: IndexManifest, tag: string | undefined, location: string): Descriptor {
  if (tag !== undefined) {
    const matches = index.manifests.filter((d) => refName(d) === tag);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new TollgateError('INVALID_LAYOUT', `${location} has ${matches.length} entries tagged ${shortJson(tag)} in index.json; the tag is ambiguous, remove the duplicates`);
    }
    throw new TollgateError('NOT_FOUND', `tag ${shortJson(tag)} not found in ${location}; available tags: ${listNames(layoutTags(index))}`);
  }
  if (index.manifests.length === 1) return index.manifests[0]!;
  const saved = cosignSaveSubject(index);
  if (saved !== undefined) return saved;
  if (index.manifests.length === 0) {
    throw new TollgateError('NOT_FOUND', `${location} holds no images (index.json lists no manifests)`);
  }
  throw new TollgateError('USAGE', `${location} holds ${index.manifests.length} images; name one with a tag, available tags: ${listNames(layoutTags(index))}`);
}

/** The path of a blob inside a layout, built from the parsed digest only (never from the raw string). */
export function blobPath(digest: string): string {
  const parsed = parseDigest(digest, 'blob digest');
  return `blobs/${parsed.algorithm}/${parsed.hex}`;
}

/** Reads a manifest or index blob (bounded at 4 MiB) with what its descriptor claims, for the caller to verify. */
export async function readLayoutManifest(store: LayoutStore, descriptor: Descriptor): Promise<RawManifest> {
  const path = blobPath(descriptor.digest);
  checkSize(descriptor);
  if (descriptor.size > MAX_MANIFEST_BYTES) {
    throw new TollgateError('MANIFEST_TOO_LARGE', `manifest ${descriptor.digest} in ${store.location} declares ${descriptor.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  const bytes = await store.read(path, MAX_MANIFEST_BYTES);
  if (bytes === undefined) throw missingBlob(store, descriptor.digest);
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new TollgateError('MANIFEST_TOO_LARGE', `manifest ${descriptor.digest} in ${store.location} is over the ${MAX_MANIFEST_BYTES}-byte limit; refusing to read it`);
  }
  return { bytes, mediaType: descriptor.mediaType, expectedDigest: descriptor.digest };
}

/**
 * Streams a blob, unverified, stopping after `descriptor.size + 1` bytes: a blob longer than its descriptor then
 * fails the caller's size check without the whole file being read. Honours an inclusive byte range.
 */
export async function openLayoutBlob(store: LayoutStore, descriptor: Descriptor, options: OpenBlobOptions = {}): Promise<Readable> {
  const path = blobPath(descriptor.digest);
  checkSize(descriptor);
  const fileSize = await store.size(path);
  if (fileSize === undefined) throw missingBlob(store, descriptor.digest);
  const available = Math.min(fileSize, descriptor.size + 1);
  const { start, end } = byteRange(options, available);
  return store.open(path, start, end, options.signal);
}

/** Resolves an optional inclusive range against the bytes available; an unsatisfiable range yields end < start. */
export function byteRange(options: OpenBlobOptions, available: number): { start: number; end: number } {
  const start = options.range?.start ?? 0;
  const requestedEnd = options.range?.end ?? available - 1;
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(requestedEnd) || requestedEnd < -1) {
    throw new TollgateError('USAGE', `invalid byte range ${start}-${requestedEnd}: offsets must be non-negative integers`);
  }
  return { start, end: Math.min(requestedEnd, available - 1) };
}

export function checkSize(descriptor: Descriptor): void {
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    throw new TollgateError('INVALID_MANIFEST', `descriptor for ${descriptor.digest} has size ${shortJson(descriptor.size)}; a size must be a non-negative integer`);
  }
}

function missingBlob(store: LayoutStore, digest: string): TollgateError {
  return new TollgateError('NOT_FOUND', `blob ${digest} not found in ${store.location}; the layout is incomplete, copy the image into it again`);
}

function parseLayoutJson(bytes: Uint8Array, what: string): unknown {
  try {
    return parseStrictJson(bytes, what);
  } catch (error) {
    if (error instanceof TollgateError) throw new TollgateError('INVALID_LAYOUT', error.message, { cause: error });
    throw error;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Untrusted values in messages: JSON, cut short, on one line. */
export function shortJson(value: unknown, max = 80): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A list of names for an error message: quoted, at most 20, "(none)" when empty. */
export function listNames(names: readonly string[]): string {
  if (names.length === 0) return '(none)';
  const shownNames = names.slice(0, 20).map((n) => shortJson(n, 60));
  return shownNames.join(', ') + (names.length > 20 ? ` and ${names.length - 20} more` : '');
}
