import { describe, expect, it } from 'vitest';
import { OciLayoutSource } from '@tollgate/core';
import { allowAllGate, allowListGate, gateFromConfig, type GateRequest } from '../src/index.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const request = (over: Partial<GateRequest>): GateRequest => ({
  upstream: 'hub',
  repository: 'library/alpine',
  reference: 'latest',
  digest: d('a'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  manifest: new Uint8Array(),
  source: new OciLayoutSource('/nonexistent'),
  ...over,
});

describe('gates', () => {
  it('allowAllGate admits everything and says it verifies nothing', async () => {
    const verdict = await allowAllGate.evaluate(request({}));
    expect(verdict.decision).toBe('allow');
    expect(verdict.reasons[0]).toMatch(/no verification/);
  });

  it('allowListGate admits pinned digests per upstream/repository, and children of a pinned index', async () => {
    const gate = allowListGate({ 'hub/library/alpine': [d('a')] });
    expect((await gate.evaluate(request({}))).decision).toBe('allow');
    const other = await gate.evaluate(request({ digest: d('b') }));
    expect(other).toMatchObject({ decision: 'deny', rule: 'digest-pin', policyRevision: gate.revision });
    expect(other.reasons[0]).toContain('not among the 1 digest(s) pinned');
    expect((await gate.evaluate(request({ repository: 'library/busybox' }))).reasons[0]).toContain('no digests are allowed for hub/library/busybox');
    expect((await gate.evaluate(request({ upstream: 'ghcr' }))).decision).toBe('deny');
    expect((await gate.evaluate(request({ digest: d('c'), parents: [d('a')] }))).decision).toBe('allow');
    expect((await gate.evaluate(request({ digest: d('c'), parents: [d('e')] }))).decision).toBe('deny');
  });

  it('a different list is a different revision; the same list in another order is not', () => {
    const a = allowListGate({ 'hub/x': [d('a'), d('b')], 'hub/y': [d('c')] });
    const b = allowListGate({ 'hub/y': [d('c')], 'hub/x': [d('b'), d('a')] });
    const c = allowListGate({ 'hub/x': [d('a')] });
    expect(a.revision).toBe(b.revision);
    expect(a.revision).not.toBe(c.revision);
  });

  it('refuses malformed digests in the list', () => {
    expect(() => allowListGate({ 'hub/x': ['sha256:NOPE'] })).toThrow(/digest/);
  });

  it('gateFromConfig builds the configured gate, or none', () => {
    expect(gateFromConfig(undefined)).toBeUndefined();
    expect(gateFromConfig({ kind: 'allow-all' })).toBe(allowAllGate);
    expect(gateFromConfig({ kind: 'allow-digests', allowDigests: { 'hub/x': [d('a')] } })!.revision).toMatch(/^digest-pin:/);
  });
});
