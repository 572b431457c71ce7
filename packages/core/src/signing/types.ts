import type { InTotoStatement } from '../sigstore/in-toto-statement.js';
import type { VerifiedSigner } from '../sigstore/verify-blob.js';

/** Bounds on what a registry can make a verifier fetch. */
export interface SignatureLimits {
  /** Referrers plus legacy signature/attestation layers examined (default 100); more is a verification failure. */
  maxSignatures?: number;
  /** Largest signature or attestation blob read (default 4 MiB); never above what its descriptor declares. */
  maxBlobBytes?: number;
}

/** Where a signature was found. */
export type SignatureSource = 'referrers-api' | 'fallback-tag' | 'legacy-tag';

/** A Sigstore bundle attached as an OCI 1.1 referrer (cosign v3), as fetched: bytes only, nothing verified yet. */
export interface FetchedBundle {
  kind: 'bundle';
  /** `referrer sha256:…` */
  id: string;
  source: 'referrers-api' | 'fallback-tag';
  manifestDigest: string;
  /** The `dev.sigstore.bundle.predicateType` annotation (a hint only: the signed statement decides). */
  predicateTypeHint?: string;
  bytes?: Uint8Array;
  /** Why it could not be fetched (over a limit, wrong subject, malformed manifest); it then fails verification. */
  error?: string;
  /** The error was the registry being unavailable (network, 429, 5xx), not something it sent. */
  unavailable?: boolean;
}

/** A layer of a legacy `sha256-<hex>.sig` (simple signing) or `.att` (DSSE envelope) manifest. */
export interface FetchedLegacy {
  kind: 'legacy-signature' | 'legacy-attestation';
  /** `sha256-<hex>.sig layer 0` */
  id: string;
  source: 'legacy-tag';
  manifestDigest?: string;
  layerDigest?: string;
  /** The layer blob: simple-signing payload (.sig) or DSSE envelope JSON (.att). */
  bytes?: Uint8Array;
  annotations: Record<string, string>;
  error?: string;
  /** The error was the registry being unavailable (network, 429, 5xx), not something it sent. */
  unavailable?: boolean;
}

export type FetchedSignature = FetchedBundle | FetchedLegacy;

/** Everything attached to one manifest digest, fetched within the limits. */
export interface FetchedSignatures {
  digest: string;
  signatures: FetchedSignature[];
  /** Failures of the fetch as a whole (a limit exceeded, an unreadable index); any of them fails verification. */
  problems: string[];
  /**
   * Some of what is attached could not be read because the registry was unavailable (network, 429, 5xx): a failed
   * verification then says nothing about the image's signatures, and policy callers treat it as indeterminate.
   */
  unavailable?: boolean;
}

/** One examined signature or attestation and what came of it. */
export interface ExaminedSignature {
  id: string;
  source: SignatureSource;
  format: 'bundle' | 'legacy';
  ok: boolean;
  /** Why it failed (empty when ok). */
  reasons: string[];
  signer?: VerifiedSigner;
  predicateType?: string;
  statement?: InTotoStatement;
  /** The simple-signing payload of a legacy signature. */
  payload?: unknown;
  tlogEntries?: number;
}

export interface ImageVerificationResult {
  ok: boolean;
  /** The manifest digest verified (a tag is resolved first). */
  digest: string;
  /** The reference as given, if any. */
  reference?: string;
  /** `signature`, or the predicate type of the attestations asked for. */
  kind: 'signature' | 'attestation';
  predicateType?: string;
  examined: ExaminedSignature[];
  /** Failures not tied to one signature: limits, none found. */
  reasons: string[];
}
