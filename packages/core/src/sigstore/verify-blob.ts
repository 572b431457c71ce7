import { createHash, timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import type { HashAlgorithm, TrustedRoot } from '@sigstore/protobuf-specs';
import type { SignedEntity } from '@sigstore/verify';
import { TollgateError } from '../errors/tollgate-error.js';
import { bundleFromValue, bundleVersion, parseBundle, type BundleVersion } from './bundle.js';
import { encodedOnce } from './encoded-once-certificate.js';
import { compileIdentityPolicy, type IdentityPolicy } from './identity-policy.js';
import { checkInTotoSubject, type ArtifactInput, type InTotoStatement } from './in-toto-statement.js';
import { trustMaterialFor } from './trust-material.js';
import { resolveVerificationKey, type VerificationKeyInput } from './verification-key.js';
import { sigstoreProtobufSpecs, sigstoreVerify } from './sigstore-libraries.js';

export interface BlobVerificationOptions {
  trustedRoot: TrustedRoot;
  /** Verify a keyed bundle with this public key (cosign `--key`). Mutually exclusive with `identity`. */
  key?: VerificationKeyInput;
  /** Who must have signed a keyless (certificate) bundle. Required for those. */
  identity?: IdentityPolicy;
  /** Distinct transparency-log entries required (default 1; 0 with insecureIgnoreTlog). The same entry twice counts once. */
  tlogThreshold?: number;
  /** Signed certificate timestamps required on a Fulcio certificate (default 1). */
  ctlogThreshold?: number;
  /** Verified timestamps (log integration times and RFC 3161) required (default 1; 0 for a key with insecureIgnoreTlog). */
  timestampThreshold?: number;
  /** cosign's --insecure-ignore-tlog: do not use (or require) the bundle's log entries at all. */
  insecureIgnoreTlog?: boolean;
}

export type VerifiedSigner = { identity: string | undefined; issuer: string | undefined } | { keyId: string };

export interface VerificationResult {
  ok: boolean;
  /** Why verification failed (empty when ok). Each is one line. */
  reasons: string[];
  signer?: VerifiedSigner;
  bundleVersion?: BundleVersion;
  content?: 'message_signature' | 'dsse';
  /** The in-toto statement of a DSSE bundle. */
  statement?: InTotoStatement;
  /** Distinct transparency-log entries that were verified. */
  tlogEntries?: number;
}

const MAX_THRESHOLD = 16;

/** The Node hash name of a bundle's message-digest algorithm; a function, so the enum loads only when verifying. */
function nodeHash(algorithm: HashAlgorithm): string | undefined {
  const { HashAlgorithm: Algorithm } = sigstoreProtobufSpecs();
  const names: Partial<Record<HashAlgorithm, string>> = {
    [Algorithm.SHA2_256]: 'sha256',
    [Algorithm.SHA2_384]: 'sha384',
    [Algorithm.SHA2_512]: 'sha512',
  };
  return names[algorithm];
}

/**
 * Verifies a Sigstore bundle over a blob, as `cosign verify-blob --bundle` does, offline against `trustedRoot`.
 * Bad options (no key and no identity, a key that does not parse, a bad regexp) throw a TollgateError; anything
 * wrong with the bundle or artifact returns `{ok: false, reasons}`. Order of checks:
 *  1. the bundle parses (parseBundle: strict JSON, known media type, version shape, one DSSE signature, no root in chain);
 *  2. it is signed the way the options expect (a key for `key`, a certificate for `identity`);
 *  3. it is about this artifact: a message signature's digest equals the artifact's; a DSSE envelope is an in-toto
 *     statement with the artifact among its subjects;
 *  4. @sigstore/verify: RFC 3161 timestamps and log integration times, the certificate chain to a Fulcio CA at those
 *     times plus SCTs (or the key's validity window), each log entry's inclusion (SET, checkpoint and Merkle proof)
 *     and body, and the signature itself;
 *  5. the certificate's subject and OIDC issuer match the identity policy (exact, or whole-string regexp);
 *  6. enough distinct log entries (an exact repeat counted once; two that share a log and a body are refused).
 */
export async function verifyBlobBundle(bundle: unknown, artifact: ArtifactInput, options: BlobVerificationOptions): Promise<VerificationResult> {
  const thresholds = checkThresholds(options);
  const policy = options.identity ? compileIdentityPolicy(options.identity) : undefined;
  const key = options.key !== undefined ? resolveVerificationKey(options.key) : undefined;
  if (key && policy) throw new TollgateError('USAGE', 'give either a public key or a certificate identity policy, not both');
  if (!key && !policy) throw new TollgateError('USAGE', 'give the public key of a keyed signature, or the certificate identity and OIDC issuer of a keyless one');

  let parsed: Bundle;
  try {
    parsed = bundle instanceof Uint8Array || typeof bundle === 'string' ? parseBundle(bundle) : bundleFromValue(bundle);
  } catch (error) {
    return fail([messageOf(error)]);
  }
  const result: VerificationResult = {
    ok: false,
    reasons: [],
    bundleVersion: bundleVersion(parsed),
    content: parsed.content.$case === 'dsseEnvelope' ? 'dsse' : 'message_signature',
  };
  const failWith = (reason: string): VerificationResult => ({ ...result, ok: false, reasons: [reason] });

  // 2. the kind of signer
  const material = parsed.verificationMaterial.content;
  if (material.$case === 'publicKey' && !key) return failWith('the bundle is signed with a key (no certificate); verify it with that public key (--key)');
  if (material.$case !== 'publicKey' && !policy) return failWith('the bundle is signed keyless (with a certificate); verify it with the certificate identity and OIDC issuer, not a key');

  // 3. the artifact
  let artifactBytes: Buffer | undefined;
  if (parsed.content.$case === 'messageSignature') {
    if (!(artifact instanceof Uint8Array)) return failWith('a message-signature bundle is verified over the artifact bytes; a digest alone is not enough');
    artifactBytes = Buffer.from(artifact.buffer, artifact.byteOffset, artifact.byteLength);
    const { messageDigest } = parsed.content.messageSignature;
    if (messageDigest) {
      const algorithm = nodeHash(messageDigest.algorithm);
      if (!algorithm) return failWith(`the bundle's message digest uses an unsupported algorithm (${sigstoreProtobufSpecs().HashAlgorithm[messageDigest.algorithm] ?? messageDigest.algorithm})`);
      const actual = createHash(algorithm).update(artifactBytes).digest();
      if (actual.length !== messageDigest.digest.length || !timingSafeEqual(actual, messageDigest.digest)) {
        return failWith(`the bundle's message digest is not the ${algorithm} of the artifact: the signature is for another file`);
      }
    }
  } else {
    const envelope = parsed.content.dsseEnvelope;
    const subject = checkInTotoSubject(envelope.payloadType, envelope.payload, artifact);
    if (subject.statement) result.statement = subject.statement;
    if (subject.reason) return failWith(subject.reason);
  }

  if (thresholds.tlog > 0 && parsed.verificationMaterial.tlogEntries.length === 0) {
    return failWith('the bundle has no transparency log entry; a signature that was not logged in Rekor verifies only with --insecure-ignore-tlog (and a key or a trusted timestamp)');
  }

  // 4. @sigstore/verify
  let entity: SignedEntity;
  let signerIdentity: { subjectAlternativeName?: string; extensions?: { issuer?: string } } | undefined;
  let distinctEntries = 0;
  const { toSignedEntity, Verifier } = sigstoreVerify();
  try {
    const keyFinder = key
      ? () => ({
          publicKey: key.key,
          validFor: (date: Date) => (!key.validFor.start || key.validFor.start <= date) && (!key.validFor.end || date <= key.validFor.end),
        })
      : () => {
          throw new TollgateError('USAGE', 'no public key was given');
        };
    const trustMaterial = trustMaterialFor(options.trustedRoot, keyFinder);
    entity = prepareEntity(toSignedEntity(parsed, artifactBytes), options.insecureIgnoreTlog === true);
    distinctEntries = new Set(entity.tlogEntries.map(entryKey)).size;
    const verifier = new Verifier(trustMaterial, {
      tlogThreshold: 0, // counted by us, on distinct entries (step 6)
      ctlogThreshold: thresholds.ctlog,
      timestampThreshold: key ? thresholds.timestampKeyed : thresholds.timestamp,
    });
    const signer = verifier.verify(entity);
    signerIdentity = signer.identity;
  } catch (error) {
    return failWith(messageOf(error));
  }
  result.tlogEntries = distinctEntries;

  // 5. identity
  if (policy) {
    const subject = signerIdentity?.subjectAlternativeName;
    const issuer = signerIdentity?.extensions?.issuer;
    result.signer = { identity: subject, issuer };
    if (!policy.matchSubject(subject)) return failWith(`the certificate identity ${JSON.stringify(subject ?? null)} does not match ${policy.describeSubject}`);
    if (!policy.matchIssuer(issuer)) return failWith(`the certificate OIDC issuer ${JSON.stringify(issuer ?? null)} does not match ${policy.describeIssuer}`);
  } else {
    result.signer = { keyId: key!.keyId };
  }

  // 6. distinct log entries
  if (distinctEntries < thresholds.tlog) {
    return failWith(`expected ${thresholds.tlog} distinct transparency log entries, found ${distinctEntries}${parsed.verificationMaterial.tlogEntries.length > distinctEntries ? ` (${parsed.verificationMaterial.tlogEntries.length} in the bundle, repeats counted once)` : ''}`);
  }
  return { ...result, ok: true, reasons: [] };
}

/**
 * Adjusts the entity @sigstore/verify builds from the bundle:
 *  - drops exact repeats of a log entry, so that one counts once (4.x refuses a bundle in which two entries share a
 *    log and a body, as "duplicate tlog entry" or "duplicate timestamp"; entries that share them without being
 *    exact repeats are left for it to refuse);
 *  - with insecureIgnoreTlog, drops the log entries and the times they vouch for;
 *  - makes the signing certificate encodedOnce (for this verification only), so the certificate path built once
 *    per verified timestamp does not re-encode it every time.
 */
function prepareEntity(entity: SignedEntity, ignoreTlog: boolean): SignedEntity {
  const entries: TransparencyLogEntry[] = [];
  if (!ignoreTlog) {
    for (const entry of entity.tlogEntries) if (!entries.some((kept) => isDeepStrictEqual(kept, entry))) entries.push(entry);
  }
  const timestamps = entity.timestamps.filter((t) => t.$case !== 'transparency-log' || entries.includes(t.tlogEntry));
  const key = entity.key.$case === 'certificate' ? { ...entity.key, certificate: encodedOnce(entity.key.certificate) } : entity.key;
  return { ...entity, tlogEntries: entries, timestamps, key };
}

/** A log entry as the log authenticates it: the log and the body (an inclusion proof does not cover the top-level logIndex). */
function entryKey(entry: TransparencyLogEntry): string {
  return `${Buffer.from(entry.logId.keyId).toString('base64')}#${createHash('sha256').update(entry.canonicalizedBody).digest('hex')}`;
}

function checkThresholds(options: BlobVerificationOptions): { tlog: number; ctlog: number; timestamp: number; timestampKeyed: number } {
  const ignore = options.insecureIgnoreTlog === true;
  const tlog = threshold('tlogThreshold', options.tlogThreshold, ignore ? 0 : 1);
  if (ignore && tlog > 0) throw new TollgateError('USAGE', 'insecureIgnoreTlog ignores the transparency log, so tlogThreshold must be 0');
  const timestamp = threshold('timestampThreshold', options.timestampThreshold, 1);
  return {
    tlog,
    ctlog: threshold('ctlogThreshold', options.ctlogThreshold, 1),
    timestamp: Math.max(timestamp, 1), // a certificate is only checked at a verified time: never none
    timestampKeyed: threshold('timestampThreshold', options.timestampThreshold, ignore ? 0 : 1),
  };
}

function threshold(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > MAX_THRESHOLD) throw new TollgateError('USAGE', `${name} must be an integer from 0 to ${MAX_THRESHOLD}, got ${value}`);
  return value;
}

function messageOf(error: unknown): string {
  if (error instanceof TollgateError) return error.message;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message.split('\n')[0]!;
    return typeof code === 'string' ? `${code}: ${text}` : text;
  }
  return String(error);
}

function fail(reasons: string[]): VerificationResult {
  return { ok: false, reasons };
}
