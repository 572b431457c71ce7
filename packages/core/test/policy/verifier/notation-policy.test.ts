/**
 * Notation authorities in a policy, against a real registry (docker-registry 2.8, referrers tag schema), with
 * certificates and envelopes made here (issue 10, items 3 and 4):
 *  - a policy's notation trust store is one type — `ca` by default — never both `ca` and `signingAuthority`: a
 *    CA's signer cannot use the signing-authority scheme to back-date an expired certificate;
 *  - thresholds over notation authorities count distinct signers: one certificate trusted by two authorities, or
 *    one key certified under two subjects, or a notation certificate for a cosign key, is one signer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSignatureVerifier,
  evaluatePolicy,
  generateKeyPair,
  loadPolicy,
  openImage,
  policyImageFrom,
  publicKeyId,
  publicVerificationKey,
  signatureLocationOf,
  signImage,
  verifyNotationImage,
  type Descriptor,
  type LoadedPolicy,
  type PolicyVerdict,
  type RegistryClient,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../../test/support/registry.js';
import { makeCert, rsaKey, signEnvelope, type TestKey } from '../../notation/pki.js';
import { clientFor, pushNotationSignature, pushTestImage } from '../../notation/registry-helpers.js';
import { yaml } from '../support.js';

const DAY = 24 * 60 * 60 * 1000;
const CODE_SIGNING = ['1.3.6.1.5.5.7.3.3'];
const identity = (cn: string) => `x509.subject: C=US, ST=WA, O=tollgate-test, CN=${cn}`;

let registry: RunningRegistry;
let client: RegistryClient;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  client = clientFor(registry);
  dir = await mkdtemp(join(tmpdir(), 'tollgate-notation-policy-'));
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function ca(cn: string): { cert: ReturnType<typeof makeCert>; key: TestKey } {
  const key = rsaKey();
  return { cert: makeCert({ cn, key, ca: true }), key };
}

function leaf(cn: string, issuer: { cert: ReturnType<typeof makeCert>; key: TestKey }, key: TestKey = rsaKey(), validity: { notBefore?: Date; notAfter?: Date } = {}) {
  return { cert: makeCert({ cn, key, issuer, eku: CODE_SIGNING, ...validity }), key };
}

/** A notary.x509 envelope (signingTime, the signer's own claim) over `target`. */
function caEnvelope(signer: { cert: ReturnType<typeof makeCert>; key: TestKey }, root: ReturnType<typeof makeCert>, target: Descriptor, signingTime = new Date()): Buffer {
  const alg = signer.key.publicKey.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256';
  return signEnvelope({ key: signer.key, alg, chain: [signer.cert, root], target, protected: { 'io.cncf.notary.signingTime': signingTime.toISOString().replace(/\.\d{3}Z$/, 'Z') } });
}

/** A notary.x509.signingAuthority envelope claiming `authenticSigningTime`. */
function signingAuthorityEnvelope(signer: { cert: ReturnType<typeof makeCert>; key: TestKey }, root: ReturnType<typeof makeCert>, target: Descriptor, at: Date): Buffer {
  return signEnvelope({
    key: signer.key,
    alg: 'PS256',
    chain: [signer.cert, root],
    target,
    protected: {
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.signingTime': undefined,
      'io.cncf.notary.authenticSigningTime': at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'],
    },
  });
}

async function writePem(name: string, cert: ReturnType<typeof makeCert>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, cert.toString());
  return path;
}

const notationAuthority = (name: string, trustStore: string, identities: string[], extra = '') =>
  `      - name: ${name}\n        notation:\n          trustStore: [${trustStore}]\n${extra}          trustedIdentities: ${JSON.stringify(identities)}\n`;
const pemEntry = (cert: ReturnType<typeof makeCert>) => `{pem: ${JSON.stringify(cert.toString())}}`;
const fileEntry = (path: string) => `{file: ${JSON.stringify(path)}}`;

const rule = (authorities: string, extra = '') => loadPolicy(yaml(`rules:\n  - name: apps\n    images: ["127.0.0.1:*/**"]\n${extra}    authorities:\n${authorities}`));

const failures = (verdict: PolicyVerdict) => verdict.findings.filter((f) => !f.passed).map((f) => `${f.name}: ${f.reason}`).join('\n');

async function evaluate(repository: string, image: Descriptor, policy: LoadedPolicy): Promise<PolicyVerdict> {
  const opened = await openImage(`docker://${registry.host}/${repository}@${image.digest}`);
  try {
    const policyImage = await policyImageFrom(opened, { registry: registry.host, repository });
    return await evaluatePolicy(policyImage, policy, { verifier: createSignatureVerifier({ signatures: signatureLocationOf(opened.source)! }) });
  } finally {
    await opened.source.close?.();
  }
}

