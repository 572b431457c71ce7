import { parseStrictJson } from '../json/strict-json.js';
import { SIMPLE_SIGNING_TYPE } from './constants.js';

/** cosign's simple-signing payload (the `.sig` layer blob that legacy signatures sign). */
export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** The payload cosign signs for `repository` (registry/repository, no tag) at `digest`, with `-a` annotations as `optional`. */
export function buildSimpleSigningPayload(dockerReference: string, digest: string, annotations?: Record<string, string>): Uint8Array {
  const payload: SimpleSigningPayload = {
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: SIMPLE_SIGNING_TYPE },
    optional: annotations && Object.keys(annotations).length > 0 ? { ...annotations } : null,
  };
  return new TextEncoder().encode(JSON.stringify(payload));
}

/** Parses a simple-signing payload strictly; returns it or why it is not one. */
export function parseSimpleSigningPayload(bytes: Uint8Array): { payload?: SimpleSigningPayload; reason?: string } {
  let value: unknown;
  try {
    value = parseStrictJson(bytes, 'simple-signing payload', { maxBytes: bytes.byteLength });
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
  const critical = isObject(value) ? value.critical : undefined;
  const identity = isObject(critical) ? critical.identity : undefined;
  const image = isObject(critical) ? critical.image : undefined;
  if (
    !isObject(value) || !isObject(critical) || !isObject(identity) || !isObject(image) ||
    typeof identity['docker-reference'] !== 'string' || typeof image['docker-manifest-digest'] !== 'string' || typeof critical.type !== 'string' ||
    (value.optional !== undefined && value.optional !== null && !isObject(value.optional))
  ) {
    return { reason: 'the payload is not a simple-signing document (needs critical.identity.docker-reference, critical.image.docker-manifest-digest, critical.type)' };
  }
  return { payload: value as unknown as SimpleSigningPayload };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
