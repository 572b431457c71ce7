import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendLegacyLayer,
  attestImage,
  createSignatureVerifier,
  legacyLayerFromBundle,
  evaluatePolicy,
  loadPolicy,
  loadTrustedRoot,
  openImage,
  policyImageFrom,
  signatureLocationOf,
  signImage,
  type LoadedPolicy,
  type PolicyVerdict,
  type TrustedRoot,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../../test/support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../../../../../test/support/sigstore-mock.js';
import { clientFor, pushNotationSignature, pushTestImage } from '../../notation/registry-helpers.js';
import { rsaKey, signEnvelope, simplePki } from '../../notation/pki.js';
import { newKey } from '../../signing/helpers.js';
import { yaml } from '../support.js';

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let trustedRoot: TrustedRoot;

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  trustedRoot = loadTrustedRoot(sigstore.trustedRootJson, 'mock trusted root');
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), sigstore?.stop()]);
});

const failures = (verdict: PolicyVerdict) => verdict.findings.filter((f) => !f.passed).map((f) => `${f.name}: ${f.reason}`).join('\n');

async function evaluate(ref: string, policy: LoadedPolicy, root: TrustedRoot | 'public-good' = trustedRoot): Promise<PolicyVerdict> {
  const opened = await openImage(`docker://${ref}`);
  try {
    const [host, ...rest] = ref.split('/');
    const image = await policyImageFrom(opened, { registry: host!, repository: rest.join('/').replace(/[:@].*$/, '') });
    return await evaluatePolicy(image, policy, { verifier: createSignatureVerifier({ signatures: signatureLocationOf(opened.source)!, ...(root !== 'public-good' ? { trustedRoot: root } : {}) }) });
  } finally {
    await opened.source.close?.();
  }
}

const rule = (authorities: string) => loadPolicy(yaml(`rules:\n  - name: apps\n    images: ["127.0.0.1:*/**"]\n    authorities:\n${authorities}`));

