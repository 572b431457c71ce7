import { TollgateError } from '../errors/tollgate-error.js';
import type { ImageManifest, IndexManifest } from '../image/types.js';
import { parseStrictJson } from '../json/strict-json.js';
import { MediaType, isIndexMediaType } from '../media-types.js';
import { readDescriptor } from './descriptor.js';
import { asArray, asMediaType, asObject, asString, fieldError, optionalStringMap, type FieldContext } from './fields.js';
import { bareMediaType, isGenericMediaType, isKnownManifestMediaType, isSchema1MediaType, SCHEMA1_ADVICE } from './media-type.js';

export { parseDescriptor } from './descriptor.js';
export { parseImageConfig, MAX_CONFIG_BYTES } from './config.js';

/** The largest manifest or index tollgate reads (the limit registries such as distribution enforce). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export type ParsedManifest =
  | { kind: 'image'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: IndexManifest };

/**
 * Parses manifest or index bytes strictly ("bytes are truth"): at most 4 MiB, strict JSON (no duplicate keys),
 * schemaVersion 2, never both an index (`manifests`) and a manifest (`config`/`layers`), and a body `mediaType`
 * that agrees with the declared one (Content-Type or descriptor). The format is the declared type when that is a
 * manifest or index type, else the body's, else the shape's (OCI allows omitting mediaType). Docker schema 2
 * documents must state their mediaType, as Docker's own parser requires.
 */
export function parseManifest(bytes: Uint8Array, declaredMediaType: string | undefined, what = 'manifest'): ParsedManifest {
  if (!(bytes instanceof Uint8Array)) throw new TollgateError('INVALID_MANIFEST', `${what}: expected bytes`);
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new TollgateError(
      'MANIFEST_TOO_LARGE',
      `${what} is ${bytes.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES} bytes (4 MiB) a manifest may have; it is refused unread`,
    );
  }
  const declared = bareMediaType(declaredMediaType);
  if (declared !== undefined && !isGenericMediaType(declared)) {
    if (isSchema1MediaType(declared)) throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', `${what} is of type ${declared}: ${SCHEMA1_ADVICE}`);
    if (!isKnownManifestMediaType(declared)) {
      throw new TollgateError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${what} was served as ${JSON.stringify(declared.slice(0, 100))}, which is not an OCI or Docker schema 2 image manifest or index; check the reference points at an image`,
      );
    }
  }
  const declaredKnown = declared !== undefined && isKnownManifestMediaType(declared) ? declared : undefined;

  const ctx: FieldContext = { what, code: 'INVALID_MANIFEST' };
  const doc = asObject(ctx, parseStrictJson(bytes, what, { maxBytes: MAX_MANIFEST_BYTES }), '');
  if (doc.schemaVersion === 1) throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', `${what} has schemaVersion 1: ${SCHEMA1_ADVICE}`);
  if (doc.schemaVersion !== 2) {
    throw fieldError(ctx, `schemaVersion must be 2, got ${JSON.stringify(doc.schemaVersion)?.slice(0, 40) ?? 'nothing'}`);
  }

  const body = doc.mediaType === undefined ? undefined : asString(ctx, doc.mediaType, 'mediaType');
  if (body !== undefined && isSchema1MediaType(body)) throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', `${what} says it is ${body}: ${SCHEMA1_ADVICE}`);
  const indexShape = Object.hasOwn(doc, 'manifests');
  const imageShape = Object.hasOwn(doc, 'config') || Object.hasOwn(doc, 'layers');
  if (indexShape && imageShape) {
    throw fieldError(ctx, 'has both "manifests" (an index) and "config"/"layers" (a manifest); a document that can be read as either is refused');
  }
  if (body !== undefined) {
    if (declaredKnown !== undefined && body !== declaredKnown) {
      throw fieldError(ctx, `the body says mediaType ${JSON.stringify(body.slice(0, 100))} but it was served as ${declaredKnown}; the registry or the document is wrong, refusing it`);
    }
    if (!isKnownManifestMediaType(body)) {
      throw new TollgateError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${what}: mediaType ${JSON.stringify(body.slice(0, 100))} is not an OCI or Docker schema 2 image manifest or index; check the reference points at an image`,
      );
    }
  }

  let mediaType = declaredKnown ?? body;
  if (mediaType === undefined) {
    if (indexShape) mediaType = MediaType.OciIndex;
    else if (imageShape) mediaType = MediaType.OciManifest;
    else throw fieldError(ctx, 'is neither an image manifest (no "config" or "layers") nor an index (no "manifests"), and states no mediaType');
  }
  if (body === undefined && (mediaType === MediaType.DockerManifest || mediaType === MediaType.DockerManifestList)) {
    throw fieldError(ctx, `was served as ${mediaType} but the body has no mediaType, which Docker schema 2 requires; refusing a document that could be read as another type`);
  }

  if (isIndexMediaType(mediaType)) {
    if (imageShape) throw fieldError(ctx, `is typed ${mediaType} (an index) but has "config"/"layers" like an image manifest`);
    return { kind: 'index', mediaType, index: readIndex(ctx, doc, body) };
  }
  if (indexShape) throw fieldError(ctx, `is typed ${mediaType} (an image manifest) but has "manifests" like an index`);
  return { kind: 'image', mediaType, manifest: readImageManifest(ctx, doc, body) };
}

function readIndex(ctx: FieldContext, doc: Record<string, unknown>, mediaType: string | undefined): IndexManifest {
  const index: IndexManifest = {
    schemaVersion: 2,
    manifests: asArray(ctx, doc.manifests, 'manifests').map((d, i) => readDescriptor(ctx, d, `manifests[${i}]`)),
  };
  if (mediaType !== undefined) index.mediaType = mediaType;
  readCommon(ctx, doc, index);
  return index;
}

function readImageManifest(ctx: FieldContext, doc: Record<string, unknown>, mediaType: string | undefined): ImageManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: readDescriptor(ctx, doc.config, 'config'),
    layers: asArray(ctx, doc.layers, 'layers').map((d, i) => readDescriptor(ctx, d, `layers[${i}]`)),
  };
  if (mediaType !== undefined) manifest.mediaType = mediaType;
  readCommon(ctx, doc, manifest);
  return manifest;
}

function readCommon(ctx: FieldContext, doc: Record<string, unknown>, into: ImageManifest | IndexManifest): void {
  if (doc.artifactType !== undefined) into.artifactType = asMediaType(ctx, doc.artifactType, 'artifactType');
  if (doc.subject !== undefined) into.subject = readDescriptor(ctx, doc.subject, 'subject');
  const annotations = optionalStringMap(ctx, doc, 'annotations', '');
  if (annotations !== undefined) into.annotations = annotations;
}
