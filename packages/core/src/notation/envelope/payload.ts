import { parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import { parseStrictJson } from '../../json/strict-json.js';

export interface NotationTargetArtifact {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface NotationPayload {
  targetArtifact: NotationTargetArtifact;
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const DESCRIPTOR_KEYS = new Set(['mediaType', 'digest', 'size', 'artifactType', 'annotations', 'urls', 'data', 'platform']);

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_BUNDLE', `the signed payload ${message}`);
}

/** Parses the Notary Project payload (`application/vnd.cncf.notary.payload.v1+json`): `{targetArtifact: descriptor}`. */
export function parsePayload(bytes: Uint8Array): NotationPayload {
  let doc: unknown;
  try {
    doc = parseStrictJson(bytes, 'the signed payload', { maxBytes: 1024 * 1024, maxDepth: 8 });
  } catch (error) {
    throw new TollgateError('INVALID_BUNDLE', error instanceof Error ? error.message : String(error));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('is not a JSON object');
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== 'targetArtifact') throw invalid('must hold exactly one member, targetArtifact');
  const target = (doc as { targetArtifact: unknown }).targetArtifact;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) throw invalid('targetArtifact is not a descriptor object');
  const t = target as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!DESCRIPTOR_KEYS.has(key)) throw invalid(`targetArtifact has an unknown member "${key.slice(0, 64)}"`);
  }
  if (typeof t.mediaType !== 'string' || !MEDIA_TYPE.test(t.mediaType)) throw invalid('targetArtifact.mediaType is missing or not a media type');
  if (typeof t.digest !== 'string') throw invalid('targetArtifact.digest is missing');
  try {
    parseDigest(t.digest, 'targetArtifact.digest');
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  if (typeof t.size !== 'number' || !Number.isSafeInteger(t.size) || t.size < 0) throw invalid('targetArtifact.size is missing or not a non-negative integer');
  const artifact: NotationTargetArtifact = { mediaType: t.mediaType, digest: t.digest, size: t.size };
  if (t.artifactType !== undefined) {
    if (typeof t.artifactType !== 'string') throw invalid('targetArtifact.artifactType is not a string');
    artifact.artifactType = t.artifactType;
  }
  if (t.annotations !== undefined) {
    const a = t.annotations;
    if (typeof a !== 'object' || a === null || Array.isArray(a) || !Object.values(a).every((v) => typeof v === 'string')) {
      throw invalid('targetArtifact.annotations is not a map of strings');
    }
    artifact.annotations = a as Record<string, string>;
  }
  return { targetArtifact: artifact };
}
