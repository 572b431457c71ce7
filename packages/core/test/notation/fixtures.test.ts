import { describe, expect, it } from 'vitest';
import { digestOf, verifyNotationEnvelope, type NotationResult } from '@tollgate/core';
import {
  caOptions,
  DOCKER_TARGET,
  fixture,
  fixtureCert,
  NOTATION_GO,
  OCI_TARGET,
  store,
  TEST_ROOT_IDENTITY,
  TIMESTAMP_TARGET,
  x5c,
} from './fixtures.js';
import { NOTATION_SETS } from './generated.js';

function outcome(result: NotationResult, check: string): string | undefined {
  return result.checks.find((c) => c.check === check)?.outcome;
}

describe('notation-go fixtures, verified directly', NOTATION_GO, () => {
  it.each(['strict', 'permissive', 'audit'] as const)('ca_valid_sig_env.json verifies at %s with the subject identity', async (level) => {
    const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, caOptions(level, [TEST_ROOT_IDENTITY]));
    expect(result.ok).toBe(true);
    expect(result.reasons).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.signer?.subject).toBe('CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US');
    expect(result.signer?.signingScheme).toBe('notary.x509');
    expect(result.signer?.expiry).toBe('2120-11-09T07:00:00.000Z');
    expect(result.checks.map((c) => [c.check, c.outcome])).toEqual([
      ['integrity', 'passed'],
      ['authenticity', 'passed'],
      ['expiry', 'passed'],
      ['authenticTimestamp', 'passed'],
      ['revocation', 'passed'],
    ]);
    // sha256 fingerprint of NotationTestRoot.pem (86:DF:80:41:…) is x5c[1]
    expect(result.signer?.chainFingerprints[1]).toMatch(/^86df8041/);
  });

  it('ca_valid_sig_env.json verifies with the wildcard identity, and a partial DN (C, ST, O) matches too', async () => {
    expect((await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, caOptions('strict', ['*']))).ok).toBe(true);
    expect((await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, caOptions('strict', ['x509.subject: C=US, ST=WA, O=Notary']))).ok).toBe(true);
  });

  it('jws_signature.sig verifies against its own self-signed certificate and the OCI manifest it signed', async () => {
    const manifest = fixture('oci-layout-manifest-19dbd2e4.json');
    const target = { digest: digestOf(manifest), size: manifest.byteLength, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    expect(target).toEqual(OCI_TARGET);
    const result = await verifyNotationEnvelope(fixture('jws_signature.sig'), target, { trustStore: store({ ca: [x5c('jws_signature.sig', 0)] }), trustedIdentities: ['*'], level: 'strict' });
    expect(result.ok).toBe(true);
    expect(result.signer?.subject).toBe('CN=alpine,O=Notary,L=Seattle,ST=WA,C=US');
  });

  it('sa_valid_sig_env.json verifies with the signingAuthority store, and is checked at its authentic signing time', async () => {
    const result = await verifyNotationEnvelope(fixture('sa_valid_sig_env.json'), DOCKER_TARGET, {
      trustStore: store({ signingAuthority: [fixtureCert('NotationTestRoot.pem')] }),
      trustedIdentities: [TEST_ROOT_IDENTITY],
      level: 'strict',
    });
    expect(result.ok).toBe(true);
    expect(result.signer?.signingScheme).toBe('notary.x509.signingAuthority');
    expect(result.signer?.signingTime).toBe('2020-11-09T07:00:00.000Z');
    expect(result.checks.find((c) => c.check === 'authenticTimestamp')?.reason).toMatch(/authentic signing time/);
  });

});

for (const set of NOTATION_SETS) describe(`scheme stores (${set.name} fixtures)`, set.options, () => {
  const { fixture, fixtureCert, caOptions } = set;

  it('the wrong scheme store is not trusted: a signingAuthority envelope against a ca store, and a ca envelope against a signingAuthority store', async () => {
    const sa = await verifyNotationEnvelope(fixture('sa_valid_sig_env.json'), DOCKER_TARGET, caOptions('strict'));
    expect(sa.ok).toBe(false);
    expect(sa.reasons.join()).toMatch(/no signingAuthority trust store certificates/);
    const ca = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, {
      trustStore: store({ signingAuthority: [fixtureCert('NotationTestRoot.pem')] }),
      trustedIdentities: ['*'],
      level: 'strict',
    });
    expect(ca.ok).toBe(false);
    expect(ca.reasons.join()).toMatch(/no ca trust store certificates/);
  });
});