describe('a notation authority trusts its store as one type (issue 10, item 4)', () => {
  const now = Date.now();
  const root = ca('Policy Root');
  // Valid for a year, expired 30 days ago.
  const expired = leaf('Expired Signer', root, rsaKey(), { notBefore: new Date(now - 400 * DAY), notAfter: new Date(now - 30 * DAY) });
  const current = leaf('Current Signer', root);

  it('a signingAuthority envelope with a back-dated authentic signing time and an expired certificate is refused by a CA store', async () => {
    const image = await pushTestImage(registry, 'backdated/app', 'v1', 'back-dated');
    await pushNotationSignature(client, 'backdated/app', image, signingAuthorityEnvelope(expired, root.cert, image, new Date(now - 60 * DAY)));
    const file = await writePem('root.pem', root.cert);

    const verdict = await evaluate('backdated/app', image, await rule(notationAuthority('notary', fileEntry(file), [identity('Expired Signer')])));
    expect(verdict.decision).toBe('deny');
    expect(failures(verdict)).toMatch(/no signingAuthority trust store certificates are configured for the notary\.x509\.signingAuthority signing scheme/);
    // The explicit `trustStoreType: ca` is the same.
    const explicit = await evaluate('backdated/app', image, await rule(notationAuthority('notary', fileEntry(file), [identity('Expired Signer')], '          trustStoreType: ca\n')));
    expect(explicit.decision).toBe('deny');

    // What `tollgate notation verify` does with a ca store: the same refusal.
    const cli = await verifyNotationImage(client, 'backdated/app', image, { trustStore: { ca: [root.cert], signingAuthority: [], tsa: [] }, trustedIdentities: [identity('Expired Signer')], level: 'strict' });
    expect(cli.ok).toBe(false);
    expect(cli.reasons.join()).toMatch(/no signingAuthority trust store certificates/);
  });

  it('a CA signer cannot back-date under its own scheme either: an expired certificate fails at verification time', async () => {
    const image = await pushTestImage(registry, 'expired/app', 'v1', 'expired signer');
    await pushNotationSignature(client, 'expired/app', image, caEnvelope(expired, root.cert, image, new Date(now - 60 * DAY)));
    const verdict = await evaluate('expired/app', image, await rule(notationAuthority('notary', pemEntry(root.cert), [identity('Expired Signer')])));
    expect(verdict.decision).toBe('deny');
    expect(failures(verdict)).toMatch(/authenticTimestamp: certificate .*Expired Signer.* had expired/);
  });

  it('trustStoreType: signingAuthority anchors only signing-authority envelopes, checked at their authentic signing time; never notary.x509 ones', async () => {
    const image = await pushTestImage(registry, 'sa/app', 'v1', 'signing authority');
    const signingAuthority = (identities: string[]) => rule(notationAuthority('notary', pemEntry(root.cert), identities, '          trustStoreType: signingAuthority\n'));
    // A notary.x509 envelope by a valid certificate, which a ca store would accept:
    await pushNotationSignature(client, 'sa/app', image, caEnvelope(current, root.cert, image));
    const caScheme = await evaluate('sa/app', image, await signingAuthority([identity('Current Signer')]));
    expect(caScheme.decision).toBe('deny');
    expect(failures(caScheme)).toMatch(/no ca trust store certificates are configured for the notary\.x509 signing scheme/);
    expect((await evaluate('sa/app', image, await rule(notationAuthority('notary', pemEntry(root.cert), [identity('Current Signer')])))).decision).toBe('allow');

    // The signing-authority scheme: the chain must have been valid at the authentic signing time it vouches for.
    await pushNotationSignature(client, 'sa/app', image, signingAuthorityEnvelope(expired, root.cert, image, new Date(now - 60 * DAY)));
    const sa = await evaluate('sa/app', image, await signingAuthority([identity('Expired Signer')]));
    expect(sa.decision, failures(sa)).toBe('allow');
    const afterExpiry = await pushTestImage(registry, 'sa/late', 'v1', 'signed after expiry');
    await pushNotationSignature(client, 'sa/late', afterExpiry, signingAuthorityEnvelope(expired, root.cert, afterExpiry, new Date(now - DAY)));
    expect(failures(await evaluate('sa/late', afterExpiry, await signingAuthority([identity('Expired Signer')])))).toMatch(/at the authentic signing time/);
  });

  it('the store type is part of the schema: anything but ca or signingAuthority (tsa included) is a policy error', async () => {
    await expect(rule(notationAuthority('notary', pemEntry(root.cert), [identity('x')], '          trustStoreType: tsa\n'))).rejects.toThrow(/trustStoreType.*must be one of "ca", "signingAuthority"/);
    await expect(rule(notationAuthority('notary', pemEntry(root.cert), [identity('x')], '          trustStoreType: [ca, signingAuthority]\n'))).rejects.toThrow(/trustStoreType/);
    const loaded = await rule(notationAuthority('notary', pemEntry(root.cert), [identity('x')]));
    expect(loaded.rules[0]!.authorities[0]!.notationStoreType).toBe('ca');
  });
});

