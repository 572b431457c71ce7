import { dirname, resolve } from 'node:path';
import { TollgateError } from '../../errors/tollgate-error.js';
import { compilePolicy, type CompilePolicyOptions } from './compile-policy.js';
import type { LoadedPolicy } from './compiled.js';
import { MAX_POLICY_BYTES } from './parse-yaml.js';
import { summarizeProblems } from './problems.js';
import { readFileBounded } from './read-policy-file.js';

/**
 * Loads a policy from its bytes. Any problem — YAML that does not parse, a duplicate or unknown key, a key file
 * that cannot be read, a CEL expression that does not compile — throws INVALID_POLICY naming every JSON path
 * (the first few in the message): a policy that is not entirely understood is never used.
 */
export async function loadPolicy(bytes: Uint8Array, options: CompilePolicyOptions = {}): Promise<LoadedPolicy> {
  const result = await compilePolicy(bytes, options);
  if (!result.policy) {
    const source = options.source ?? 'the policy';
    throw new TollgateError('INVALID_POLICY', `${source} is invalid (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}): ${summarizeProblems(result.errors)}; fix it (\`tollgate policy lint\` lists every problem)`);
  }
  return result.policy;
}

/** Loads a policy file; key and certificate paths in it are relative to its directory. */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  const full = resolve(path);
  const bytes = await readFileBounded(full, MAX_POLICY_BYTES, 'policy file');
  return loadPolicy(bytes, { baseDir: dirname(full), source: path });
}
