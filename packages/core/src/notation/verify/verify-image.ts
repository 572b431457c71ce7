import type { Readable } from 'node:stream';
import { verifyBytes } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import { readBounded } from '../../image/read-bounded.js';
import type { Descriptor } from '../../image/types.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import type { ReferrersResult } from '../../registry/referrers.js';
import { MAX_NOTATION_ENVELOPE_BYTES } from '../envelope/parse-envelope.js';
import { NOTATION_JWS_MEDIA_TYPE, NOTATION_SIGNATURE_ARTIFACT_TYPE, type NotationResult, type NotationTarget, type NotationVerifyOptions } from '../types.js';
import { verifyNotationEnvelope } from './verify-envelope.js';

/** What signature discovery needs of a registry: RegistryClient fits. */
export interface NotationSignatureSource {
  referrers(repository: string, digest: string, options?: { artifactType?: string }): Promise<ReferrersResult>;
  getManifest(repository: string, reference: string): Promise<{ bytes: Uint8Array; mediaType: string | undefined; digest: string }>;
  getBlob(repository: string, digest: string, options?: { expectedSize?: number }): Promise<Readable>;
}

export interface NotationImageLimits {
  /** Signature manifests examined at most (default 100); more are ignored with a warning. */
  maxSignatures?: number;
  /** Largest envelope fetched (default and ceiling 4 MiB); never more than the layer descriptor's size. */
  maxEnvelopeBytes?: number;
  /**
   * Verify every signature found instead of stopping at the first that passes (notation's behaviour); each that
   * passes is then in `verifiedAll`. The policy engine does this to credit every signer a threshold could count.
   */
  all?: boolean;
}

export interface NotationSignatureOutcome {
  /** The signature manifest's digest. */
  digest: string;
  result?: NotationResult;
  /** Why the signature could not be examined (fetch or format problem). */
  error?: string;
}

