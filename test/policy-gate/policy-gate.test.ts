/**
 * The proxy enforcing a real policy on real signatures: a docker-registry upstream holding images signed (cosign
 * v3 format, referrers tag schema) and not, a policy file, the proxy with `gate: {policy}`, and skopeo pulling
 * through it. What is admitted arrives byte-identical; what is denied fails with the rule and the reason in
 * skopeo's stderr.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attestImage,
  buildImage,
  generateKeyPair,
  MediaType,
  OciLayoutWriter,
  publicVerificationKey,
  RegistryClient,
  signImage,
  writeImageToLayout,
  type ImageSigningOptions,
} from '@tollgate/core';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { pushOciLayout, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { skopeo } from '../proxy/support/skopeo.js';
import { makeCert, rsaKey, signEnvelope } from '../../packages/core/test/notation/pki.js';
import { pushNotationSignature } from '../../packages/core/test/notation/registry-helpers.js';

const execFileAsync = promisify(execFile);

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let proxy: RunningProxy;
let work: string;
const key = generateKeyPair('ecdsa-p256');
const untrusted = generateKeyPair('ecdsa-p256');
const SLSA = 'https://slsa.dev/provenance/v1';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
// A notation CA and a signing certificate it issued that expired 30 days ago (issue 10, item 4).
const DAY = 24 * 60 * 60 * 1000;
const notaryRootKey = rsaKey();
const notaryRoot = makeCert({ cn: 'Gate Root', key: notaryRootKey, ca: true });
const expiredKey = rsaKey();
const expiredLeaf = makeCert({
  cn: 'Expired Signer',
  key: expiredKey,
  issuer: { cert: notaryRoot, key: notaryRootKey },
  eku: ['1.3.6.1.5.5.7.3.3'],
  notBefore: new Date(Date.now() - 400 * DAY),
  notAfter: new Date(Date.now() - 30 * DAY),
});
const digests: Record<string, string> = {};

function client(): RegistryClient {
  return new RegistryClient(registry.host, { retries: 0 });
}

async function push(repoAndTag: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(work, 'img-'));
  await writeImageToLayout(dir, { tag: 'img', layers: [{ files: [{ path: 'app/main', content }] }], config: { config: { User: '1000' } } });
  await pushOciLayout(dir, 'img', registry.host, repoAndTag);
  const digest = await skopeoInspectDigest(`${registry.host}/${repoAndTag}`);
  digests[repoAndTag] = digest;
  return digest;
}

const sign = (ref: string, signing: ImageSigningOptions = { key }) => signImage(`${registry.host}/${ref}`, signing, { client: client() });

/** A two-platform index (amd64, arm64) pushed with skopeo --all; returns the index and child digests. */
async function pushIndex(repoAndTag: string): Promise<{ index: string; amd64: string; arm64: string }> {
  const dir = await mkdtemp(join(work, 'index-'));
  const writer = await OciLayoutWriter.create(dir);
  const amd = await buildImage(writer, { layers: [{ files: [{ path: 'arch', content: 'amd64' }] }], config: { architecture: 'amd64', os: 'linux' }, tag: 'amd64' });
  const arm = await buildImage(writer, { layers: [{ files: [{ path: 'arch', content: 'arm64' }] }], config: { architecture: 'arm64', os: 'linux' }, tag: 'arm64' });
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      { ...amd.descriptor, annotations: undefined, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm.descriptor, annotations: undefined, platform: { architecture: 'arm64', os: 'linux' } },
    ],
  };
  await writer.writeManifest(new TextEncoder().encode(JSON.stringify(index)), MediaType.OciIndex, 'multi');
  await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${dir}:multi`, `docker://${registry.host}/${repoAndTag}`], { timeout: 120_000 });
  return { index: await skopeoInspectDigest(`${registry.host}/${repoAndTag}`), amd64: amd.descriptor.digest, arm64: arm.descriptor.digest };
}

/** skopeo copy through the proxy into a fresh layout; returns the result and the digest skopeo wrote. */
async function pull(ref: string, extra: string[] = []): Promise<{ code: number; stderr: string; digest?: string }> {
  const dest = await mkdtemp(join(work, 'pull-'));
  const result = await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', ...extra, `docker://${proxy.host}/${ref}`, `oci:${dest}:pulled`]);
  if (result.code !== 0) return { code: result.code, stderr: result.stderr };
  const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return { code: 0, stderr: result.stderr, digest: index.manifests[0]!.digest };
}

