import type { X509Certificate } from 'node:crypto';

/** The Notary Project signature media types. */
export const NOTATION_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const NOTATION_JWS_MEDIA_TYPE = 'application/jose+json';
export const NOTATION_PAYLOAD_MEDIA_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

/** Trust anchors by trust-store type, as `x509/{ca,signingAuthority,tsa}/<name>/` of a notation trust store holds them. */
export interface NotationTrustStore {
  /** Roots for the `notary.x509` signing scheme. */
  ca: X509Certificate[];
  /** Roots for the `notary.x509.signingAuthority` signing scheme. */
  signingAuthority: X509Certificate[];
  /** Roots of time-stamping authorities (RFC 3161 countersignatures). */
  tsa: X509Certificate[];
}

export type NotationTrustStoreType = keyof NotationTrustStore;

export type NotationLevel = 'strict' | 'permissive' | 'audit' | 'skip';

/** The validations of the Notary Project verification workflow, in the order tollgate runs them. */
export type NotationCheck = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';

/** What a failure of a check does: fail the verification, be reported as a warning, or not be run. */
export type NotationAction = 'enforce' | 'log' | 'skip';

export type NotationOverride = Partial<Record<Exclude<NotationCheck, 'integrity'>, NotationAction>>;

export interface NotationCheckResult {
  check: NotationCheck;
  action: NotationAction;
  /** `not-performed`: the check could not be made here (revocation needs OCSP/CRL over the network). */
  outcome: 'passed' | 'failed' | 'skipped' | 'not-performed';
  reason?: string;
}

/** The descriptor of the manifest a signature must be bound to: all three fields must equal the signed targetArtifact. */
export interface NotationTarget {
  digest: string;
  size: number;
  mediaType: string;
}

export interface NotationVerifyOptions {
  trustStore: NotationTrustStore;
  /** `*`, or `x509.subject: C=…, ST=…, O=…` distinguished names (a bare DN is accepted too). */
  trustedIdentities: readonly string[];
  level: NotationLevel;
  override?: NotationOverride;
  /**
   * notation's `verifyTimestamp`: `always` (default) checks the RFC 3161 countersignature whenever TSA roots are
   * given; `afterCertExpiry` only once the signing chain has expired.
   */
  verifyTimestamp?: 'always' | 'afterCertExpiry';
  /** The time of verification (default: now). */
  now?: Date;
}

export interface NotationSigner {
  /** The signing certificate's subject, RFC 4514 order as written in the certificate (`C=US, ST=WA, …`). */
  subject: string;
  /** SHA-256 fingerprints (lowercase hex) of the x5c chain, signing certificate first. */
  chainFingerprints: string[];
  /**
   * The signing certificate's public key id: sha256 (lowercase hex) of its SubjectPublicKeyInfo, EC points
   * uncompressed (publicKeyId) — the same id a cosign key has, so one key is recognised as one signer.
   */
  keyId: string;
  signingScheme: 'notary.x509' | 'notary.x509.signingAuthority';
  /** `signingTime` (unauthenticated) or `authenticSigningTime`. */
  signingTime?: string;
  expiry?: string;
  /** genTime of a verified RFC 3161 countersignature. */
  timestamp?: string;
  signingAgent?: string;
}

export interface NotationResult {
  /** True when no enforced check failed (warnings may remain at permissive/audit). */
  ok: boolean;
  level: NotationLevel;
  checks: NotationCheckResult[];
  /** Present once the envelope's integrity is established. */
  signer?: NotationSigner;
  /** Enforced failures, one line each. */
  reasons: string[];
  /** Logged failures and checks that could not be made, one line each. */
  warnings: string[];
}