export interface NotationImageResult {
  ok: boolean;
  /** The first signature that verified (notation accepts the artifact on the first one). */
  verified?: NotationResult;
  /** With `all`: every signature that verified, in the order examined. */
  verifiedAll?: NotationResult[];
  signatures: NotationSignatureOutcome[];
  reasons: string[];
  warnings: string[];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function fetchEnvelope(source: NotationSignatureSource, repository: string, target: NotationTarget, descriptor: Descriptor, maxEnvelopeBytes: number): Promise<Uint8Array> {
  if (descriptor.mediaType !== MediaType.OciManifest) throw new TollgateError('INVALID_MANIFEST', `the signature manifest has media type ${descriptor.mediaType}; notation signatures are OCI image manifests`);
  if (descriptor.size > MAX_MANIFEST_BYTES) throw new TollgateError('MANIFEST_TOO_LARGE', 'the signature manifest is larger than 4 MiB');
  const raw = await source.getManifest(repository, descriptor.digest);
  verifyBytes(raw.bytes, descriptor.digest, 'signature manifest');
  if (raw.bytes.byteLength !== descriptor.size) throw new TollgateError('SIZE_MISMATCH', `the signature manifest is ${raw.bytes.byteLength} bytes, its descriptor says ${descriptor.size}`);
  const parsed = parseManifest(raw.bytes, raw.mediaType ?? descriptor.mediaType, 'signature manifest');
  if (parsed.kind !== 'image') throw new TollgateError('INVALID_MANIFEST', 'the signature manifest is an index, not an image manifest');
  const manifest = parsed.manifest;
  const artifactType = manifest.artifactType ?? manifest.config.mediaType;
  if (artifactType !== NOTATION_SIGNATURE_ARTIFACT_TYPE) throw new TollgateError('INVALID_MANIFEST', `the signature manifest's artifact type is ${artifactType}, not ${NOTATION_SIGNATURE_ARTIFACT_TYPE}`);
  if (manifest.subject?.digest !== target.digest) throw new TollgateError('INVALID_MANIFEST', `the signature manifest's subject is ${manifest.subject?.digest ?? 'missing'}, not ${target.digest}`);
  if (manifest.layers.length !== 1) throw new TollgateError('INVALID_MANIFEST', `the signature manifest has ${manifest.layers.length} layers; a notation signature has exactly one`);
  const layer = manifest.layers[0]!;
  if (layer.mediaType !== NOTATION_JWS_MEDIA_TYPE) {
    throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', `the signature envelope is ${layer.mediaType}; tollgate verifies ${NOTATION_JWS_MEDIA_TYPE} (JWS) envelopes only`);
  }
  if (layer.size > maxEnvelopeBytes) throw new TollgateError('SIZE_LIMIT', `the signature envelope is ${layer.size} bytes, over the ${maxEnvelopeBytes}-byte limit`);
  const stream = await source.getBlob(repository, layer.digest, { expectedSize: layer.size });
  const bytes = await readBounded(stream, layer.size, 'the signature envelope');
  if (bytes.byteLength !== layer.size) throw new TollgateError('SIZE_MISMATCH', `the signature envelope is ${bytes.byteLength} bytes, its descriptor says ${layer.size}`);
  verifyBytes(bytes, layer.digest, 'signature envelope');
  return bytes;
}

/**
 * Finds the Notary Project signatures of a manifest (referrers with artifactType
 * application/vnd.cncf.notary.signature, or the referrers tag schema) and verifies them in turn with
 * verifyNotationEnvelope until one passes (with `all`, every one). Bounded: at most `maxSignatures` manifests,
 * envelopes of at most 4 MiB and never more than their descriptor says, every fetched byte checked against its
 * digest. At the skip level nothing is fetched.
 */
export async function verifyNotationImage(
  source: NotationSignatureSource,
  repository: string,
  target: NotationTarget,
  options: NotationVerifyOptions,
  limits: NotationImageLimits = {},
): Promise<NotationImageResult> {
  if (options.level === 'skip') {
    return { ok: true, signatures: [], reasons: [], warnings: ['the notation trust policy level is skip: signatures were not fetched or verified'] };
  }
  const maxSignatures = limits.maxSignatures ?? 100;
  const maxEnvelopeBytes = Math.min(limits.maxEnvelopeBytes ?? MAX_NOTATION_ENVELOPE_BYTES, MAX_NOTATION_ENVELOPE_BYTES);
  const warnings: string[] = [];
  const { index } = await source.referrers(repository, target.digest, { artifactType: NOTATION_SIGNATURE_ARTIFACT_TYPE });
  let descriptors = index.manifests.filter((d) => d.artifactType === NOTATION_SIGNATURE_ARTIFACT_TYPE);
  if (descriptors.length > maxSignatures) {
    warnings.push(`${descriptors.length} notation signatures were found; only the first ${maxSignatures} were examined`);
    descriptors = descriptors.slice(0, maxSignatures);
  }
  if (descriptors.length === 0) {
    return { ok: false, signatures: [], reasons: [`no notation signature is associated with ${target.digest}`], warnings };
  }
  const signatures: NotationSignatureOutcome[] = [];
  const verifiedAll: NotationResult[] = [];
  for (const descriptor of descriptors) {
    let bytes: Uint8Array;
    try {
      bytes = await fetchEnvelope(source, repository, target, descriptor, maxEnvelopeBytes);
    } catch (error) {
      if (error instanceof TollgateError && ['NETWORK_ERROR', 'UNAUTHORIZED', 'TOO_MANY_REQUESTS', 'REGISTRY_ERROR'].includes(error.code)) throw error;
      signatures.push({ digest: descriptor.digest, error: message(error) });
      continue;
    }
    const result = await verifyNotationEnvelope(bytes, target, options);
    signatures.push({ digest: descriptor.digest, result });
    if (!result.ok) continue;
    if (!limits.all) return { ok: true, verified: result, signatures, reasons: [], warnings: [...warnings, ...result.warnings] };
    verifiedAll.push(result);
  }
  if (verifiedAll.length > 0) {
    return { ok: true, verified: verifiedAll[0]!, verifiedAll, signatures, reasons: [], warnings: [...warnings, ...verifiedAll.flatMap((r) => r.warnings)] };
  }
  const reasons = signatures.map((s) => `signature ${s.digest}: ${s.error ?? s.result?.reasons.join('; ') ?? 'not verified'}`);
  return { ok: false, signatures, reasons, warnings };
}
