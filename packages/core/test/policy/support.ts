import type { AttestationResult, Authority, AuthorityResult, AuthorityVerifier, PolicyImage, VerifiedStatement } from '@tollgate/core';

export const HEADER = 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\n';

export function yaml(text: string): Uint8Array {
  return new TextEncoder().encode(HEADER + text);
}

/** Statements as one signer's verified attestations. */
export function signedBy(signer: string, ...statements: unknown[]): VerifiedStatement[] {
  return statements.map((statement) => ({ statement, signer }));
}

/**
 * A verifier over precomputed results: signatures by `${digest} ${authorityName}`, attestations by
 * `${digest} ${predicateType} ${authorityName}` (a list of signed statements, or a whole AttestationResult). It
 * stands in for the signature modules, which are not the thing under test here; the evaluation logic is.
 */
export class PrecomputedVerifier implements AuthorityVerifier {
  readonly calls: string[] = [];
  constructor(
    readonly signatures: Record<string, AuthorityResult> = {},
    readonly attestations: Record<string, VerifiedStatement[] | AttestationResult> = {},
  ) {}

  async verifySignatures(image: PolicyImage, authority: Authority): Promise<AuthorityResult> {
    this.calls.push(`sig ${image.digest} ${authority.name}`);
    return this.signatures[`${image.digest} ${authority.name}`] ?? { passed: false, signers: [], reasons: [`no signature on ${image.digest}`] };
  }

  async verifiedAttestations(image: PolicyImage, predicateType: string, authority: Authority): Promise<AttestationResult> {
    this.calls.push(`att ${image.digest} ${predicateType} ${authority.name}`);
    const found = this.attestations[`${image.digest} ${predicateType} ${authority.name}`];
    if (found === undefined) return { statements: [], reasons: ['no attestation'] };
    return Array.isArray(found) ? { statements: found, reasons: [] } : found;
  }
}

export function digestOfChar(c: string): string {
  return `sha256:${c.repeat(64)}`;
}

/** A PolicyImage without files, for rules that do not read them. */
export function syntheticImage(name: { registry: string; repository: string }, overrides: Partial<PolicyImage> = {}): PolicyImage {
  return {
    reference: `${name.registry}/${name.repository}`,
    registry: name.registry,
    repository: name.repository,
    digest: digestOfChar('a'),
    config: { rootfs: { type: 'layers', diff_ids: [] }, config: { User: 'app' } },
    layers: [],
    layerIndexes: async () => [],
    ...overrides,
  };
}
