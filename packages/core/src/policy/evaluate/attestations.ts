import type { CelInput } from '@bufbuild/cel';
import { isUnavailableError } from '../../errors/tollgate-error.js';
import { toCel } from '../cel/to-cel.js';
import { evaluateCondition } from '../cel/evaluate-condition.js';
import type { CompiledAttestation } from '../schema/compiled.js';
import { aliasGroups, describeSubject } from './signatures.js';
import { distinctAuthorityCount } from './threshold.js';
import type { AttestationResult, AuthorityVerifier, Finding, PolicyImage, VerifiedStatement } from './types.js';

/**
 * Checks one required attestation on one manifest. Each authority's verified statements are kept only when they
 * are in-toto statements of the required predicate type whose subjects include the manifest's digest (checked here
 * whatever the verifier did) and the verifier named the signer whose signature carries them. An authority vouches
 * when one of its statements meets every condition, and it vouches with the signers of those statements; at least
 * `threshold` authorities must vouch, each credited to a distinct signer — as for image signatures, the same key
 * listed twice, or two identity patterns one certificate satisfies, count once. A condition that errors or returns
 * a non-boolean fails the whole attestation: an error never allows.
 */
export async function evaluateAttestation(
  target: PolicyImage,
  attestation: CompiledAttestation,
  verifier: AuthorityVerifier,
  imageBinding: CelInput,
  prefix: string,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const name = `${prefix}/${attestation.name}`;
  const signersByAuthority: string[][] = [];
  const aliases: string[][] = [];
  let vouching = 0;
  let undecided = 0;
  let conditionError: string | undefined;
  for (const authority of attestation.authorities) {
    let result: AttestationResult;
    try {
      result = await verifier.verifiedAttestations(target, attestation.predicateType, authority);
    } catch (error) {
      result = { statements: [], reasons: [`verification failed: ${error instanceof Error ? error.message : String(error)}`], ...(isUnavailableError(error) ? { indeterminate: true } : {}) };
    }
    const reasons = Array.isArray(result.reasons) ? [...result.reasons] : [];
    const statements: unknown[] = Array.isArray(result.statements) ? result.statements : [];
    const vouchers = new Set<string>();
    for (const entry of statements.slice(0, 64)) {
      const signer = typeof entry === 'object' && entry !== null ? (entry as Partial<VerifiedStatement>).signer : undefined;
      if (typeof signer !== 'string' || signer === '') {
        reasons.push('the verifier reported a statement without naming its signer (not counted)');
        continue;
      }
      const statement = (entry as VerifiedStatement).statement;
      const problem = statementProblem(statement, attestation.predicateType, target.digest);
      if (problem) {
        reasons.push(problem);
        continue;
      }
      const predicate = (statement as { predicate?: unknown }).predicate;
      const bindings = { statement: toCel(statement), predicate: toCel(predicate ?? null), image: imageBinding };
      let all = true;
      for (const condition of attestation.conditions) {
        const outcome = evaluateCondition(condition.condition, bindings, condition.message);
        findings.push({ kind: 'condition', name: `${name}/${authority.name}`, passed: outcome.passed, reason: outcome.reason, digest: target.digest });
        if (!outcome.passed) {
          all = false;
          if (outcome.status !== 'false') conditionError ??= outcome.reason;
          break;
        }
      }
      if (all) vouchers.add(signer);
    }
    const vouched = vouchers.size > 0;
    const authorityUndecided = !vouched && result.indeterminate === true;
    if (authorityUndecided) undecided++;
    if (vouched) {
      vouching++;
      signersByAuthority.push([...vouchers]);
      aliases.push(...aliasGroups(result.aliases));
    }
    findings.push({
      kind: 'authority',
      name: `${name}/${authority.name}`,
      passed: vouched,
      ...(authorityUndecided ? { indeterminate: true } : {}),
      reason: authorityUndecided
        ? `could not be decided for now: the attestations could not all be read${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}`
        : vouched
        ? `a verified ${attestation.predicateType} statement by ${[...vouchers].slice(0, 5).join(', ')} meets every condition`
        : statements.length === 0
          ? `no verified ${attestation.predicateType} attestation${reasons.length ? `: ${reasons.slice(0, 3).join('; ')}` : ''}`
          : `no verified statement meets every condition${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}`,
      digest: target.digest,
    });
  }
  const count = distinctAuthorityCount(signersByAuthority, aliases);
  const passed = conditionError === undefined && count >= attestation.threshold;
  // A condition that failed on a statement that was read is a decision; only unread evidence leaves it undecided.
  const indeterminate = !passed && conditionError === undefined && count + undecided >= attestation.threshold;
  const n = attestation.authorities.length;
  findings.push({
    kind: 'attestation',
    name,
    passed,
    reason:
      conditionError !== undefined
        ? `${attestation.predicateType} on ${describeSubject(target)}: ${conditionError}`
        : `${count} of ${n} authorit${n === 1 ? 'y' : 'ies'} vouch for ${attestation.predicateType} on ${describeSubject(target)} with distinct signers${
            vouching > count ? ` (${vouching} vouch, but some only through a signer already counted)` : ''
          }; ${attestation.threshold} required${indeterminate ? ` (${undecided} could not be read for now: retry)` : ''}`,
    digest: target.digest,
    ...(indeterminate ? { indeterminate } : {}),
  });
  return findings;
}

function statementProblem(statement: unknown, predicateType: string, digest: string): string | undefined {
  if (typeof statement !== 'object' || statement === null || Array.isArray(statement)) return 'a statement is not a JSON object';
  const s = statement as { predicateType?: unknown; subject?: unknown };
  if (s.predicateType !== predicateType) return `a statement has predicateType ${JSON.stringify(String(s.predicateType).slice(0, 80))}, not the required one`;
  const [algorithm, hex] = digest.split(':');
  const subjects = Array.isArray(s.subject) ? s.subject : [];
  const bound = subjects.some((subject) => {
    const d = (subject as { digest?: Record<string, unknown> } | null)?.digest;
    return typeof d === 'object' && d !== null && typeof d[algorithm!] === 'string' && (d[algorithm!] as string).toLowerCase() === hex;
  });
  return bound ? undefined : `a statement is not about ${digest} (not among its subjects)`;
}
