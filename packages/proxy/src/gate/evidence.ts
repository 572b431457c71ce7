import type { Authority, AuthorityVerifier, Finding, PolicyImage } from '@tollgate/core';

/**
 * What a verdict rests on, kept with it (bounded) so that the audit trail and the dashboard can show every finding
 * with pass/fail, the signatures found and the attestations by predicate type — not only the failed reasons.
 */
export interface VerdictEvidence {
  findings: EvidenceFinding[];
  signatures: SignatureEvidence[];
  attestations: AttestationEvidence[];
  /** Findings, signatures or attestations left out by the bounds. */
  omitted?: number;
}

export interface EvidenceFinding {
  kind: string;
  name: string;
  passed: boolean;
  reason: string;
  digest?: string;
  indeterminate?: boolean;
}

/** One authority's answer over one manifest's signatures. */
export interface SignatureEvidence {
  authority: string;
  /** key, keyless or notation. */
  kind: string;
  digest: string;
  passed: boolean;
  /** Distinct signers that verified: a key id, a keyless `issuer subject`, a certificate subject. */
  signers: string[];
  /** What the authority required and, when it passed, therefore verified. */
  transparencyLog: 'required' | 'ignore';
  timestamp: 'required' | 'optional';
  reasons: string[];
}

/** Verified attestations of one predicate type from one authority. */
export interface AttestationEvidence {
  authority: string;
  predicateType: string;
  digest: string;
  /** Verified statements of that type. */
  statements: number;
  signers: string[];
  reasons: string[];
}

export const MAX_FINDINGS = 32;
const MAX_ENTRIES = 16;
const MAX_TEXT = 300;
const MAX_SIGNERS = 8;

const cut = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

/** Collects what the verifier answered during one evaluation. */
export class EvidenceRecorder {
  readonly signatures: SignatureEvidence[] = [];
  readonly attestations: AttestationEvidence[] = [];
  private omitted = 0;

  /** The verifier, answering as before, with each answer written down. */
  wrap(inner: AuthorityVerifier): AuthorityVerifier {
    return {
      verifySignatures: async (image: PolicyImage, authority: Authority) => {
        const result = await inner.verifySignatures(image, authority);
        this.add(this.signatures, {
          authority: cut(authority.name),
          kind: authority.kind,
          digest: image.digest,
          passed: result.passed,
          signers: result.signers.slice(0, MAX_SIGNERS).map(cut),
          transparencyLog: authority.transparencyLog,
          timestamp: authority.timestamp,
          reasons: result.reasons.slice(0, 4).map(cut),
        });
        return result;
      },
      verifiedAttestations: async (image: PolicyImage, predicateType: string, authority: Authority) => {
        const result = await inner.verifiedAttestations(image, predicateType, authority);
        this.add(this.attestations, {
          authority: cut(authority.name),
          predicateType: cut(predicateType),
          digest: image.digest,
          statements: result.statements.length,
          signers: [...new Set(result.statements.map((s) => s.signer))].slice(0, MAX_SIGNERS).map(cut),
          reasons: result.reasons.slice(0, 4).map(cut),
        });
        return result;
      },
    };
  }

  private add<T>(list: T[], entry: T): void {
    if (list.length < MAX_ENTRIES) list.push(entry);
    else this.omitted++;
  }

  /** The evidence of the evaluation, with the policy's findings (at most MAX_FINDINGS, failed ones first). */
  evidence(findings: readonly Finding[]): VerdictEvidence {
    const ordered = [...findings.filter((f) => !f.passed), ...findings.filter((f) => f.passed)];
    const kept = ordered.slice(0, MAX_FINDINGS).map((f) => ({
      kind: f.kind,
      name: cut(f.name),
      passed: f.passed,
      reason: cut(f.reason),
      ...(f.digest !== undefined ? { digest: f.digest } : {}),
      ...(f.indeterminate ? { indeterminate: true } : {}),
    }));
    const omitted = this.omitted + Math.max(0, ordered.length - MAX_FINDINGS);
    return { findings: kept, signatures: this.signatures, attestations: this.attestations, ...(omitted > 0 ? { omitted } : {}) };
  }
}