const keyAuthority = (name: string, pem: string) => `      - name: ${name}\n        key: {pem: ${JSON.stringify(pem)}}\n        transparencyLog: ignore\n`;

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  work = await mkdtemp(join(tmpdir(), 'tollgate-policy-gate-'));
  const pem = publicVerificationKey(key).pem;
  const policy = `apiVersion: tollgate.dev/v1alpha1
kind: ImagePolicy
default: deny
rules:
  - name: team-release
    images: ["127.0.0.1:*/team/**"]
    authorities:
${keyAuthority('release-key', pem)}
  - name: provenance
    images: ["127.0.0.1:*/attest/**"]
    attestations:
      - name: slsa
        predicateType: ${SLSA}
        authorities:
${keyAuthority('builder', pem).replace(/^ {6}/gm, '          ')}
  - name: ci-keyless
    images: ["127.0.0.1:*/keyless/**"]
    authorities:
      - name: ci
        keyless: {issuer: ${JSON.stringify(sigstore.issuer)}, subjectRegexp: 'alice@example\\.com'}
  - name: cel
    images: ["127.0.0.1:*/cel/**"]
    attestations:
      - name: slsa
        predicateType: ${SLSA}
        authorities:
${keyAuthority('builder', pem).replace(/^ {6}/gm, '          ')}
        conditions:
          - expression: predicate.buildDefinition.missing.field == "x"
            message: built by the right workflow
  - name: scanned
    images: ["127.0.0.1:*/scanned/**"]
    attestations:
      - name: vulns
        predicateType: ${VULN}
        threshold: 2
        authorities:
          - {name: scanner-file, key: {file: scanner.pub}, transparencyLog: ignore}
          - {name: scanner-pem, key: {pem: ${JSON.stringify(pem)}}, transparencyLog: ignore}
          - {name: second-scanner, key: {pem: ${JSON.stringify(publicVerificationKey(untrusted).pem)}}, transparencyLog: ignore}
  - name: notary
    images: ["127.0.0.1:*/notary/**"]
    authorities:
      - name: notary
        notation:
          trustStore: [{file: notary-ca.pem}]
          trustedIdentities: ["x509.subject: C=US, ST=WA, O=tollgate-test, CN=Expired Signer"]
  - name: trusted-host
    images: ["registry.example.com/**"]
    checks: {maxLayers: 100}
`;
  await writeFile(join(work, 'policy.yaml'), policy);
  await writeFile(join(work, 'scanner.pub'), pem);
  await writeFile(join(work, 'notary-ca.pem'), notaryRoot.toString());
  await writeFile(join(work, 'trusted_root.json'), sigstore.trustedRootJson);

  const upstreams = [{ name: 'up', url: registry.url, default: true }];
  const config = normalizeProxyConfig({ dataDir: work, upstreams, gate: { policy: 'policy.yaml', trustedRoot: 'trusted_root.json' } }, { baseDir: work, env: {} });
  const gate = (await loadGate(config.gate, config.upstreams))!;

  await Promise.all([
    push('team/signed:v1', 'signed'),
    push('team/unsigned:v1', 'unsigned'),
    push('team/untrusted:v1', 'signed by a key nobody trusts'),
    push('attest/app:v1', 'signed, with an attestation of another type'),
    push('keyless/app:v1', 'keyless'),
    push('cel/app:v1', 'attested'),
    push('registry.example.com/team/app:v1', 'host in the path'),
    push('scanned/app:v1', 'one scanner, listed twice'),
    push('notary/app:v1', 'back-dated notation signature'),
  ]);
  await sign('team/signed:v1');
  await sign('team/untrusted:v1', { key: untrusted });
  await sign('attest/app:v1');
  await attestImage(`${registry.host}/attest/app:v1`, { key }, { client: client(), predicateType: 'https://example.com/not-provenance', predicate: { ok: true } });
  await sign('keyless/app:v1', { identityToken: sigstore.mintToken('alice@example.com.attacker.io'), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl });
  await attestImage(`${registry.host}/cel/app:v1`, { key }, { client: client(), predicateType: SLSA, predicate: { buildDefinition: { buildType: 'x' } } });
  await attestImage(`${registry.host}/scanned/app:v1`, { key }, { client: client(), predicateType: VULN, predicate: { scanner: { result: [] } } });
  // A notary.x509.signingAuthority envelope by the expired certificate, claiming it signed 60 days ago.
  const notary = await client().getManifest('notary/app', digests['notary/app:v1']!);
  const target = { digest: notary.digest, size: notary.bytes.byteLength, mediaType: notary.mediaType! };
  const backDated = new Date(Date.now() - 60 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await pushNotationSignature(
    client(),
    'notary/app',
    target,
    signEnvelope({
      key: expiredKey,
      alg: 'PS256',
      chain: [expiredLeaf, notaryRoot],
      target,
      protected: {
        'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
        'io.cncf.notary.signingTime': undefined,
        'io.cncf.notary.authenticSigningTime': backDated,
        crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime'],
      },
    }),
  );

  proxy = await startProxy({ gate, upstreams, dataDir: await mkdtemp(join(work, 'data-')) });
}, 120_000);

