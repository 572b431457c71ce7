import { createHash } from 'node:crypto';
import { parseStrictJson } from '../json/strict-json.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);

/** The digest algorithms we can compute over an artifact, by their in-toto names. */
export const IN_TOTO_DIGESTS = ['sha256', 'sha384', 'sha512'] as const;
export type InTotoDigestAlgorithm = (typeof IN_TOTO_DIGESTS)[number];

export interface InTotoSubject {
  name?: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: string;
  subject: InTotoSubject[];
  predicateType?: string;
  predicate?: unknown;
}

/** What we know of the artifact: its bytes, or one digest of it (`sha256:hex`, `sha512:hex`). */
export type ArtifactInput = Uint8Array | { digest: string };

/**
 * Reads the in-toto statement of a DSSE envelope and checks that the artifact is one of its subjects. This is
 * the check that binds an attestation to the file being verified; @sigstore/verify 3.x and 4.x do not make it,
 * so without it any valid attestation "verifies" any artifact. Returns the statement, or the reason it fails.
 */
export function checkInTotoSubject(payloadType: string, payload: Uint8Array, artifact: ArtifactInput): { statement?: InTotoStatement; reason?: string } {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return { reason: `DSSE payloadType is ${JSON.stringify(payloadType).slice(0, 100)}, not "${IN_TOTO_PAYLOAD_TYPE}": the envelope is not an in-toto statement about the artifact` };
  }
  let value: unknown;
  try {
    value = parseStrictJson(payload, 'DSSE payload (in-toto statement)', { maxBytes: payload.byteLength });
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
  const statement = asStatement(value);
  if (!statement) return { reason: 'DSSE payload is not an in-toto statement (needs _type https://in-toto.io/Statement/v1 or v0.1 and a non-empty subject list of {name, digest})' };
  const wanted = artifactDigests(artifact);
  if (wanted.size === 0) return { reason: 'artifact digest must be sha256:, sha384: or sha512: followed by lowercase hex', statement };
  const match = statement.subject.some((subject) =>
    IN_TOTO_DIGESTS.some((algorithm) => typeof subject.digest[algorithm] === 'string' && wanted.get(algorithm) === subject.digest[algorithm]!.toLowerCase()),
  );
  if (!match) {
    const described = [...wanted].map(([a, h]) => `${a}:${h}`).join(' / ');
    return { reason: `the artifact (${described}) is not a subject of the in-toto statement; the attestation is about something else`, statement };
  }
  return { statement };
}

function artifactDigests(artifact: ArtifactInput): Map<InTotoDigestAlgorithm, string> {
  const digests = new Map<InTotoDigestAlgorithm, string>();
  if (artifact instanceof Uint8Array) {
    for (const algorithm of IN_TOTO_DIGESTS) digests.set(algorithm, createHash(algorithm).update(artifact).digest('hex'));
    return digests;
  }
  const match = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(artifact.digest);
  const lengths: Record<InTotoDigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (match && match[2]!.length === lengths[match[1] as InTotoDigestAlgorithm]) digests.set(match[1] as InTotoDigestAlgorithm, match[2]!);
  return digests;
}

function asStatement(value: unknown): InTotoStatement | undefined {
  if (!isObject(value) || typeof value._type !== 'string' || !STATEMENT_TYPES.has(value._type)) return undefined;
  if (!Array.isArray(value.subject) || value.subject.length === 0) return undefined;
  for (const subject of value.subject) {
    if (!isObject(subject) || !isObject(subject.digest)) return undefined;
  }
  return value as unknown as InTotoStatement;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
