import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTrustedRoot, publicGoodTrustedRoot, verifyBlobBundle, type TrustedRoot } from '@tollgate/core';
import { CONFORMANCE, conformanceCases, type ConformanceCase } from './conformance-cases.js';

const cases = conformanceCases();

async function run(c: ConformanceCase): Promise<{ ok: boolean; why: string }> {
  try {
    const trustedRoot: TrustedRoot = c.trustedRootPath ? loadTrustedRoot(readFileSync(c.trustedRootPath)) : publicGoodTrustedRoot();
    const result = await verifyBlobBundle(readFileSync(c.bundlePath), readFileSync(c.artifactPath), {
      trustedRoot,
      ...(c.keyPath ? { key: readFileSync(c.keyPath, 'utf8') } : { identity: { subject: c.identity, issuer: c.issuer } }),
    });
    return { ok: result.ok, why: result.reasons.join('; ') };
  } catch (error) {
    return { ok: false, why: `threw: ${(error as Error).message}` };
  }
}

describe('sigstore-conformance bundle-verify suite (library)', CONFORMANCE, () => {
  it('has all 70 cases', () => {
    expect(cases.length).toBe(70);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { ok, why } = await run(c);
    expect(ok, why).toBe(c.expectOk);
    if (!c.expectOk) expect(why).not.toBe('');
  });
});
