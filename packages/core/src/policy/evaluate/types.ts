import type { ImageConfig, Platform } from '../../image/types.js';
import type { LayerIndex } from '../../layer-index/layer-index.js';
import type { Authority, PlatformScope, PolicyMode } from '../schema/types.js';

export interface PolicyImageLayer {
  digest: string;
  /** Compressed size from the manifest. */
  size: number;
  diffID: string;
}

/** A manifest of a multi-platform index that someone could pull. */
export interface PolicyPlatformManifest {
  digest: string;
  platform?: Platform;
}

/**
 * What evaluation knows about an image. `digest` is the platform manifest that is pulled and run; when the
 * reference names an index, `index` describes it. A verifier is handed a PolicyImage whose `digest` (and
 * `subject`) say which manifest it must find signatures for: the pulled image, a platform of the index, or the
 * index itself, as the rule's `platforms` scope asks.
 */
export interface PolicyImage {
  /** The reference as the user gave it, for reports. */
  reference: string;
  /** Normalised registry host (`docker.io` for Docker Hub) and repository (`library/nginx`): what rules match. */
  registry: string;
  repository: string;
  /** The manifest digest whose signatures are wanted (the pulled image unless `subject` says otherwise). */
  digest: string;
  subject?: 'image' | 'index' | 'platform';
  index?: { digest: string; manifests: PolicyPlatformManifest[] };
  config: ImageConfig;
  layers: PolicyImageLayer[];
  /** The file index of each layer, bottom first, read on first need (checks only) and then kept. */
  layerIndexes(): Promise<LayerIndex[]>;
  /**
   * The content of one regular file of one of those layers, whose index entry records `sha256` (checked), read
   * from the verified layer blob and refused when over `maxBytes`. Absent where the image's blobs cannot be read:
   * a check that needs file contents then fails closed.
   */
  readLayerFile?(layer: LayerIndex, path: string, expect: { sha256: string; maxBytes: number }): Promise<Uint8Array>;
}

/**
 * What a verifier found for one authority over the signatures of one manifest.
 *
 * A signer is named by a stable id that does not depend on how the authority matched it: a key's id (sha256 of its
 * SPKI, EC points uncompressed: publicKeyId), a keyless identity (`issuer subject`: the OIDC identity, not the
 * certificate, which is new for every signing), a notation certificate subject. The same signer found twice, or by
 * two authorities, has the same id and counts once toward a threshold.
 */
export interface AuthorityResult {
  passed: boolean;
  /** Distinct signers that verified. */
  signers: string[];
  /**
   * Other ids a signer is also known by, each group naming one signer (a notation signer's subject with its
   * certificate's key id). Signers that share any id in any group are one signer when a threshold is counted.
   */
  aliases?: string[][];
  /** Why signatures failed, one line each. */
  reasons: string[];
  /**
   * Not passed because the signatures could not all be read (the registry was unavailable: network, 429, 5xx), so
   * nothing was decided about them. Makes the finding indeterminate, never a pass.
   */
  indeterminate?: boolean;
}

/** One verified attestation statement and the signer whose signature carries it (an id as in AuthorityResult). */
export interface VerifiedStatement {
  statement: unknown;
  signer: string;
}

/** What a verifier found for one authority over the attestations of one manifest. */
export interface AttestationResult {
  /** The verified statements of the predicate type asked for, each with its signer. */
  statements: VerifiedStatement[];
  /** As in AuthorityResult. */
  aliases?: string[][];
  /** Why attestations failed, one line each. */
  reasons: string[];
  /** As in AuthorityResult: some attestations could not be read for now. */
  indeterminate?: boolean;
}

/** Signature and attestation verification, provided by the caller (the sigstore/notation modules, or a cache). */
export interface AuthorityVerifier {
  /** Verifies the image's signatures against one authority; returns which distinct signers passed and why others failed. */
  verifySignatures(image: PolicyImage, authority: Authority): Promise<AuthorityResult>;
  /** Verified attestation statements of a predicate type from this authority, each credited to its signer. */
  verifiedAttestations(image: PolicyImage, predicateType: string, authority: Authority): Promise<AttestationResult>;
}

export type Decision = 'allow' | 'deny' | 'warn';

export type FindingKind = 'rule' | 'default' | 'authority' | 'signatures' | 'attestation' | 'condition' | 'check' | 'platform';

/** One thing that took part in the decision, and why it came out as it did. */
export interface Finding {
  kind: FindingKind;
  /** `rule-name`, `rule-name/authority-name`, `rule-name/checks.nonRootUser`, … */
  name: string;
  passed: boolean;
  reason: string;
  /** The manifest digest the finding is about, where that is not simply the pulled image. */
  digest?: string;
  /**
   * A failed finding that might have passed had its evidence been readable (a registry unavailable for the
   * moment). A verdict whose every failed requirement is indeterminate is itself indeterminate.
   */
  indeterminate?: boolean;
}

export interface PolicyVerdict {
  decision: Decision;
  /** The policy's revision: a verdict is only valid for this revision. */
  revision: string;
  image: { reference: string; name: string; digest: string; indexDigest?: string };
  /** The rule that governed the image; absent when the default decided. */
  rule?: string;
  /** The pattern of that rule that matched. */
  pattern?: string;
  mode: PolicyMode;
  platforms?: PlatformScope;
  /** One line that sums up the verdict. */
  summary: string;
  findings: Finding[];
  /**
   * The decision is not allow only because evidence could not be read for now (every failed requirement is
   * indeterminate): retry later. The decision is still `deny` (or `warn`), so a caller that ignores this fails
   * closed; the proxy answers 503 and caches nothing, the CLI exits 2.
   */
  indeterminate?: boolean;
}
