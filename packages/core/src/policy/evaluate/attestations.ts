import type { CelInput } from '@bufbuild/cel';
import { toCel } from '../cel/to-cel.js';
import { evaluateCondition } from '../cel/evaluate-condition.js';
import type { CompiledAttestation } from '../schema/compiled.js';
import { describeSubject } from './signatures.js';
import type { AuthorityVerifier, Finding, PolicyImage } from './types.js';

/**
 * Checks one required attestation on one manifest. Each authority's verified statements are kept only when they
 * are in-toto statements of the required predicate type whose subjects include the manifest's digest (checked here
 * whatever the verifier did). An authority vouches when one of its statements meets every condition; at least
 * `threshold` distinct authorities must vouch. A condition that errors or returns a non-boolean fails the whole
 * attestation: an error never allows.
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
  let vouching = 0;
  let conditionError: string | undefined;
  for (const authority of attestation.authorities) {
    let result: { statements: unknown[]; reasons: string[] };
    try {
      result = await verifier.verifiedAttestations(target, attestation.predicateType, authority);
    } catch (error) {
      result = { statements: [], reasons: [`verification failed: ${error instanceof Error ? error.message : String(error)}`] };
    }
    const reasons = [...result.reasons];
    let vouched = false;
    for (const statement of result.statements.slice(0, 64)) {
      const problem = statementProblem(statement, attestation.predicateType, target.digest);
      if (problem) {
        reasons.push(problem);
        continue;
      }
      const predicate = (statement as { predicate?: unknown }).predicate;
      const bindings = { statement: toCel(statement), predicate: toCel(predicate ?? null), image: imageBinding };
      let all = true;
      for (const entry of attestation.conditions) {
        const outcome = evaluateCondition(entry.condition, bindings, entry.message);
        findings.push({ kind: 'condition', name: `${name}/${authority.name}`, passed: outcome.passed, reason: outcome.reason, digest: target.digest });
        if (!outcome.passed) {
          all = false;
          if (!outcome.reason.startsWith('condition is false')) conditionError ??= outcome.reason;
          break;
        }
      }
      if (all) vouched = true;
    }
    if (vouched) vouching++;
    findings.push({
      kind: 'authority',
      name: `${name}/${authority.name}`,
      passed: vouched,
      reason: vouched
        ? `a verified ${attestation.predicateType} statement meets every condition`
        : result.statements.length === 0
          ? `no verified ${attestation.predicateType} attestation${reasons.length ? `: ${reasons.slice(0, 3).join('; ')}` : ''}`
          : `no verified statement meets every condition${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}`,
      digest: target.digest,
    });
  }
  const passed = conditionError === undefined && vouching >= attestation.threshold;
  findings.push({
    kind: 'attestation',
    name,
    passed,
    reason:
      conditionError !== undefined
        ? `${attestation.predicateType} on ${describeSubject(target)}: ${conditionError}`
        : `${vouching} of ${attestation.authorities.length} authorit${attestation.authorities.length === 1 ? 'y' : 'ies'} vouch for ${attestation.predicateType} on ${describeSubject(target)}; ${attestation.threshold} required`,
    digest: target.digest,
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
