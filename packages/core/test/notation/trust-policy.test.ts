import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTollgateError, levelActions, parseTrustPolicy, selectTrustPolicy } from '@tollgate/core';

// The second example of the Notary Project trust-store-trust-policy.md, as notation users write it.
const SPEC_EXAMPLE = {
  version: '1.0',
  trustPolicies: [
    {
      name: 'wabbit-networks-images',
      registryScopes: ['registry.acme-rockets.io/software/net-monitor', 'registry.acme-rockets.io/software/net-logger'],
      signatureVerification: { level: 'strict' },
      trustStores: ['ca:wabbit-networks'],
      trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=wabbit-networks.io, OU=Security Tools'],
    },
    { name: 'unsigned-image', registryScopes: ['registry.wabbit-networks.io/software/unsigned/net-utils'], signatureVerification: { level: 'skip' } },
    {
      name: 'use-expired-image',
      registryScopes: ['registry.acme-rockets.io/software/legacy/metrics'],
      signatureVerification: { level: 'strict', override: { expiry: 'log', revocation: 'skip' } },
      trustStores: ['ca:acme-rockets'],
      trustedIdentities: ['*'],
    },
    {
      name: 'global-policy-for-all-other-images',
      registryScopes: ['*'],
      signatureVerification: { level: 'audit', verifyTimestamp: 'afterCertExpiry' },
      trustStores: ['ca:acme-rockets', 'ca:acme-rockets-ca2', 'tsa:stamps'],
      trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=acme-rockets.io, OU=Finance, CN=SecureBuilder'],
    },
  ],
};

function withPolicy(mutate: (p: Record<string, unknown>) => void): string {
  const doc = structuredClone(SPEC_EXAMPLE) as unknown as { trustPolicies: Record<string, unknown>[] };
  mutate(doc.trustPolicies[0]!);
  return JSON.stringify(doc);
}

