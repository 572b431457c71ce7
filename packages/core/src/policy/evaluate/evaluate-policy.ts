import { toCel } from '../cel/to-cel.js';
import { runChecks } from '../checks/run-checks.js';
import type { CompiledRule, LoadedPolicy } from '../schema/compiled.js';
import { selectRule } from '../match/select-rule.js';
import { evaluateAttestation } from './attestations.js';
import { evaluateSignatures, VERIFICATION_UNAVAILABLE } from './signatures.js';
import { signatureTargets } from './targets.js';
import type { AuthorityVerifier, Decision, Finding, PolicyImage, PolicyVerdict } from './types.js';

export interface EvaluatePolicyOptions {
  /** Verifies signatures and attestations. Without one, every rule that needs them denies (fail closed). */
  verifier?: AuthorityVerifier;
}

/**
 * Decides whether an image is admitted. The most specific rule whose `images` pattern matches the normalised
 * name governs it (see selectRule); its signature authorities (on the manifests its `platforms` scope names),
 * required attestations and checks are all evaluated, each becoming a finding with a reason. All pass → allow;
 * otherwise deny, or warn when the rule's mode is `warn`. No rule → the policy's `default` (deny unless set),
 * which the global `warn` mode softens to warn. The verdict carries the policy revision.
 */
export async function evaluatePolicy(image: PolicyImage, policy: LoadedPolicy, options: EvaluatePolicyOptions = {}): Promise<PolicyVerdict> {
  const name = `${image.registry}/${image.repository}`;
  const base = {
    revision: policy.revision,
    image: { reference: image.reference, name, digest: image.digest, ...(image.index ? { indexDigest: image.index.digest } : {}) },
  };
  const match = selectRule(policy.rules, image.registry, image.repository);
  if (match === undefined) {
    let decision: Decision = policy.default;
    if (decision === 'deny' && policy.mode === 'warn') decision = 'warn';
    const reason = `no rule matches ${name}; the policy default is ${policy.default}${decision !== policy.default ? ' (warn mode)' : ''}`;
    return { ...base, decision, mode: policy.mode, summary: reason, findings: [{ kind: 'default', name: 'default', passed: decision !== 'deny', reason }] };
  }
  const rule = match.rule;
  const findings: Finding[] = [
    { kind: 'rule', name: rule.name, passed: true, reason: `rule ${JSON.stringify(rule.name)} governs ${name} (pattern ${JSON.stringify(match.pattern.source)})` },
    ...(await evaluateRule(image, rule, options.verifier)),
  ];
  const failed = findings.filter((f) => !f.passed && (f.kind === 'signatures' || f.kind === 'attestation' || f.kind === 'check' || f.kind === 'platform'));
  const decision: Decision = failed.length === 0 ? 'allow' : rule.mode === 'warn' ? 'warn' : 'deny';
  // Not allowed only because evidence could not be read: undecided, to be tried again — never cached as a verdict.
  const indeterminate = failed.length > 0 && failed.every((f) => f.indeterminate === true);
  const summary =
    failed.length === 0
      ? `allowed by rule ${JSON.stringify(rule.name)}: every requirement holds`
      : indeterminate
        ? `undecided by rule ${JSON.stringify(rule.name)}: evidence could not be read for now (retry): ${failed.map((f) => `${f.name}: ${f.reason}`).slice(0, 3).join('; ')}`
        : `${decision === 'warn' ? 'would be denied (warn mode)' : 'denied'} by rule ${JSON.stringify(rule.name)}: ${failed.map((f) => `${f.name}: ${f.reason}`).slice(0, 3).join('; ')}${failed.length > 3 ? `; and ${failed.length - 3} more` : ''}`;
  return { ...base, decision, rule: rule.name, pattern: match.pattern.source, mode: rule.mode, platforms: rule.platforms, summary, findings, ...(indeterminate ? { indeterminate } : {}) };
}

async function evaluateRule(image: PolicyImage, rule: CompiledRule, verifier: AuthorityVerifier | undefined): Promise<Finding[]> {
  const findings: Finding[] = [];
  const needsVerification = rule.authorities.length > 0 || rule.attestations.length > 0;
  if (needsVerification && verifier === undefined) {
    if (rule.authorities.length > 0) findings.push({ kind: 'signatures', name: `${rule.name}/authorities`, passed: false, reason: `${VERIFICATION_UNAVAILABLE} (denied)` });
    for (const attestation of rule.attestations) {
      findings.push({ kind: 'attestation', name: `${rule.name}/attestations/${attestation.name}`, passed: false, reason: `${VERIFICATION_UNAVAILABLE} (denied)` });
    }
  } else if (needsVerification && verifier !== undefined) {
    const targets = signatureTargets(image, rule.platforms);
    if (targets.length === 0) {
      findings.push({ kind: 'platform', name: `${rule.name}/platforms`, passed: false, reason: 'the index lists no platform manifests to verify' });
    }
    const imageBinding = toCel({ digest: image.digest, reference: image.reference, config: image.config });
    for (const target of targets) {
      if (rule.authorities.length > 0) findings.push(...(await evaluateSignatures(target, rule.authorities, rule.threshold, verifier, `${rule.name}/authorities`)));
      for (const attestation of rule.attestations) {
        findings.push(...(await evaluateAttestation(target, attestation, verifier, imageBinding, `${rule.name}/attestations`)));
      }
    }
  }
  if (rule.checks) {
    for (const outcome of await runChecks(image, rule.checks)) {
      findings.push({ kind: 'check', name: `${rule.name}/checks.${outcome.check}`, passed: outcome.passed, reason: outcome.reason, ...(outcome.indeterminate ? { indeterminate: true } : {}) });
    }
  }
  return findings;
}