describe('createSignatureVerifier against a real registry', () => {
  it('keyless: the exact identity passes; an identity regexp that only matches a prefix of the SAN is denied', async () => {
    const image = await pushTestImage(registry, 'keyless/app', 'v1', 'keyless');
    await signImage(`${registry.host}/keyless/app:v1`, { identityToken: sigstore.mintToken('alice@example.com'), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl }, { client: clientFor(registry) });
    const ref = `${registry.host}/keyless/app@${image.digest}`;
    const exact = await evaluate(ref, await rule(`      - name: ci\n        keyless: {issuer: ${JSON.stringify(sigstore.issuer)}, subject: alice@example.com}\n`));
    expect(exact.decision, failures(exact)).toBe('allow');
    expect(exact.findings.find((f) => f.name === 'apps/authorities/ci')!.reason).toContain(`${sigstore.issuer} alice@example.com`);

    const prefix = await evaluate(ref, await rule(`      - name: ci\n        keyless: {issuer: ${JSON.stringify(sigstore.issuer)}, subjectRegexp: 'alice@example'}\n`));
    expect(prefix.decision).toBe('deny');
    expect(failures(prefix)).toMatch(/does not match/);

    // Without the mock's trusted root (public good by default) the mock Fulcio is not trusted.
    const publicGood = await evaluate(ref, await rule(`      - name: ci\n        keyless: {issuer: ${JSON.stringify(sigstore.issuer)}, subject: alice@example.com}\n`), 'public-good');
    expect(publicGood.decision).toBe('deny');
  });

  it('a key with the transparency log required passes when the log entry verifies against the trusted root', async () => {
    const key = newKey();
    const image = await pushTestImage(registry, 'keyed/app', 'v1', 'keyed with rekor');
    await signImage(`${registry.host}/keyed/app:v1`, { key: key.key, rekorUrl: sigstore.rekorUrl }, { client: clientFor(registry) });
    const verdict = await evaluate(`${registry.host}/keyed/app@${image.digest}`, await rule(`      - name: release\n        key: {pem: ${JSON.stringify(key.publicPem)}}\n`));
    expect(verdict.decision, failures(verdict)).toBe('allow');
  });

  it('keyless attestations count identities, not authorities nor certificates (issue 10, item 3)', async () => {
    const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
    const image = await pushTestImage(registry, 'keyless/scanned', 'v1', 'keyless attestations');
    const client = clientFor(registry);
    const ref = `${registry.host}/keyless/scanned@${image.digest}`;
    const attest = (who: string) =>
      attestImage(ref, { identityToken: sigstore.mintToken(who), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl }, { client, predicateType: VULN, predicate: { scanner: { result: [] } } });
    const issuer = JSON.stringify(sigstore.issuer);
    // Two patterns that alice's certificate both satisfies, and a third authority for bob.
    const policy = await loadPolicy(
      yaml(`rules:
  - name: apps
    images: ["127.0.0.1:*/**"]
    attestations:
      - name: vulns
        predicateType: ${VULN}
        threshold: 2
        authorities:
          - {name: exact, keyless: {issuer: ${issuer}, subject: alice@example.com}}
          - {name: pattern, keyless: {issuer: ${issuer}, subjectRegexp: '(alice|carol)@example\\.com'}}
          - {name: bob, keyless: {issuer: ${issuer}, subject: bob@example.com}}
        conditions: [{expression: "!predicate.scanner.result.exists(v, v.severity == 'CRITICAL')"}]
`),
    );
    const attestation = (verdict: PolicyVerdict) => verdict.findings.find((f) => f.kind === 'attestation')!.reason;

    // alice attests twice (two Fulcio certificates, two keys), and the first bundle is also stored under cosign's
    // legacy .att tag: four verified attestations, one signer.
    const first = await attest('alice@example.com');
    await attest('alice@example.com');
    await appendLegacyLayer(client, 'keyless/scanned', image.digest, 'att', legacyLayerFromBundle('att', undefined, first.bundle as Parameters<typeof legacyLayerFromBundle>[2], VULN));
    const alice = await evaluate(ref, policy);
    expect(alice.decision, failures(alice)).toBe('deny');
    expect(attestation(alice)).toMatch(/^1 of 3 authorities vouch for .* with distinct signers \(2 vouch, but some only through a signer already counted\); 2 required$/);
    expect(alice.findings.find((f) => f.kind === 'authority' && f.name === 'apps/attestations/vulns/pattern')!.reason).toContain(`${sigstore.issuer} alice@example.com`);
    const opened = await openImage(`docker://${ref}`);
    try {
      const policyImage = await policyImageFrom(opened, { registry: registry.host, repository: 'keyless/scanned' });
      const verified = await createSignatureVerifier({ signatures: signatureLocationOf(opened.source)!, trustedRoot }).verifiedAttestations(policyImage, VULN, policy.rules[0]!.attestations[0]!.authorities[0]!);
      expect(verified.statements).toHaveLength(3);
      expect(new Set(verified.statements.map((s) => s.signer))).toEqual(new Set([`${sigstore.issuer} alice@example.com`]));
    } finally {
      await opened.source.close?.();
    }

    await attest('bob@example.com');
    const both = await evaluate(ref, policy);
    expect(both.decision, failures(both)).toBe('allow');
    expect(attestation(both)).toMatch(/^2 of 3 authorities vouch/);
  });

  it('notation: a signature chaining to the trust store with a trusted identity passes; another identity or signer does not', async () => {
    const pki = simplePki();
    const image = await pushTestImage(registry, 'notary/app', 'v1', 'notation');
    const client = clientFor(registry);
    const notation = (identity: string) =>
      rule(`      - name: notary\n        notation:\n          trustStore: [{pem: ${JSON.stringify(pki.root.toString())}}]\n          trustedIdentities: [${JSON.stringify(identity)}]\n`);
    const ref = `${registry.host}/notary/app@${image.digest}`;
    const none = await evaluate(ref, await notation('x509.subject: C=US, ST=WA, O=tollgate-test, CN=Test Signer'));
    expect(failures(none)).toMatch(/no notation signature is associated/);

    await pushNotationSignature(client, 'notary/app', image, signEnvelope({ key: rsaKey(), alg: 'PS256', chain: [pki.leaf, pki.root], target: image }));
    const forged = await evaluate(ref, await notation('x509.subject: C=US, ST=WA, O=tollgate-test, CN=Test Signer'));
    expect(forged.decision).toBe('deny');
    expect(failures(forged)).toMatch(/JWS signature does not verify/);

    await pushNotationSignature(client, 'notary/app', image, signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: image }));
    const ok = await evaluate(ref, await notation('x509.subject: C=US, ST=WA, O=tollgate-test, CN=Test Signer'));
    expect(ok.decision, failures(ok)).toBe('allow');
    expect(ok.findings.find((f) => f.name === 'apps/authorities/notary')!.reason).toContain('CN=Test Signer');

    const wrongIdentity = await evaluate(ref, await notation('x509.subject: C=US, ST=WA, O=tollgate-test, CN=Someone Else'));
    expect(wrongIdentity.decision).toBe('deny');
  });
});