describe('parseTrustPolicy', () => {
  it('reads the specification example and selects policies by exact scope, then global', () => {
    const policy = parseTrustPolicy(JSON.stringify(SPEC_EXAMPLE));
    expect(policy.trustPolicies).toHaveLength(4);
    expect(selectTrustPolicy(policy, 'registry.acme-rockets.io/software/net-monitor')?.name).toBe('wabbit-networks-images');
    expect(selectTrustPolicy(policy, 'registry.wabbit-networks.io/software/unsigned/net-utils')?.signatureVerification.level).toBe('skip');
    expect(selectTrustPolicy(policy, 'registry.acme-rockets.io/software/legacy/metrics')?.signatureVerification.override).toEqual({ expiry: 'log', revocation: 'skip' });
    expect(selectTrustPolicy(policy, 'docker.io/library/nginx')?.name).toBe('global-policy-for-all-other-images');
    const noGlobal = parseTrustPolicy({ ...SPEC_EXAMPLE, trustPolicies: SPEC_EXAMPLE.trustPolicies.slice(0, 3) });
    expect(selectTrustPolicy(noGlobal, 'docker.io/library/nginx')).toBeUndefined();
  });

  it('levels map to the specification table, with overrides', () => {
    expect(levelActions('strict')).toEqual({ integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' });
    expect(levelActions('permissive')).toEqual({ integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' });
    expect(levelActions('audit')).toEqual({ integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' });
    expect(levelActions('strict', { expiry: 'log', revocation: 'skip' })).toMatchObject({ expiry: 'log', revocation: 'skip', authenticity: 'enforce' });
  });

  it.each([
    ['unknown top-level key', JSON.stringify({ ...SPEC_EXAMPLE, extra: 1 }), /unknown key "extra"/],
    ['version 2.0', JSON.stringify({ ...SPEC_EXAMPLE, version: '2.0' }), /version: "2.0" is not supported/],
    ['no policies', JSON.stringify({ version: '1.0', trustPolicies: [] }), /non-empty array/],
    ['unknown policy key', withPolicy((p) => (p.trustStore = ['ca:x'])), /unknown key "trustStore"/],
    ['bad level', withPolicy((p) => (p.signatureVerification = { level: 'lenient' })), /"lenient" is not one of strict, permissive, audit, skip/],
    ['missing level', withPolicy((p) => (p.signatureVerification = {})), /level: missing is not one of/],
    ['override integrity', withPolicy((p) => (p.signatureVerification = { level: 'strict', override: { integrity: 'log' } })), /integrity cannot be overridden/],
    ['override unknown', withPolicy((p) => (p.signatureVerification = { level: 'strict', override: { freshness: 'log' } })), /unknown check "freshness"/],
    ['override bad value', withPolicy((p) => (p.signatureVerification = { level: 'strict', override: { expiry: 'skip' } })), /must be one of enforce, log/],
    ['bad verifyTimestamp', withPolicy((p) => (p.signatureVerification = { level: 'strict', verifyTimestamp: 'never' })), /verifyTimestamp/],
    ['bad store type', withPolicy((p) => (p.trustStores = ['root:x'])), /is not \{ca\|signingAuthority\|tsa\}:<name>/],
    ['store without name', withPolicy((p) => (p.trustStores = ['ca'])), /is not \{ca/],
    ['store with path', withPolicy((p) => (p.trustStores = ['ca:../../etc'])), /is not \{ca/],
    ['no trust stores', withPolicy((p) => delete p.trustStores), /trustStores: must be an array of strings/],
    ['identity without prefix', withPolicy((p) => (p.trustedIdentities = ['C=US, ST=WA, O=x'])), /is not "\*" or "x509.subject/],
    ['identity without ST', withPolicy((p) => (p.trustedIdentities = ['x509.subject: C=US, O=x'])), /must contain C, ST and O \(missing ST\)/],
    ['wildcard with others', withPolicy((p) => (p.trustedIdentities = ['*', 'x509.subject: C=US, ST=WA, O=x'])), /wildcard "\*" must be the only/],
    ['overlapping identities', withPolicy((p) => (p.trustedIdentities = ['x509.subject: C=US, ST=WA, O=x, OU=a', 'x509.subject: C=US, ST=WA, O=x'])), /overlap/],
    ['multi-valued RDN', withPolicy((p) => (p.trustedIdentities = ['x509.subject: C=US+ST=WA, O=x'])), /multi-valued RDN/],
    ['scope with wildcard', withPolicy((p) => (p.registryScopes = ['registry.example/*'])), /contains "\*"/],
    ['scope not qualified', withPolicy((p) => (p.registryScopes = ['nginx'])), /not a fully qualified repository/],
    ['scope with tag', withPolicy((p) => (p.registryScopes = ['registry.example/app:latest'])), /not a fully qualified repository/],
    ['global plus other scope', withPolicy((p) => (p.registryScopes = ['*', 'registry.example/app'])), /must be the only scope/],
    ['duplicate scope', withPolicy((p) => (p.registryScopes = ['registry.acme-rockets.io/software/legacy/metrics'])), /is in both/],
    ['two globals', withPolicy((p) => (p.registryScopes = ['*'])), /both use the global scope/],
    ['duplicate name', withPolicy((p) => (p.name = 'unsigned-image')), /two policies are named "unsigned-image"/],
    ['skip with trust material', withPolicy((p) => (p.signatureVerification = { level: 'skip' })), /a skip policy must not name trust stores/],
    ['skip with override', withPolicy((p) => (p.signatureVerification = { level: 'skip', override: { expiry: 'log' } })), /skip level cannot be customised/],
    ['truncated JSON', JSON.stringify(SPEC_EXAMPLE).slice(0, 50), /trust policy/],
    ['duplicate keys', '{"version":"1.0","version":"1.0","trustPolicies":[]}', /duplicate/i],
  ])('rejects %s', (_name, input, pattern) => {
    expect(() => parseTrustPolicy(input)).toThrow(pattern);
    try {
      parseTrustPolicy(input);
    } catch (error) {
      expect(isTollgateError(error, 'INVALID_POLICY')).toBe(true);
    }
  });

  it('an oversize document is refused before parsing', () => {
    const big = JSON.stringify({ ...SPEC_EXAMPLE, pad: 'x'.repeat(1024 * 1024) });
    expect(() => parseTrustPolicy(big)).toThrow(/1048576|larger|limit/);
  });

  it('a skip policy cannot be global', () => {
    const doc = { version: '1.0', trustPolicies: [{ name: 'skip-all', registryScopes: ['*'], signatureVerification: { level: 'skip' } }] };
    expect(() => parseTrustPolicy(doc)).toThrow(/skip policy cannot use the global scope/);
  });

  it('escaped commas in identities are one value', () => {
    const doc = structuredClone(SPEC_EXAMPLE);
    doc.trustPolicies[0]!.trustedIdentities = ['x509.subject: C=US, ST=WA, O=Acme\\, Inc.'];
    expect(() => parseTrustPolicy(doc)).not.toThrow();
  });

  it('fuzz: arbitrary JSON and text only ever raise INVALID_POLICY', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.string({ maxLength: 200 })), (value) => {
        try {
          parseTrustPolicy(typeof value === 'string' ? value : JSON.stringify(value) ?? 'null');
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_POLICY')).toBe(true);
        }
      }),
      { numRuns: 400, seed: 4514 },
    );
  });
});
