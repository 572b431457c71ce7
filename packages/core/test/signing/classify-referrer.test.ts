import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classifyReferrer, referrerKind, type Descriptor } from '@tollgate/core';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const PREDICATE = 'dev.sigstore.bundle.predicateType';
const CONTENT = 'dev.sigstore.bundle.content';
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
const SLSA = 'https://slsa.dev/provenance/v1';

const d = (artifactType: string | undefined, annotations?: Record<string, string>): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'a'.repeat(64)}`,
  size: 1,
  ...(artifactType ? { artifactType } : {}),
  ...(annotations ? { annotations } : {}),
});

describe('classifyReferrer', () => {
  it('sorts referrers by artifactType and annotations', () => {
    expect(classifyReferrer(d(BUNDLE, { [PREDICATE]: COSIGN_SIGN })).kind).toBe('signature');
    expect(classifyReferrer(d(BUNDLE))).toEqual({ kind: 'signature' });
    expect(classifyReferrer(d(BUNDLE, { [PREDICATE]: SLSA }))).toEqual({ kind: 'attestation', predicateType: SLSA });
    expect(classifyReferrer(d('application/vnd.cncf.notary.signature')).kind).toBe('notation-signature');
    for (const sbom of ['application/spdx+json', 'text/spdx', 'application/vnd.cyclonedx+json', 'application/vnd.cyclonedx+xml', 'application/vnd.syft+json']) expect(classifyReferrer(d(sbom)).kind).toBe('sbom');
    for (const other of ['application/vnd.example+json', 'application/spdxish', undefined]) expect(classifyReferrer(d(other)).kind).toBe('other');
  });

  it('a bundle holding a message signature is a signature whatever predicate type is annotated', () => {
    expect(classifyReferrer(d(BUNDLE, { [CONTENT]: 'message-signature', [PREDICATE]: SLSA })).kind).toBe('signature');
    expect(classifyReferrer(d(BUNDLE, { [CONTENT]: 'dsse-envelope', [PREDICATE]: SLSA })).kind).toBe('attestation');
  });
});

describe('referrerKind (copy --only)', () => {
  it('speaks cosign: both kinds of signature are sig', () => {
    expect(referrerKind(d(BUNDLE))).toBe('sig');
    expect(referrerKind(d('application/vnd.cncf.notary.signature'))).toBe('sig');
    expect(referrerKind(d(BUNDLE, { [PREDICATE]: SLSA }))).toBe('att');
    expect(referrerKind(d('application/spdx+json'))).toBe('sbom');
    expect(referrerKind(d('application/vnd.example+json'))).toBe('other');
  });

  it('selects a message-signature bundle as sig (copy --only sig must not drop a signature tree shows)', () => {
    expect(referrerKind(d(BUNDLE, { [CONTENT]: 'message-signature', [PREDICATE]: SLSA }))).toBe('sig');
  });

  it('agrees with classifyReferrer on any descriptor', () => {
    const text = (known: string[]) => fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 40 }));
    const artifactType = fc.option(
      text([BUNDLE, 'application/vnd.dev.sigstore.bundle+json;version=0.2', 'application/vnd.cncf.notary.signature', 'application/spdx+json', 'text/spdx', 'application/vnd.cyclonedx+xml', 'application/vnd.syft+json', 'application/spdxish']),
      { nil: undefined },
    );
    const annotations = fc.option(
      fc.record({ [PREDICATE]: text([COSIGN_SIGN, SLSA, '']), [CONTENT]: text(['message-signature', 'dsse-envelope']) }, { requiredKeys: [] }),
      { nil: undefined },
    );
    const expected = { signature: 'sig', 'notation-signature': 'sig', attestation: 'att', sbom: 'sbom', other: 'other' } as const;
    fc.assert(
      fc.property(artifactType, annotations, (type, notes) => {
        const descriptor = d(type, notes);
        expect(referrerKind(descriptor)).toBe(expected[classifyReferrer(descriptor).kind]);
      }),
      { numRuns: 2000 },
    );
  });
});
