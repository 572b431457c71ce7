import { createHash } from 'node:crypto';
import { compileCondition } from '../cel/compile.js';
import { globProblem, pathMatcher } from '../checks/path-matcher.js';
import { parseSize } from '../checks/size.js';
import type { CompiledChecks } from '../checks/types.js';
import { parseImagePattern, type ImagePattern } from '../match/image-pattern.js';
import { publicKeyId } from '../../notation/x509/key-id.js';
import { compileAuthority, type CompileContext } from './compile-authority.js';
import type { CompiledAttestation, CompiledConditionEntry, CompiledRule, LoadedPolicy } from './compiled.js';
import { DEFAULT_SECRET_PATTERNS } from './default-secret-patterns.js';
import { parsePolicyYaml } from './parse-yaml.js';
import { POLICY_JSON_SCHEMA } from './policy-schema.js';
import { childPath, type PolicyProblem } from './problems.js';
import type { Authority, AuthoritySpec, ChecksSpec, PolicySpec } from './types.js';
import { validateAgainstSchema } from './validate-schema.js';

export interface CompilePolicyOptions {
  /** Directory relative key and certificate files are read from (the policy file's directory). */
  baseDir?: string;
  /** Where the policy came from, for messages (a path, or `<inline>`). */
  source?: string;
}

export interface CompileResult {
  policy?: LoadedPolicy;
  /** Problems that make the policy unusable: any one of them means nothing is evaluated. */
  errors: PolicyProblem[];
  /** The parsed document, when it parsed (for lint). */
  document?: unknown;
}

/**
 * Parses, validates and compiles a policy: strict YAML, the JSON Schema (unknown keys are errors), then meaning —
 * unique names, image patterns, thresholds that can be met, keys and certificates that read, identity regexps
 * that compile, CEL conditions that compile, sizes and globs that parse. Collects every problem it finds.
 */
export async function compilePolicy(bytes: Uint8Array, options: CompilePolicyOptions = {}): Promise<CompileResult> {
  const parsed = parsePolicyYaml(bytes);
  if (parsed.problems.length > 0) return { errors: parsed.problems };
  const document = parsed.value;
  const schemaProblems = validateAgainstSchema(document, POLICY_JSON_SCHEMA);
  if (schemaProblems.length > 0) return { errors: schemaProblems, document };

  const spec = document as PolicySpec;
  const ctx: CompileContext = { files: [], errors: [] };
  if (options.baseDir !== undefined) ctx.baseDir = options.baseDir;
  const mode = spec.mode ?? 'enforce';
  const rules: CompiledRule[] = [];
  uniqueNames(spec.rules.map((r) => r.name), '$.rules', 'rule', ctx.errors);
  for (const [index, rule] of spec.rules.entries()) {
    const path = childPath('$.rules', index);
    const patterns: ImagePattern[] = [];
    rule.images.forEach((source, i) => {
      const result = parseImagePattern(source);
      if (result.error !== undefined) ctx.errors.push({ path: childPath(childPath(path, 'images'), i), message: `${JSON.stringify(source.slice(0, 80))}: ${result.error}` });
      else patterns.push(result.pattern!);
    });
    const authorities = await compileAuthorities(rule.authorities, childPath(path, 'authorities'), ctx);
    const threshold = checkThreshold(rule.threshold, rule.authorities, path, ctx.errors);
    checkSameKeys(threshold, authorities, rule.authorities, path, ctx.errors);
    const attestations: CompiledAttestation[] = [];
    uniqueNames((rule.attestations ?? []).map((a) => a.name), childPath(path, 'attestations'), 'attestation', ctx.errors);
    for (const [i, attestation] of (rule.attestations ?? []).entries()) {
      const at = childPath(childPath(path, 'attestations'), i);
      const conditions: CompiledConditionEntry[] = [];
      for (const [j, condition] of (attestation.conditions ?? []).entries()) {
        const cpath = childPath(childPath(childPath(at, 'conditions'), j), 'expression');
        const compiled = await compileCondition(condition.expression);
        if (compiled.error !== undefined) ctx.errors.push({ path: cpath, message: `the CEL expression ${compiled.error}` });
        else conditions.push({ condition: compiled.condition!, path: cpath, ...(condition.message !== undefined ? { message: condition.message } : {}) });
      }
      const attestationAuthorities = await compileAuthorities(attestation.authorities, childPath(at, 'authorities'), ctx);
      const attestationThreshold = checkThreshold(attestation.threshold, attestation.authorities, at, ctx.errors);
      checkSameKeys(attestationThreshold, attestationAuthorities, attestation.authorities, at, ctx.errors);
      attestations.push({
        name: attestation.name,
        predicateType: attestation.predicateType,
        authorities: attestationAuthorities,
        threshold: attestationThreshold,
        conditions,
      });
    }
    const compiled: CompiledRule = {
      index,
      name: rule.name,
      path,
      spec: rule,
      patterns,
      mode: rule.mode ?? mode,
      platforms: rule.platforms ?? 'pulled',
      authorities,
      threshold,
      attestations,
    };
    if (rule.checks !== undefined) compiled.checks = compileChecks(rule.checks, childPath(path, 'checks'), ctx.errors);
    rules.push(compiled);
  }
  if (ctx.errors.length > 0) return { errors: ctx.errors, document };
  return {
    errors: [],
    document,
    policy: { spec, revision: policyRevision(bytes, ctx.files), mode, default: spec.default ?? 'deny', rules, source: options.source ?? '<inline>' },
  };
}