for (const set of NOTATION_SETS) describe(`expiry at each level (${set.name} ca_expired_sig_env.json, expiry 2022-07-29)`, set.options, () => {
  const { fixture, caOptions } = set;

  it('strict denies', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, caOptions('strict'));
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual(['expiry: the signature expired at 2022-07-29T23:59:00.000Z']);
    expect(outcome(result, 'integrity')).toBe('passed');
    expect(outcome(result, 'authenticity')).toBe('passed');
  });

  it('permissive passes with a warning', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, caOptions('permissive'));
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(['expiry (logged at permissive): the signature expired at 2022-07-29T23:59:00.000Z']);
    expect(result.checks.find((c) => c.check === 'expiry')).toMatchObject({ outcome: 'failed', action: 'log' });
  });

  it('audit passes, the failure logged', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, caOptions('audit'));
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(['expiry (logged at audit): the signature expired at 2022-07-29T23:59:00.000Z']);
  });

  it('strict with override expiry=log passes; before the expiry time (now option) strict passes', async () => {
    expect((await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, { ...caOptions('strict'), override: { expiry: 'log' } })).ok).toBe(true);
    expect((await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, { ...caOptions('strict'), now: new Date('2022-07-29T23:58:59Z') })).ok).toBe(true);
    expect((await verifyNotationEnvelope(fixture('ca_expired_sig_env.json'), DOCKER_TARGET, { ...caOptions('strict'), now: new Date('2022-07-29T23:59:00Z') })).ok).toBe(false);
  });

  it('skip performs nothing and says so', async () => {
    const result = await verifyNotationEnvelope(Buffer.from('garbage'), DOCKER_TARGET, caOptions('skip'));
    expect(result.ok).toBe(true);
    expect(result.checks.every((c) => c.outcome === 'skipped')).toBe(true);
    expect(result.warnings.join()).toMatch(/skip/);
  });
});

for (const set of NOTATION_SETS) describe(`bypass attempts on the ${set.name} fixtures`, set.options, () => {
  const { fixture, fixtureCert, flipped, caOptions } = set;

  it.each([
    ['digest', { ...DOCKER_TARGET, digest: 'sha256:' + '0'.repeat(64) }],
    ['size', { ...DOCKER_TARGET, size: 529 }],
    ['mediaType', { ...DOCKER_TARGET, mediaType: 'application/vnd.oci.image.manifest.v1+json' }],
  ])('a target whose %s differs from the signed targetArtifact is rejected at every level (CVE-2023-33959 class)', async (_field, target) => {
    for (const level of ['strict', 'permissive', 'audit'] as const) {
      const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), target, caOptions(level));
      expect(result.ok).toBe(false);
      expect(result.reasons.join()).toMatch(/content descriptor mismatch/);
    }
  });

  it.each(['payload', 'protected', 'signature'] as const)('a flipped character of %s is rejected at every level', async (member) => {
    for (const level of ['strict', 'permissive', 'audit'] as const) {
      const result = await verifyNotationEnvelope(flipped('ca_valid_sig_env.json', member, 40), DOCKER_TARGET, caOptions(level));
      expect(result.ok).toBe(false);
      expect(outcome(result, 'integrity')).toBe('failed');
    }
  });

  it('a trust store without the root rejects (strict, permissive); audit only logs authenticity', async () => {
    const options = { trustStore: store({ ca: [fixtureCert('TestTimestamp.crt')] }), trustedIdentities: ['*'] };
    for (const level of ['strict', 'permissive'] as const) {
      const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, { ...options, level });
      expect(result.ok).toBe(false);
      expect(result.reasons.join()).toMatch(/does not contain any certificate of the ca trust store/);
    }
    const audit = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, { ...options, level: 'audit' });
    expect(audit.ok).toBe(true);
    expect(audit.warnings.join()).toMatch(/authenticity \(logged at audit\)/);
  });

  it('an identity that does not match the signer is rejected at strict', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, caOptions('strict', ['x509.subject: C=US, ST=WA, O=Someone Else']));
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/does not match the trusted identities/);
  });

  it('a chain valid now but not at a later verification time fails authenticTimestamp without a TSA', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, { ...caOptions('strict'), override: { expiry: 'log' }, now: new Date('2123-01-01T00:00:00Z') });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/authenticTimestamp: certificate .* had expired at verification time/);
  });
});

