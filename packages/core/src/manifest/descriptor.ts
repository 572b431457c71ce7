import { digestOf, parseDigest } from '../digest/digest.js';
import type { Descriptor, Platform } from '../image/types.js';
import {
  asArray,
  asDigest,
  asMediaType,
  asNonNegativeInteger,
  asObject,
  asString,
  asStringArray,
  asStringMap,
  fieldError,
  joinPath,
  optionalString,
  optionalStringArray,
  type FieldContext,
} from './fields.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Validates an OCI content descriptor at `path` (e.g. `layers[2]`) and returns a clean copy: mediaType of
 * `type/subtype` shape, digest in the strict grammar, size a non-negative safe integer, urls strings, annotations
 * string to string, platform with string os and architecture. Embedded `data` must be base64 whose length and
 * digest match the descriptor. Unknown fields are ignored, as the OCI spec asks. Throws INVALID_MANIFEST.
 */
export function parseDescriptor(value: unknown, path: string, what = 'manifest'): Descriptor {
  return readDescriptor({ what, code: 'INVALID_MANIFEST' }, value, path);
}

export function readDescriptor(ctx: FieldContext, value: unknown, path: string): Descriptor {
  const obj = asObject(ctx, value, path);
  const descriptor: Descriptor = {
    mediaType: asMediaType(ctx, obj.mediaType, joinPath(path, 'mediaType')),
    digest: asDigest(ctx, obj.digest, joinPath(path, 'digest')),
    size: asNonNegativeInteger(ctx, obj.size, joinPath(path, 'size')),
  };
  if (obj.urls !== undefined) {
    descriptor.urls = asArray(ctx, obj.urls, joinPath(path, 'urls')).map((url, i) => asString(ctx, url, joinPath(joinPath(path, 'urls'), i)));
  }
  if (obj.annotations !== undefined) descriptor.annotations = asStringMap(ctx, obj.annotations, joinPath(path, 'annotations'));
  if (obj.platform !== undefined) descriptor.platform = readPlatform(ctx, obj.platform, joinPath(path, 'platform'));
  if (obj.artifactType !== undefined) descriptor.artifactType = asMediaType(ctx, obj.artifactType, joinPath(path, 'artifactType'));
  if (obj.data !== undefined) {
    const dataPath = joinPath(path, 'data');
    const data = asString(ctx, obj.data, dataPath);
    if (!BASE64.test(data)) throw fieldError(ctx, `${dataPath} must be standard base64`);
    const bytes = Buffer.from(data, 'base64');
    if (bytes.byteLength !== descriptor.size) {
      throw fieldError(ctx, `${dataPath} holds ${bytes.byteLength} bytes but ${joinPath(path, 'size')} says ${descriptor.size}`);
    }
    const actual = digestOf(bytes, parseDigest(descriptor.digest).algorithm);
    if (actual !== descriptor.digest) {
      throw fieldError(ctx, `${dataPath} does not match ${joinPath(path, 'digest')} (its digest is ${actual}); the descriptor was altered`);
    }
    descriptor.data = data;
  }
  return descriptor;
}

export function readPlatform(ctx: FieldContext, value: unknown, path: string): Platform {
  const obj = asObject(ctx, value, path);
  const platform: Platform = {
    architecture: asString(ctx, obj.architecture, joinPath(path, 'architecture')),
    os: asString(ctx, obj.os, joinPath(path, 'os')),
  };
  const variant = optionalString(ctx, obj, 'variant', path);
  if (variant !== undefined) platform.variant = variant;
  const osVersion = optionalString(ctx, obj, 'os.version', path);
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  const osFeatures = optionalStringArray(ctx, obj, 'os.features', path);
  if (osFeatures !== undefined) platform['os.features'] = osFeatures;
  if (obj.features !== undefined) platform.features = asStringArray(ctx, obj.features, joinPath(path, 'features'));
  return platform;
}
