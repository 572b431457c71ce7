import { compilePolicy, type CompilePolicyOptions } from '../schema/compile-policy.js';
import { childPath, type PolicyProblem } from '../schema/problems.js';
import type { AuthoritySpec, PolicySpec } from '../schema/types.js';
import { identityWarnings } from './identity-warnings.js';
import { parseImagePattern } from '../match/image-pattern.js';
import { rulesMatchingNoRegistry } from '../match/unreachable-rules.js';

export interface LintPolicyOptions extends CompilePolicyOptions {
  /**
   * The registries images will be named under where the policy is used (a proxy's upstreams): rules that can match
   * none of them are warned about, since they never apply there.
   */
  registries?: readonly string[];
}

export interface PolicyLintResult {
  /** True when the policy loads: no errors. Warnings do not make it invalid. */
  valid: boolean;
  /** Present when valid. */
  revision?: string;
  errors: PolicyProblem[];
  warnings: PolicyProblem[];
}

/**
 * Lints a policy: every error loading would raise (YAML, unknown keys, schema, keys that cannot be read, CEL that
 * does not compile), plus warnings — rules that can never be chosen (each of their patterns is written, after
 * normalisation, by an earlier rule, which wins the tie), a default that never applies, rules that require
 * nothing, keyless identity patterns that look unanchored or have unescaped dots, a policy in warn mode, and (given
 * `registries`) rules that match none of them.
 */
export async function lintPolicy(bytes: Uint8Array, options: LintPolicyOptions = {}): Promise<PolicyLintResult> {
  const { registries, ...compileOptions } = options;
  const result = await compilePolicy(bytes, compileOptions);
  const warnings: PolicyProblem[] = [];
  const spec = result.policy?.spec ?? (isPolicyLike(result.document) ? (result.document as PolicySpec) : undefined);
  if (spec) collectWarnings(spec, warnings);
  if (result.policy && registries !== undefined) {
    for (const rule of rulesMatchingNoRegistry(result.policy.rules, registries)) {
      warnings.push({ path: rule.path, message: `rule ${JSON.stringify(rule.name)} matches no registry of the proxy's upstreams (${registries.join(', ')}): it never applies there; fix its images or set upstreams[].registry` });
    }
  }
  return { valid: result.policy !== undefined, ...(result.policy ? { revision: result.policy.revision } : {}), errors: result.errors, warnings };
}

function isPolicyLike(document: unknown): boolean {
  const rules = (document as { rules?: unknown } | null)?.rules;
  return Array.isArray(rules) && rules.every((r) => typeof r === 'object' && r !== null && Array.isArray((r as { images?: unknown }).images));
}

function collectWarnings(spec: PolicySpec, warnings: PolicyProblem[]): void {
  if (spec.mode === 'warn') warnings.push({ path: '$.mode', message: 'the policy is in warn mode: nothing is enforced unless a rule sets mode: enforce' });
  const firstRuleFor = new Map<string, string>();
  let catchAll = false;
  spec.rules.forEach((rule, index) => {
    const path = childPath('$.rules', index);
    const shadowedBy = new Set<string>();
    let reachable = false;
    for (const source of rule.images) {
      if (typeof source !== 'string') continue;
      const key = normalizeForLint(source);
      const earlier = firstRuleFor.get(key);
      if (earlier !== undefined && earlier !== String(rule.name)) shadowedBy.add(earlier);
      else if (earlier === undefined) {
        firstRuleFor.set(key, String(rule.name));
        reachable = true;
      }
    }
    if (!reachable && shadowedBy.size > 0) {
      warnings.push({ path, message: `rule ${JSON.stringify(rule.name)} is unreachable: each of its patterns is also written by an earlier rule (${[...shadowedBy].join(', ')}), which wins the tie` });
    }
    if (rule.images.includes('**') && !catchAll) {
      catchAll = true;
      warnings.push({ path: '$.default', message: `the default (${spec.default ?? 'deny'}) never applies: rule ${JSON.stringify(rule.name)} matches every image ("**")` });
    }
    if (!rule.authorities && !rule.attestations && (!rule.checks || Object.keys(rule.checks).length === 0) && rule.mode !== 'warn') {
      warnings.push({ path, message: `rule ${JSON.stringify(rule.name)} requires nothing: every image it matches is allowed` });
    }
    const authorityLists: Array<[string, AuthoritySpec[] | undefined]> = [[childPath(path, 'authorities'), rule.authorities]];
    (rule.attestations ?? []).forEach((a, i) => authorityLists.push([childPath(childPath(childPath(path, 'attestations'), i), 'authorities'), a.authorities]));
    for (const [listPath, list] of authorityLists) {
      (list ?? []).forEach((authority, i) => {
        if (!authority.keyless) return;
        for (const w of identityWarnings(authority.keyless)) {
          warnings.push({ path: childPath(childPath(childPath(listPath, i), 'keyless'), w.field), message: w.message });
        }
      });
    }
  });
}

function normalizeForLint(source: string): string {
  return parseImagePattern(source).pattern?.normalized ?? source;
}
