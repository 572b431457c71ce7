import { parseReference } from '../../reference/reference.js';
import { verifyBlobBundle, type BlobVerificationOptions } from '../../sigstore/verify-blob.js';
import { COSIGN_BUNDLE_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE, LEGACY_PREDICATE_TYPE_ANNOTATION, SIMPLE_SIGNING_TYPE } from '../constants.js';
import { parseSimpleSigningPayload } from '../simple-signing.js';
import type { ExaminedSignature, FetchedLegacy, FetchedSignature } from '../types.js';
import { missingAnnotations, subjectAnnotations } from './annotations.js';
import { legacyToBundle, parseRekorBundle } from './legacy-bundle.js';
import { verifyLegacyRekord } from './legacy-rekord.js';
import type { ImageTrust, ImageVerifyOptions } from './trust.js';

/** What a signature must be to count: an image signature, or an attestation of one predicate type. */
export type Wanted = { kind: 'signature' } | { kind: 'attestation'; predicateType: string };

/**
 * Verifies one fetched signature or attestation of the manifest `digest`. Never throws for anything the registry
 * sent: every failure is a reason. The order: fetched at all → right kind of layer → Sigstore verification
 * (signature, certificate chain and identity, log entries, timestamps, in-toto subject = digest) → what the
 * payload claims (predicate type, manifest digest, docker-reference, annotations).
 */
