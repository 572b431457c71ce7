import type { CompiledCondition } from '../cel/compile.js';
import type { CompiledChecks } from '../checks/types.js';
import type { MatchableRule } from '../match/select-rule.js';
import type { Authority, PlatformScope, PolicyDefault, PolicyMode, PolicySpec, RuleSpec } from './types.js';

export interface CompiledConditionEntry {
  condition: CompiledCondition;
  message?: string;
  path: string;
}

export interface CompiledAttestation {
  name: string;
  predicateType: string;
  authorities: Authority[];
  threshold: number;
  conditions: CompiledConditionEntry[];
}

export interface CompiledRule extends MatchableRule {
  name: string;
  /** JSON path in the policy file (`$.rules[3]`). */
  path: string;
  spec: RuleSpec;
  mode: PolicyMode;
  platforms: PlatformScope;
  authorities: Authority[];
  threshold: number;
  attestations: CompiledAttestation[];
  checks?: CompiledChecks;
}

/** A policy that parsed, validated and compiled: patterns, keys, certificates and CEL programs ready to use. */
export interface LoadedPolicy {
  spec: PolicySpec;
  /**
   * `sha256:<hex>` of the policy file bytes — or, when the policy reads key or certificate files, of the policy
   * bytes' digest followed by each file's path and digest, so that changing a referenced key changes it too.
   */
  revision: string;
  mode: PolicyMode;
  default: PolicyDefault;
  rules: CompiledRule[];
  /** Where the policy came from, for messages. */
  source: string;
}
