import { TollgateError } from '../../errors/tollgate-error.js';
import { fetchSignatures, type SignatureReader } from '../../signing/storage/fetch-signatures.js';
import { resolveLimits } from '../../signing/storage/limits.js';
import type { FetchedSignatures, ImageVerificationResult, SignatureLimits } from '../../signing/types.js';
import type { ImageVerifyOptions } from '../../signing/verify/trust.js';
import { verifyImageAttestations, verifyImageSignatures } from '../../signing/verify/verify-image-signatures.js';
import { publicGoodTrustedRoot } from '../../trust/public-good.js';
import type { TrustedRoot } from '../../trust/trusted-root.js';
import type { AttestationResult, AuthorityResult, AuthorityVerifier, PolicyImage, VerifiedStatement } from '../evaluate/types.js';
import type { Authority } from '../schema/types.js';
import { cosignTrust, creditedSigner } from './authority-trust.js';
import { MemoSignatureReader } from './memo-reader.js';
import { verifyNotationAuthority } from './notation-authority.js';
import type { SignatureLocation } from './signature-location.js';

export interface SignatureVerifierOptions extends SignatureLimits {
  /**
   * Where an image's signatures are read: one location for every image (a registry client and repository, an OCI
   * layout reader), or a function choosing one per image (undefined: the image's source holds no signatures).
   */
  signatures: SignatureLocation | ((image: PolicyImage) => SignatureLocation | undefined);
  /** Fulcio, Rekor, CT logs and TSAs to trust; default the Sigstore public-good root embedded in tollgate. */
  trustedRoot?: TrustedRoot;
  /** SCTs required on a Fulcio certificate (default 1). */
  ctlogThreshold?: number;
  /** The time notation certificates must be valid at (default now). */
  now?: Date;
}

/**
 * The AuthorityVerifier the policy engine asks: for each (repository, digest) the attached signatures and
 * attestations are fetched once (bounded by the limits) and kept for the life of this verifier — make one per
 * evaluation — then verified per authority: cosign keys and keyless identities with verifyImageSignatures /
 * verifyImageAttestations, notation trust stores with verifyNotationImage at the strict level. Each verified
 * signature and attestation is credited to its signer (key id, `issuer subject`, certificate subject: see
 * creditedSigner and verifyNotationAuthority) so thresholds count distinct signers, not authorities. Nothing here
 * throws for what a registry sent; a registry that cannot be reached throws, and the policy engine turns that into
 * a failed authority (fail closed).
 */
export function createSignatureVerifier(options: SignatureVerifierOptions): AuthorityVerifier {
  const limits = resolveLimits(options);
  const memos = new Map<SignatureReader, MemoSignatureReader>();
  const fetches = new Map<string, Promise<FetchedSignatures>>();
  let root: TrustedRoot | undefined = options.trustedRoot;
  const trustedRoot = (): TrustedRoot => (root ??= publicGoodTrustedRoot());
  const base: ImageVerifyOptions = options.ctlogThreshold !== undefined ? { ctlogThreshold: options.ctlogThreshold } : {};

  const locate = (image: PolicyImage): { reader: SignatureReader; repository: string } => {
    const location = typeof options.signatures === 'function' ? options.signatures(image) : options.signatures;
    if (location === undefined) {
      throw new TollgateError('USAGE', `${image.reference} comes from a source that holds no signatures (a docker archive); verify it in a registry or an OCI layout`);
    }
    let memo = memos.get(location.reader);
    if (memo === undefined) {
      memo = new MemoSignatureReader(location.reader);
      memos.set(location.reader, memo);
    }
    return { reader: memo, repository: location.repository };
  };

  const fetched = (image: PolicyImage): { reader: SignatureReader; repository: string; signatures: Promise<FetchedSignatures> } => {
    const { reader, repository } = locate(image);
    const key = JSON.stringify([repository, image.digest]);
    let signatures = fetches.get(key);
    if (signatures === undefined) {
      signatures = fetchSignatures(reader, repository, image.digest, { ...limits, include: 'all' });
      fetches.set(key, signatures);
      signatures.catch(() => fetches.delete(key));
    }
    return { reader, repository, signatures };
  };

  const verifyOptions = (image: PolicyImage, extra: ImageVerifyOptions): ImageVerifyOptions => ({
    ...extra,
    // A legacy simple-signing payload must name the repository the image was matched by.
    repository: `${image.registry}/${image.repository}`,
  });

  return {
    async verifySignatures(image: PolicyImage, authority: Authority): Promise<AuthorityResult> {
      if (authority.kind === 'notation') {
        const { reader, repository } = locate(image);
        return verifyNotationAuthority(reader, repository, image.digest, authority, { maxSignatures: limits.maxSignatures, maxEnvelopeBytes: limits.maxBlobBytes }, options.now);
      }
      const trust = cosignTrust(authority, trustedRoot, base);
      if ('unavailable' in trust) return { passed: false, signers: [], reasons: [trust.unavailable] };
      const signatures = await fetched(image).signatures;
      const result = await verifyImageSignatures(image.digest, image.reference, signatures, trust.trust, verifyOptions(image, trust.options));
      return outcome(result, authority, signatures.unavailable === true);
    },

    async verifiedAttestations(image: PolicyImage, predicateType: string, authority: Authority): Promise<AttestationResult> {
      if (authority.kind === 'notation') return { statements: [], reasons: ['a notation authority verifies image signatures, not attestations; use a key or keyless authority'] };
      const trust = cosignTrust(authority, trustedRoot, base);
      if ('unavailable' in trust) return { statements: [], reasons: [trust.unavailable] };
      const signatures = await fetched(image).signatures;
      const result = await verifyImageAttestations(image.digest, image.reference, signatures, trust.trust, { ...verifyOptions(image, trust.options), predicateType });
      const statements: VerifiedStatement[] = [];
      for (const examined of result.examined) {
        if (!examined.ok || examined.statement === undefined) continue;
        const signer = creditedSigner(examined.signer, authority);
        if (signer !== undefined) statements.push({ statement: examined.statement, signer });
      }
      // Statements that did verify are real evidence; what could not be read may still hold more (conditions, signers).
      return { statements, reasons: statements.length > 0 ? [] : failureReasons(result), ...(signatures.unavailable === true ? { indeterminate: true } : {}) };
    },
  };
}

/** `unavailable`: some of the attached signatures could not be read for now, so a failure decides nothing. */
function outcome(result: ImageVerificationResult, authority: Authority, unavailable: boolean): AuthorityResult {
  const signers = [...new Set(result.examined.filter((e) => e.ok).map((e) => creditedSigner(e.signer, authority)).filter((s): s is string => s !== undefined))];
  if (result.ok && signers.length > 0) return { passed: true, signers, reasons: [] };
  return { passed: false, signers: [], reasons: failureReasons(result), ...(unavailable ? { indeterminate: true } : {}) };
}

/** One line per problem: the fetch's own, then each examined signature's, at most five. */
function failureReasons(result: ImageVerificationResult): string[] {
  const reasons = [...result.reasons];
  for (const examined of result.examined) {
    if (!examined.ok) reasons.push(`${examined.id}: ${examined.reasons.join('; ') || 'not verified'}`);
  }
  if (reasons.length === 0) reasons.push(`no valid ${result.kind === 'signature' ? 'signature' : `${result.predicateType} attestation`}`);
  return reasons.slice(0, 5).map((r) => (r.length > 400 ? `${r.slice(0, 400)}…` : r));
}
