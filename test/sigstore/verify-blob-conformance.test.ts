import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { CONFORMANCE, conformanceCases, TRUST_MATERIAL_FAILURES } from '../../packages/core/test/sigstore/conformance-cases.js';

/**
 * Every case of the sigstore-conformance bundle-verify suite through `tollgate verify-blob`, as the conformance
 * harness drives cosign: a passing case must exit 0 with "Verified OK"; a `_fail` case must exit 1 (2 for the two
 * whose supplied trust material — a root without a validity start, a key that does not parse — is refused as input).
 * Cases without their own trusted_root.json use tollgate's embedded public-good root (no --trusted-root).
 */
const cases = conformanceCases();

describe.concurrent('tollgate verify-blob over the sigstore-conformance suite', CONFORMANCE, () => {
  it('has all 70 cases', () => {
    expect(cases.length).toBe(70);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const args = ['verify-blob', c.artifactPath, '--bundle', c.bundlePath];
    if (c.keyPath) args.push('--key', c.keyPath);
    else args.push('--certificate-identity', c.identity, '--certificate-oidc-issuer', c.issuer);
    if (c.trustedRootPath) args.push('--trusted-root', c.trustedRootPath);
    else args.push('--offline'); // the embedded public-good root, no TUF round trip
    const result = await runCli(args);
    const expected = c.expectOk ? 0 : TRUST_MATERIAL_FAILURES.has(c.name) ? 2 : 1;
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(expected);
    if (c.expectOk) expect(result.stdout).toBe('Verified OK\n');
    else expect(result.stderr).toMatch(/^Error: .+/);
  });
});