/** sha256 of the policy bytes; with referenced files, of the policy digest plus each file's path and digest. */
export function policyRevision(bytes: Uint8Array, files: readonly { path: string; sha256: string }[]): string {
  const policyDigest = createHash('sha256').update(bytes).digest('hex');
  if (files.length === 0) return `sha256:${policyDigest}`;
  const hash = createHash('sha256').update(`tollgate-policy-revision-v1\n${policyDigest}\n`);
  for (const file of files) hash.update(`${file.path}\0${file.sha256}\n`);
  return `sha256:${hash.digest('hex')}`;
}

async function compileAuthorities(specs: readonly AuthoritySpec[] | undefined, path: string, ctx: CompileContext): Promise<Authority[]> {
  if (specs === undefined) return [];
  uniqueNames(specs.map((a) => a.name), path, 'authority', ctx.errors);
  const out: Authority[] = [];
  for (const [i, spec] of specs.entries()) {
    const authority = await compileAuthority(spec, childPath(path, i), ctx);
    if (authority) out.push(authority);
  }
  return out;
}

function checkThreshold(threshold: number | undefined, authorities: readonly AuthoritySpec[] | undefined, path: string, errors: PolicyProblem[]): number {
  const count = authorities?.length ?? 0;
  if (threshold === undefined) return count;
  if (count === 0) errors.push({ path: childPath(path, 'threshold'), message: 'a threshold needs authorities; add authorities or remove the threshold' });
  else if (threshold > count) {
    errors.push({ path: childPath(path, 'threshold'), message: `threshold ${threshold} can never be met: there ${count === 1 ? 'is only 1 authority' : `are only ${count} authorities`}` });
  }
  return threshold;
}

/**
 * A threshold counts distinct signers, and key authorities that name the same key (as a file and as a PEM, as a
 * JWK) are one signer: a threshold that needs them to count separately can never be met.
 * Said at load time, like any threshold that cannot be met, rather than denying every image.
 */
function checkSameKeys(threshold: number, authorities: readonly Authority[], specs: readonly AuthoritySpec[] | undefined, path: string, errors: PolicyProblem[]): void {
  if (authorities.length !== (specs?.length ?? 0) || threshold > authorities.length) return; // already an error
  const byKey = new Map<string, string[]>();
  let others = 0;
  for (const authority of authorities) {
    if (authority.kind !== 'key' || authority.key === undefined) {
      others++;
      continue;
    }
    const id = publicKeyId(authority.key.key);
    byKey.set(id, [...(byKey.get(id) ?? []), authority.name]);
  }
  const distinct = others + byKey.size;
  if (threshold <= distinct) return;
  const same = [...byKey.values()].filter((names) => names.length > 1).map((names) => names.map((n) => JSON.stringify(n)).join(' and '));
  errors.push({
    path: childPath(path, 'threshold'),
    message: `threshold ${threshold} can never be met: authorities ${same.join('; ')} name the same key, which is one signer (a threshold counts distinct signers); at most ${distinct} can count`,
  });
}

function compileChecks(spec: ChecksSpec, path: string, errors: PolicyProblem[]): CompiledChecks {
  const checks: CompiledChecks = {};
  if (spec.nonRootUser) checks.nonRootUser = true;
  if (spec.healthcheck) checks.healthcheck = true;
  const globs = (list: readonly string[] | undefined, at: string): string[] => {
    (list ?? []).forEach((pattern, i) => {
      const problem = globProblem(pattern);
      if (problem) errors.push({ path: childPath(at, i), message: problem });
    });
    return [...(list ?? [])];
  };
  if (spec.noSetuid) {
    const allow = typeof spec.noSetuid === 'object' ? globs(spec.noSetuid.allow, childPath(childPath(path, 'noSetuid'), 'allow')) : [];
    checks.noSetuid = { allow: pathMatcher(allow) };
  }
  if (spec.noSecrets) {
    const at = childPath(path, 'noSecrets');
    const allow = typeof spec.noSecrets === 'object' ? globs(spec.noSecrets.allow, childPath(at, 'allow')) : [];
    const extra = typeof spec.noSecrets === 'object' ? globs(spec.noSecrets.patterns, childPath(at, 'patterns')) : [];
    checks.noSecrets = { allow: pathMatcher(allow), patterns: pathMatcher([...DEFAULT_SECRET_PATTERNS, ...extra]) };
  }
  if (spec.maxSize !== undefined) {
    const size = parseSize(spec.maxSize);
    if (size === undefined) errors.push({ path: childPath(path, 'maxSize'), message: `${JSON.stringify(spec.maxSize)} is not a size; write bytes or e.g. "500MiB"` });
    else checks.maxSize = size;
  }
  if (spec.maxLayers !== undefined) checks.maxLayers = spec.maxLayers;
  if (spec.baseImages !== undefined) {
    uniqueNames(spec.baseImages.map((b) => b.name), childPath(path, 'baseImages'), 'base image', errors);
    checks.baseImages = spec.baseImages.map((b) => ({ name: b.name, diffIDs: b.diffIDs, ...(b.digest !== undefined ? { digest: b.digest } : {}) }));
  }
  return checks;
}

function uniqueNames(names: readonly string[], path: string, what: string, errors: PolicyProblem[]): void {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) errors.push({ path: childPath(childPath(path, i), 'name'), message: `the ${what} name ${JSON.stringify(name)} is already used at ${childPath(path, first)}; names must be unique` });
    else seen.set(name, i);
  });
}
