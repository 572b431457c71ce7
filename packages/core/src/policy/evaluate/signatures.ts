import { isUnavailableError } from '../../errors/tollgate-error.js';
import type { Authority } from '../schema/types.js';
import { distinctAuthorityCount } from './threshold.js';
import type { AuthorityResult, AuthorityVerifier, Finding, PolicyImage } from './types.js';

export const VERIFICATION_UNAVAILABLE = 'signature verification is not available';

/**
 * Checks one manifest's signatures against a rule's authorities: each authority is asked of the verifier, and at
 * least `threshold` of those that passed must each be credited to a distinct signer (signers the verifier reports
 * as aliases of each other are one signer). A verifier that throws fails its authority. Returns a finding per
 * authority and one for the threshold.
 */
export async function evaluateSignatures(
  target: PolicyImage,
  authorities: readonly Authority[],
  threshold: number,
  verifier: AuthorityVerifier,
  prefix: string,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const signers: string[][] = [];
  const aliases: string[][] = [];
  let undecided = 0;
  const results = await Promise.all(
    authorities.map(async (authority): Promise<AuthorityResult> => {
      try {
        return await verifier.verifySignatures(target, authority);
      } catch (error) {
        return { passed: false, signers: [], reasons: [`verification failed: ${error instanceof Error ? error.message : String(error)}`], ...(isUnavailableError(error) ? { indeterminate: true } : {}) };
      }
    }),
  );
  authorities.forEach((authority, i) => {
    const result = results[i]!;
    const distinct = result.passed ? signerIds(result.signers) : [];
    const passed = result.passed && distinct.length > 0;
    if (passed) {
      signers.push(distinct);
      aliases.push(...aliasGroups(result.aliases));
    }
    const reason = passed
      ? `verified ${authority.kind} signature${distinct.length === 1 ? '' : 's'} by ${distinct.slice(0, 5).join(', ')}`
      : result.passed
        ? 'the verifier reported success without naming a signer (not counted)'
        : result.reasons.length > 0
          ? result.reasons.slice(0, 5).join('; ')
          : `no valid ${authority.kind} signature`;
    const indeterminate = !passed && result.indeterminate === true;
    if (indeterminate) undecided++;
    findings.push({ kind: 'authority', name: `${prefix}/${authority.name}`, passed, reason: indeterminate ? `could not be decided for now: ${reason}` : reason, digest: target.digest, ...(indeterminate ? { indeterminate } : {}) });
  });
  const count = distinctAuthorityCount(signers, aliases);
  const passed = count >= threshold;
  // Authorities that could not be read might each have added a signer: the threshold is undecided, not failed.
  const indeterminate = !passed && count + undecided >= threshold;
  findings.push({
    kind: 'signatures',
    name: `${prefix}`,
    passed,
    reason: `${count} of ${authorities.length} authorit${authorities.length === 1 ? 'y' : 'ies'} verified with distinct signers${
      signers.length > count ? ` (${signers.length} passed, but some only through a signer already counted)` : ''
    } on ${describeSubject(target)}; ${threshold} required${indeterminate ? ` (${undecided} could not be read for now: retry)` : ''}`,
    digest: target.digest,
    ...(indeterminate ? { indeterminate } : {}),
  });
  return findings;
}

/** The distinct, well-formed (non-empty string) signer ids a verifier reported. */
export function signerIds(signers: unknown): string[] {
  return Array.isArray(signers) ? [...new Set(signers.filter((s): s is string => typeof s === 'string' && s !== ''))] : [];
}

/** The well-formed alias groups a verifier reported (lists of strings), at most a bounded number. */
export function aliasGroups(aliases: unknown): string[][] {
  if (!Array.isArray(aliases)) return [];
  return aliases
    .slice(0, 1024)
    .filter((group): group is unknown[] => Array.isArray(group))
    .map((group) => group.slice(0, 16).filter((id): id is string => typeof id === 'string' && id !== ''))
    .filter((group) => group.length > 1);
}

export function describeSubject(target: PolicyImage): string {
  if (target.subject === 'index') return `the index ${target.digest}`;
  if (target.subject === 'platform') return `the platform manifest ${target.digest}`;
  return `the pulled image ${target.digest}`;
}
