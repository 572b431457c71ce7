import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSignatureVerifier,
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
