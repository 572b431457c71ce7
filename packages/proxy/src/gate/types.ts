import type { ContentSource } from '@tollgate/core';
import type { VerdictEvidence } from './evidence.js';

/** What the gate is asked about: one manifest (image or index), already resolved to a digest and verified. */
export interface GateRequest {
  /** The configured upstream's name. */
  upstream: string;
  /** The repository at the upstream (after prefix stripping and `library/` handling). */
  repository: string;
  /** The tag or digest the client asked for. */
  reference: string;
  /** The manifest's digest (computed from its bytes). */
  digest: string;
  mediaType: string;
  /** The manifest bytes exactly as received. */
  manifest: Uint8Array;
  /** The upstream repository as a content source, for blobs (through the proxy's cache) and child manifests. */
  source: ContentSource;
  /** The upstream repository as it is, where signatures and referrers are read (default: `source`). */
  signatureSource?: ContentSource;
  /** Digests of indexes admitted (under the current revision) in this repository that list this manifest. */
  parents?: string[];
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'warn';
  /** The rule that decided. */
  rule?: string;
  reasons: string[];
  /** The policy revision this verdict was made under (verdicts are cached per revision). */
  policyRevision: string;
  /**
   * The gate verified the digest itself (a signature or attestation checked out). pinTags admits a moved tag only
   * on an allow that is verified; when absent, only the allow-list gate's explicit `digest-pin` counts as verified.
   */
  verified?: boolean;
  /** When the gate reached it (ms since the epoch), set by the proxy when it stores the verdict. */
  evaluatedAt?: number;
  /**
   * Not a decision: the gate could not read its evidence (an upstream unavailable for the moment). The proxy
   * answers 503 and never stores it; `decision` stays `deny` so that nothing treats it as an allow.
   */
  indeterminate?: boolean;
  /** Every finding with pass/fail, the signatures and attestations found (bounded); gates that verify set it. */
  evidence?: VerdictEvidence;
}

/**
 * Decides whether a manifest may be served. `revision` changes whenever the policy changes; verdicts and blob
 * admissions made under another revision are not reused. A gate that throws fails closed (nothing is served).
 */
export interface Gate {
  revision: string;
  evaluate(request: GateRequest): Promise<Verdict>;
  /** Stops what the gate runs in the background (a periodic refresh of its trust material); its owner calls it. */
  close?(): void;
}