describe('thresholds over notation authorities count distinct signers (issue 10, item 3)', () => {
  const root = ca('Threshold Root');
  const first = leaf('First Signer', root);
  const second = leaf('Second Signer', root);

  it('one certificate trusted by two authorities (the same root as a file and as a PEM) is one signer', async () => {
    const image = await pushTestImage(registry, 'same-cert/app', 'v1', 'one signer');
    await pushNotationSignature(client, 'same-cert/app', image, caEnvelope(first, root.cert, image));
    const file = await writePem('threshold-root.pem', root.cert);
    const policy = await rule(notationAuthority('by-file', fileEntry(file), [identity('First Signer')]) + notationAuthority('by-pem', pemEntry(root.cert), [identity('First Signer')]));
    const verdict = await evaluate('same-cert/app', image, policy);
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 of 2 authorities verified with distinct signers \(2 passed, but some only through a signer already counted\)/);
  });

  it('two signers meet it, even when one authority trusts both (every verified signature is credited, not only the first)', async () => {
    const image = await pushTestImage(registry, 'two-certs/app', 'v1', 'two signers');
    await pushNotationSignature(client, 'two-certs/app', image, caEnvelope(first, root.cert, image));
    await pushNotationSignature(client, 'two-certs/app', image, caEnvelope(second, root.cert, image));
    // `either` accepts both signers and finds First first; `only-first` accepts only First. Crediting `either`
    // with only the first signature that verifies would count one signer.
    const policy = await rule(
      notationAuthority('either', pemEntry(root.cert), [identity('First Signer'), identity('Second Signer')]) + notationAuthority('only-first', pemEntry(root.cert), [identity('First Signer')]),
    );
    const verdict = await evaluate('two-certs/app', image, policy);
    expect(verdict.decision, failures(verdict)).toBe('allow');
    expect(verdict.findings.find((f) => f.name === 'apps/authorities/either')!.reason).toMatch(/CN=First Signer.*, CN=Second Signer/);
  });

  it('one key certified under two subjects by two CAs is one signer', async () => {
    const otherRoot = ca('Other Root');
    const key = rsaKey();
    const alpha = leaf('Alpha', root, key);
    const beta = leaf('Beta', otherRoot, key);
    const image = await pushTestImage(registry, 'same-key/app', 'v1', 'one key two subjects');
    await pushNotationSignature(client, 'same-key/app', image, caEnvelope(alpha, root.cert, image));
    await pushNotationSignature(client, 'same-key/app', image, caEnvelope(beta, otherRoot.cert, image));
    const policy = await rule(notationAuthority('alpha', pemEntry(root.cert), [identity('Alpha')]) + notationAuthority('beta', pemEntry(otherRoot.cert), [identity('Beta')]));
    const verdict = await evaluate('same-key/app', image, policy);
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 of 2 authorities verified with distinct signers/);
    // Two keys are two signers.
    const gamma = leaf('Gamma', otherRoot);
    const image2 = await pushTestImage(registry, 'two-keys/app', 'v1', 'two keys');
    await pushNotationSignature(client, 'two-keys/app', image2, caEnvelope(alpha, root.cert, image2));
    await pushNotationSignature(client, 'two-keys/app', image2, caEnvelope(gamma, otherRoot.cert, image2));
    const policy2 = await rule(notationAuthority('alpha', pemEntry(root.cert), [identity('Alpha')]) + notationAuthority('gamma', pemEntry(otherRoot.cert), [identity('Gamma')]));
    expect((await evaluate('two-keys/app', image2, policy2)).decision).toBe('allow');
  });

  it('a notation certificate for a cosign key is the same signer as that key', async () => {
    const cosignKey = generateKeyPair('ecdsa-p256');
    const certified = leaf('Cosign Holder', root, cosignKey);
    const image = await pushTestImage(registry, 'cross/app', 'v1', 'one key two formats');
    await signImage(`${registry.host}/cross/app@${image.digest}`, { key: cosignKey }, { client });
    await pushNotationSignature(client, 'cross/app', image, caEnvelope(certified, root.cert, image));
    const keyAuthority = `      - name: cosign\n        key: {pem: ${JSON.stringify(publicVerificationKey(cosignKey).pem)}}\n        transparencyLog: ignore\n`;
    const verdict = await evaluate('cross/app', image, await rule(keyAuthority + notationAuthority('notary', pemEntry(root.cert), [identity('Cosign Holder')])));
    expect(verdict.findings.filter((f) => f.kind === 'authority').map((f) => f.passed)).toEqual([true, true]);
    expect(verdict.decision).toBe('deny');
    expect(publicKeyId(certified.cert.publicKey)).toBe(publicVerificationKey(cosignKey).keyId);
  });
});
