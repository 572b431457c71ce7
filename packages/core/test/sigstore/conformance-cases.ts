import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestOptions } from 'vitest';
import { needsShared, REPO_ROOT, SHARED_DIR } from '../../../../test/support/shared.js';

/** The repository root; shared data lives beside it in ../shared and is read in place, never copied. */
export { REPO_ROOT };
export const SHARED = SHARED_DIR;
export const CONFORMANCE_DIR = join(SHARED, 'conformance', 'sigstore-bundle-verify');
export const FIXTURES = join(SHARED, 'fixtures');

/** Options for tests that read the conformance suite: skipped, with the reason, without ../shared. */
export const CONFORMANCE: TestOptions = withoutCases(needsShared('conformance/sigstore-bundle-verify'));

/** Without the suite its cases cannot even be listed: say so, or the skip count would look smaller than it is. */
function withoutCases(options: TestOptions): TestOptions {
  const reason = options.meta?.skipReason;
  return reason === undefined ? options : { ...options, meta: { skipReason: `${reason} (its 70 cases, each run by the library and the CLI, are not counted in this number)` } };
}

export const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
export const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

/** `_fail` cases whose failure lies in the trust material the case supplies, which tollgate refuses as input (exit 2), not as a failed verification. */
export const TRUST_MATERIAL_FAILURES: ReadonlySet<string> = new Set(['trust-root-tlog-missing-validity-start_fail', 'managed-key-wrong-key_fail']);

export interface ConformanceCase {
  name: string;
  expectOk: boolean;
  bundlePath: string;
  artifactPath: string;
  keyPath?: string;
  trustedRootPath?: string;
  identity: string;
  issuer: string;
}

/**
 * The cases of the sigstore-conformance bundle-verify suite, parametrised as its README says: `bundle.sigstore.json`,
 * optional `artifact` (else ../a.txt), `identity`, `issuer`, `key.pub` (verify with the key instead of OIDC) and
 * `trusted_root.json` (else the public-good production root, which tollgate embeds). None without ../shared.
 */
export function conformanceCases(): ConformanceCase[] {
  if (!existsSync(CONFORMANCE_DIR)) return [];
  return readdirSync(CONFORMANCE_DIR)
    .filter((name) => statSync(join(CONFORMANCE_DIR, name)).isDirectory())
    .sort()
    .map((name) => {
      const dir = join(CONFORMANCE_DIR, name);
      const optional = (file: string) => (existsSync(join(dir, file)) ? join(dir, file) : undefined);
      const text = (file: string) => {
        const path = optional(file);
        return path ? readFileSync(path, 'utf8').trim() : undefined;
      };
      return {
        name,
        expectOk: !name.endsWith('_fail'),
        bundlePath: join(dir, 'bundle.sigstore.json'),
        artifactPath: optional('artifact') ?? join(CONFORMANCE_DIR, 'a.txt'),
        keyPath: optional('key.pub'),
        trustedRootPath: optional('trusted_root.json'),
        identity: text('identity') ?? DEFAULT_IDENTITY,
        issuer: text('issuer') ?? DEFAULT_ISSUER,
      };
    });
}