for (const set of NOTATION_SETS) describe(`RFC 3161 countersignature (${set.name} jwsWithTimestamp.sig)`, set.options, () => {
  const { fixture, fixtureCert, tsaSubject } = set;
  const options = () => ({
    trustStore: store({ ca: [fixtureCert('TestTimestamp.crt')], tsa: [fixtureCert('tsa-globalsignRoot.cer')] }),
    trustedIdentities: ['*'],
  });

  it('verifies the timestamp against the TSA root; strict with revocation skipped passes', async () => {
    const result = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, { ...options(), level: 'strict', override: { revocation: 'skip' } });
    expect(result.ok).toBe(true);
    expect(result.signer?.timestamp).toBe('2024-06-18T06:29:37.000Z');
    expect(result.checks.find((c) => c.check === 'authenticTimestamp')?.reason).toMatch(new RegExp(tsaSubject, 'i'));
    expect(outcome(result, 'revocation')).toBe('skipped');
  });

  it('at plain strict it fails closed on revocation: the TSA certificates name OCSP/CRL endpoints tollgate does not query', async () => {
    const result = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, { ...options(), level: 'strict' });
    expect(result.ok).toBe(false);
    expect(outcome(result, 'authenticTimestamp')).toBe('passed');
    expect(result.checks.find((c) => c.check === 'revocation')).toMatchObject({ outcome: 'not-performed', action: 'enforce' });
    const permissive = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, { ...options(), level: 'permissive' });
    expect(permissive.ok).toBe(true);
    expect(permissive.warnings.join()).toMatch(/revocation \(logged at permissive\).*cannot be determined/);
  });

  it('the timestamp proves the signing time after the signing certificate expires (alpine cert ends 2033)', async () => {
    const later = new Date('2040-01-01T00:00:00Z');
    const withTsa = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, { ...options(), level: 'strict', override: { revocation: 'skip' }, now: later });
    expect(withTsa.ok).toBe(true);
    const withoutTsa = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, {
      trustStore: store({ ca: [fixtureCert('TestTimestamp.crt')] }),
      trustedIdentities: ['*'],
      level: 'strict',
      override: { revocation: 'skip' },
      now: later,
    });
    expect(withoutTsa.ok).toBe(false);
    expect(withoutTsa.reasons.join()).toMatch(/had expired at verification time/);
    // verifyTimestamp afterCertExpiry: while the chain is valid the timestamp is not needed
    const after = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, {
      ...options(),
      level: 'strict',
      override: { revocation: 'skip' },
      verifyTimestamp: 'afterCertExpiry',
      now: new Date('2025-01-01T00:00:00Z'),
    });
    expect(after.ok).toBe(true);
    expect(after.signer?.timestamp).toBeUndefined();
  });

  it('the timestamp must chain to the tsa store: another root is rejected', async () => {
    const result = await verifyNotationEnvelope(fixture('jwsWithTimestamp.sig'), TIMESTAMP_TARGET, {
      trustStore: store({ ca: [fixtureCert('TestTimestamp.crt')], tsa: [fixtureCert('NotationTestRoot.pem')] }),
      trustedIdentities: ['*'],
      level: 'strict',
      override: { revocation: 'skip' },
    });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/does not chain to a trusted TSA root/);
  });

  it('a tsa store with an envelope without a countersignature fails authenticTimestamp at strict', async () => {
    const result = await verifyNotationEnvelope(fixture('ca_valid_sig_env.json'), DOCKER_TARGET, {
      trustStore: store({ ca: [fixtureCert('NotationTestRoot.pem')], tsa: [fixtureCert('tsa-globalsignRoot.cer')] }),
      trustedIdentities: ['*'],
      level: 'strict',
    });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/no timestamp countersignature/);
  });

  it('a countersignature moved onto another signature is rejected (message imprint mismatch)', async () => {
    const stamped = JSON.parse(fixture('jwsWithTimestamp.sig').toString('utf8'));
    const other = JSON.parse(fixture('ca_valid_sig_env.json').toString('utf8'));
    other.header['io.cncf.notary.timestampSignature'] = stamped.header['io.cncf.notary.timestampSignature'];
    const result = await verifyNotationEnvelope(Buffer.from(JSON.stringify(other)), DOCKER_TARGET, {
      trustStore: store({ ca: [fixtureCert('NotationTestRoot.pem')], tsa: [fixtureCert('tsa-globalsignRoot.cer')] }),
      trustedIdentities: ['*'],
      level: 'strict',
      override: { revocation: 'skip' },
    });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/message imprint mismatch/);
  });

  it('a corrupted countersignature is rejected with a clear reason', async () => {
    const stamped = JSON.parse(fixture('jwsWithTimestamp.sig').toString('utf8'));
    const token = Buffer.from(stamped.header['io.cncf.notary.timestampSignature'], 'base64');
    for (const corrupt of [token.subarray(0, token.length - 10), Buffer.concat([token, Buffer.from([0])]), Buffer.from('not der at all')]) {
      stamped.header['io.cncf.notary.timestampSignature'] = corrupt.toString('base64');
      const result = await verifyNotationEnvelope(Buffer.from(JSON.stringify(stamped)), TIMESTAMP_TARGET, {
        ...options(),
        level: 'strict',
        override: { revocation: 'skip' },
      });
      expect(result.ok).toBe(false);
      expect(result.reasons.join()).toMatch(/authenticTimestamp: the timestamp countersignature/);
    }
    // a flipped byte inside the signed TSTInfo (genTime) breaks the CMS message digest
    const flippedToken = Buffer.from(token);
    const at = flippedToken.indexOf(Buffer.from('20240618'));
    expect(at).toBeGreaterThan(0);
    flippedToken[at + 3] = 0x35; // 2025…
    stamped.header['io.cncf.notary.timestampSignature'] = flippedToken.toString('base64');
    const result = await verifyNotationEnvelope(Buffer.from(JSON.stringify(stamped)), TIMESTAMP_TARGET, { ...options(), level: 'strict', override: { revocation: 'skip' } });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/message-digest attribute that does not match|was altered/);
  });
});