export async function verifyOne(digest: string, fetched: FetchedSignature, trust: ImageTrust, options: ImageVerifyOptions, wanted: Wanted): Promise<ExaminedSignature> {
  const format = fetched.kind === 'bundle' ? 'bundle' : 'legacy';
  const out: ExaminedSignature = { id: fetched.id, source: fetched.source, format, ok: false, reasons: [] };
  const fail = (reason: string): ExaminedSignature => ({ ...out, ok: false, reasons: [reason] });
  if (fetched.error !== undefined || fetched.bytes === undefined) return fail(fetched.error ?? 'not fetched');

  if (fetched.kind === 'legacy-signature' && wanted.kind === 'attestation') return fail('a legacy .sig signature is not an attestation');
  if (fetched.kind === 'legacy-attestation' && wanted.kind === 'signature') return fail('a legacy .att attestation is not an image signature');

  let bundle: unknown = fetched.bytes;
  let artifact: Uint8Array | { digest: string } = { digest };
  if (fetched.kind !== 'bundle') {
    try {
      bundle = legacyToBundle(fetched.kind === 'legacy-signature' ? 'signature' : 'attestation', fetched.bytes, fetched.annotations);
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    if (fetched.kind === 'legacy-signature') artifact = fetched.bytes;
  }

  const blobOptions: BlobVerificationOptions = {
    trustedRoot: trust.trustedRoot,
    ...(trust.key !== undefined ? { key: trust.key } : {}),
    ...(trust.identity !== undefined ? { identity: trust.identity } : {}),
    ...(options.insecureIgnoreTlog !== undefined ? { insecureIgnoreTlog: options.insecureIgnoreTlog } : {}),
    ...(options.tlogThreshold !== undefined ? { tlogThreshold: options.tlogThreshold } : {}),
    ...(options.ctlogThreshold !== undefined ? { ctlogThreshold: options.ctlogThreshold } : {}),
  };
  const rekord = fetched.kind === 'legacy-signature' && !options.insecureIgnoreTlog ? rekordEntry(fetched.annotations) : undefined;
  const result = rekord
    ? rekordResult(verifyLegacyRekord(fetched.bytes, (fetched as FetchedLegacy).annotations, rekord, trust, options))
    : await verifyBlobBundle(bundle, artifact, blobOptions);
  if (result.signer) out.signer = result.signer;
  if (result.tlogEntries !== undefined) out.tlogEntries = result.tlogEntries;
  if (result.statement) {
    out.statement = result.statement;
    if (result.statement.predicateType !== undefined) out.predicateType = result.statement.predicateType;
  }
  if (!result.ok) {
    const reason = result.reasons.join('; ');
    return fail(fetched.kind === 'bundle' && result.content === 'message_signature' && /artifact bytes/.test(reason)
      ? 'a message-signature bundle holds no payload naming the image; cosign attaches image signatures as DSSE in-toto statements'
      : reason);
  }

  // What the verified payload says.
  if (fetched.kind === 'legacy-signature') {
    const parsed = parseSimpleSigningPayload(fetched.bytes);
    if (!parsed.payload) return fail(parsed.reason!);
    const payload = parsed.payload;
    out.payload = payload;
    if (payload.critical.type !== SIMPLE_SIGNING_TYPE && payload.critical.type !== COSIGN_SIGN_PREDICATE_TYPE) {
      return fail(`the payload type is ${JSON.stringify(payload.critical.type).slice(0, 100)}, not "${SIMPLE_SIGNING_TYPE}"`);
    }
    if (payload.critical.image['docker-manifest-digest'] !== digest) {
      return fail(`the signed payload names manifest ${payload.critical.image['docker-manifest-digest'].slice(0, 100)}, not ${digest}: the signature is for another image`);
    }
    if (options.repository !== undefined && !sameRepository(payload.critical.identity['docker-reference'], options.repository)) {
      return fail(`the signed payload names repository ${JSON.stringify(payload.critical.identity['docker-reference']).slice(0, 200)}, not ${options.repository}: the signature was made for another name`);
    }
    const missing = missingAnnotations(options.annotations, payload.optional);
    if (missing.length > 0) return fail(`the signed payload lacks the annotation${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
    return { ...out, ok: true, predicateType: SIMPLE_SIGNING_TYPE };
  }

  const statement = result.statement;
  if (!statement) return fail('the bundle holds no in-toto statement about the image');
  const predicateType = statement.predicateType;
  if (wanted.kind === 'signature' && predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    return fail(`the statement's predicate type is ${JSON.stringify(predicateType ?? null).slice(0, 200)}, not ${COSIGN_SIGN_PREDICATE_TYPE}: an attestation, not an image signature`);
  }
  if (wanted.kind === 'attestation' && predicateType !== wanted.predicateType) {
    return fail(`the statement's predicate type is ${JSON.stringify(predicateType ?? null).slice(0, 200)}, not ${wanted.predicateType}`);
  }
  if (fetched.kind === 'legacy-attestation') {
    const hint = fetched.annotations[LEGACY_PREDICATE_TYPE_ANNOTATION];
    if (hint !== undefined && hint !== predicateType) return fail(`the layer's predicateType annotation (${hint.slice(0, 200)}) disagrees with the signed statement (${predicateType})`);
  }
  const missing = missingAnnotations(options.annotations, subjectAnnotations(statement, digest));
  if (missing.length > 0) return fail(`the signed statement lacks the annotation${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
  return { ...out, ok: true };
}

function sameRepository(dockerReference: string, repository: string): boolean {
  try {
    const signed = parseReference(dockerReference);
    const expected = parseReference(repository);
    return signed.registry === expected.registry && signed.repository === expected.repository;
  } catch {
    return false;
  }
}

/** The Rekor bundle of a legacy signature when its entry is the old `rekord` kind (verified by our own path). */
function rekordEntry(annotations: Record<string, string>): ReturnType<typeof parseRekorBundle> | undefined {
  const text = annotations[COSIGN_BUNDLE_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = parseRekorBundle(text);
    return parsed.kind === 'rekord' ? parsed : undefined;
  } catch {
    return undefined; // reported by legacyToBundle
  }
}

function rekordResult(result: ReturnType<typeof verifyLegacyRekord>): Awaited<ReturnType<typeof verifyBlobBundle>> {
  return { ok: result.ok, reasons: result.reason ? [result.reason] : [], ...(result.signer ? { signer: result.signer } : {}), content: 'message_signature', ...(result.ok ? { tlogEntries: 1 } : {}) };
}