afterAll(async () => {
  await Promise.all([proxy?.close(), registry?.stop(), sigstore?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('proxy gate: {policy} with real signatures, pulled with skopeo', () => {
  it('admits the image signed by the required key, byte-identical (same digest)', async () => {
    const result = await pull('team/signed:v1');
    expect(result.code, result.stderr).toBe(0);
    expect(result.digest).toBe(digests['team/signed:v1']);
  });

  it('denies an unsigned image with the rule and the reason in skopeo\'s stderr', async () => {
    const result = await pull('team/unsigned:v1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/denied by tollgate policy \(rule team-release\)/);
    expect(result.stderr).toMatch(/team-release\/authorities\/release-key: no signatures are attached to sha256:[0-9a-f]{64}/);
  });

  it('denies an image signed by a key the policy does not trust', async () => {
    const result = await pull('team/untrusted:v1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/rule team-release/);
    expect(result.stderr).toMatch(/release-key: .*referrer sha256:[0-9a-f]{64}/);
  });

  it('a signed index whose pulled child is unsigned is denied; its signed child is admitted (platforms: pulled)', async () => {
    const multi = await pushIndex('team/multi:v1');
    await sign(`team/multi@${multi.index}`);
    await sign(`team/multi@${multi.amd64}`);
    const arm = await pull('team/multi:v1', ['--override-arch', 'arm64', '--override-os', 'linux']);
    expect(arm.code).not.toBe(0);
    expect(arm.stderr).toMatch(/rule team-release/);
    expect(arm.stderr).toContain(`no signatures are attached to ${multi.arm64}`);
    const amd = await pull('team/multi:v1', ['--override-arch', 'amd64', '--override-os', 'linux']);
    expect(amd.code, amd.stderr).toBe(0);
    expect(amd.digest).toBe(multi.amd64);
  });

  describe('the bypasses from the policy issue stay closed through the proxy', () => {
    it('a valid signature is not an attestation, and an attestation of another predicate type does not count', async () => {
      const result = await pull('attest/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule provenance/);
      expect(result.stderr).toMatch(/0 of 1 authority vouch for https:\/\/slsa\.dev\/provenance\/v1/);
    });

    it('an identity regexp never matches a longer SAN (alice@example.com.attacker.io)', async () => {
      const result = await pull('keyless/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule ci-keyless/);
      expect(result.stderr).toMatch(/alice@example\.com\.attacker\.io.* does not match/);
    });

    it('a host written into the repository path never matches a host pattern: the default denies', async () => {
      const result = await pull('registry.example.com/team/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule default/);
      expect(result.stderr).toMatch(/no rule matches 127\.0\.0\.1:\d+\/registry\.example\.com\/team\/app/);
    });

    it('one key listed twice (as a file and a PEM) vouches once toward an attestation threshold of 2 (issue 10, item 3)', async () => {
      const result = await pull('scanned/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule scanned/);
      expect(result.stderr).toMatch(/1 of 3 authorities vouch for https:\/\/cosign\.sigstore\.dev\/attestation\/vuln\/v1 .* with distinct signers/);
    });

    it('a CA-anchored notation authority refuses a back-dated signing-authority envelope by an expired certificate (issue 10, item 4)', async () => {
      const result = await pull('notary/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule notary/);
      expect(result.stderr).toMatch(/no signingAuthority trust store certificates are configured/);
    });

    it('a CEL condition that errors denies, even over a valid attestation of the right type', async () => {
      const result = await pull('cel/app:v1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/rule cel/);
      expect(result.stderr).toMatch(/cel\/attestations\/slsa: .*condition failed to evaluate \(denied\): field not found: missing, in /);
      expect(result.stderr).not.toMatch(/built by the right workflow/);
    });
  });

  it('verdicts are recorded in the audit trail with the policy revision', async () => {
    const events = await proxy.proxy.core.meta.listAudit(100);
    const verdicts = events.filter((e: { type?: string }) => e.type === 'verdict') as Array<{ verdict: string; rule?: string; policyRevision: string }>;
    expect(verdicts.some((v) => v.verdict === 'allow' && v.rule === 'team-release')).toBe(true);
    expect(verdicts.some((v) => v.verdict === 'deny' && v.rule === 'provenance')).toBe(true);
    expect(new Set(verdicts.map((v) => v.policyRevision)).size).toBe(1);
    expect(verdicts[0]!.policyRevision).toMatch(/^sha256:[0-9a-f]{64}\+root:[0-9a-f]{16}$/);
  });
});
