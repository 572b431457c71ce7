import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  createSignatureVerifier,
  evaluatePolicy,
  generateKeyPair,
  loadPolicy,
  OciLayoutSignatureReader,
  OciLayoutWriter,
  openImage,
  policyImageFrom,
  publicVerificationKey,
  signatureLocationOf,
  signLayoutImage,
  type SignatureReader,
} from '@tollgate/core';
import { yaml } from '../support.js';

let dir: string;
let writer: OciLayoutWriter;
const key = generateKeyPair('ecdsa-p256');
const other = generateKeyPair('ecdsa-p256');
const pem = publicVerificationKey(key).pem;
const otherPem = publicVerificationKey(other).pem;

async function build(tag: string, content: string): Promise<string> {
  const built = await buildImage(writer, { tag, layers: [{ files: [{ path: 'app/main', content }] }], config: { config: { User: '1000' } } });
  return built.descriptor.digest;
}

function policy(authorities: string, extra = ''): Promise<Awaited<ReturnType<typeof loadPolicy>>> {
  return loadPolicy(yaml(`rules:\n  - name: apps\n    images: ["demo.oci/**"]\n${extra}    authorities:\n${authorities}`));
}

/** Every failed finding, one line each: what the proxy reports as the verdict's reasons. */
const failures = (verdict: { findings: Array<{ passed: boolean; name: string; reason: string }> }) =>
  verdict.findings.filter((f) => !f.passed).map((f) => `${f.name}: ${f.reason}`).join('\n');

const keyAuthority = (name: string, keyPem: string) => `      - name: ${name}\n        key: {pem: ${JSON.stringify(keyPem)}}\n        transparencyLog: ignore\n`;

/** Counts what the verifier asks of the layout. */
class CountingReader implements SignatureReader {
  readonly calls: string[] = [];
  constructor(private readonly inner: SignatureReader) {}
  referrers(...args: Parameters<SignatureReader['referrers']>) {
    this.calls.push(`referrers ${args[1]}`);
    return this.inner.referrers(...args);
  }
  getManifest(...args: Parameters<SignatureReader['getManifest']>) {
    this.calls.push(`manifest ${args[1]}`);
    return this.inner.getManifest(...args);
  }
  getBlob(...args: Parameters<SignatureReader['getBlob']>) {
    this.calls.push(`blob ${args[1]}`);
    return this.inner.getBlob(...args);
  }
}

async function evaluate(tag: string, loaded: Awaited<ReturnType<typeof loadPolicy>>, reader?: SignatureReader) {
  const opened = await openImage(`oci:${dir}:${tag}`);
  const image = await policyImageFrom(opened, { registry: 'demo.oci', repository: 'app' });
  const location = reader ? { reader, repository: '' } : signatureLocationOf(opened.source)!;
  return evaluatePolicy(image, loaded, { verifier: createSignatureVerifier({ signatures: location }) });
}

const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const CLEAN_REPORT = { scanner: { uri: 'pkg:github/aquasecurity/trivy', result: [] } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-verifier-layout-'));
  writer = await OciLayoutWriter.create(dir);
  await build('signed', 'signed app');
  await build('unsigned', 'unsigned app');
  await build('other', 'signed by another key');
  await build('scanned-once', 'one scanner attested');
  await build('scanned-twice', 'two scanners attested');
  await signLayoutImage(writer, 'signed', { key });
  await signLayoutImage(writer, 'other', { key: other });
  // The same key attests twice (two bundles, the second listed beside the first): still one signer.
  await signLayoutImage(writer, 'scanned-once', { key }, { attestation: { predicateType: VULN, predicate: CLEAN_REPORT } });
  await signLayoutImage(writer, 'scanned-once', { key }, { attestation: { predicateType: VULN, predicate: CLEAN_REPORT } });
  await signLayoutImage(writer, 'scanned-twice', { key }, { attestation: { predicateType: VULN, predicate: CLEAN_REPORT } });
  await signLayoutImage(writer, 'scanned-twice', { key: other }, { attestation: { predicateType: VULN, predicate: CLEAN_REPORT } });
  await writeFile(join(dir, 'scanner.pub'), pem);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSignatureVerifier over an OCI layout (referrers tag schema)', () => {
  it('admits the image signed by the required key, crediting the key id as the signer', async () => {
    const verdict = await evaluate('signed', await policy(keyAuthority('release', pem)));
    expect(verdict.decision).toBe('allow');
    const authority = verdict.findings.find((f) => f.name === 'apps/authorities/release')!;
    expect(authority.passed).toBe(true);
    expect(authority.reason).toContain(publicVerificationKey(key).keyId);
  });

  it('denies an unsigned image and one signed by a key the policy does not trust, saying why', async () => {
    const unsigned = await evaluate('unsigned', await policy(keyAuthority('release', pem)));
    expect(unsigned.decision).toBe('deny');
    expect(failures(unsigned)).toMatch(/no signatures are attached/);
    const untrusted = await evaluate('other', await policy(keyAuthority('release', pem)));
    expect(untrusted.decision).toBe('deny');
    expect(untrusted.findings.find((f) => f.name === 'apps/authorities/release')!.reason).toMatch(/referrer sha256:[0-9a-f]{64}: /);
  });

  it('requires the transparency log unless the authority ignores it', async () => {
    const verdict = await evaluate('signed', await policy(`      - name: release\n        key: {pem: ${JSON.stringify(pem)}}\n`));
    expect(verdict.decision).toBe('deny');
    expect(failures(verdict)).toMatch(/transparency log|tlog/i);
  });

  it('fetches the signatures of a digest once, however many authorities ask', async () => {
    const counting = new CountingReader(new OciLayoutSignatureReader(dir));
    const loaded = await policy(keyAuthority('a', pem) + keyAuthority('b', otherPem) + keyAuthority('c', pem), '    threshold: 1\n');
    const verdict = await evaluate('signed', loaded, counting);
    expect(verdict.decision).toBe('allow');
    expect(counting.calls.filter((c) => c.startsWith('referrers'))).toHaveLength(1);
    expect(new Set(counting.calls).size).toBe(counting.calls.length);
  });

  it('counts one key listed twice as one signer: a threshold of 2 is not met', async () => {
    const verdict = await evaluate('signed', await policy(keyAuthority('a', pem) + keyAuthority('b', pem) + keyAuthority('c', otherPem), '    threshold: 2\n'));
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 of 3 authorities verified with distinct signers \(2 passed, but some only through a signer already counted\)/);
  });

  describe('attestation thresholds count distinct signers (issue 10, item 3)', () => {
    const attestationPolicy = (authorities: string, threshold: number) =>
      loadPolicy(
        yaml(`rules:
  - name: apps
    images: ["demo.oci/**"]
    attestations:
      - name: vulns
        predicateType: ${VULN}
        threshold: ${threshold}
        authorities:
${authorities}        conditions: [{expression: "!predicate.scanner.result.exists(v, v.severity == 'CRITICAL')"}]
`),
      );
    const indent = (text: string) => text.replace(/^ {6}/gm, '          ');
    const asFile = (name: string) => indent(`      - name: ${name}\n        key: {file: ${JSON.stringify(join(dir, 'scanner.pub'))}}\n        transparencyLog: ignore\n`);
    const asPem = (name: string, keyPem: string) => indent(keyAuthority(name, keyPem));
    const asJwk = (name: string) => indent(`      - name: ${name}\n        key: {jwk: ${JSON.stringify(key.publicKey.export({ format: 'jwk' }))}}\n        transparencyLog: ignore\n`);
    const attestation = (verdict: Awaited<ReturnType<typeof evaluate>>) => verdict.findings.find((f) => f.kind === 'attestation')!.reason;

    it('one key listed as a file, a PEM and a JWK vouches once: one attestation does not meet a threshold of 2', async () => {
      const loaded = await attestationPolicy(asFile('scanner-file') + asPem('scanner-pem', pem) + asJwk('scanner-jwk') + asPem('second-scanner', otherPem), 2);
      const verdict = await evaluate('scanned-once', loaded);
      expect(verdict.decision, failures(verdict)).toBe('deny');
      for (const name of ['scanner-file', 'scanner-pem', 'scanner-jwk']) {
        expect(verdict.findings.find((f) => f.kind === 'authority' && f.name === `apps/attestations/vulns/${name}`)!.reason).toContain(publicVerificationKey(key).keyId);
      }
      expect(attestation(verdict)).toMatch(/^1 of 4 authorities vouch for .* with distinct signers \(3 vouch, but some only through a signer already counted\); 2 required$/);
    });

    it('the same threshold is met by two different keys', async () => {
      const loaded = await attestationPolicy(asFile('scanner-file') + asPem('scanner-pem', pem) + asPem('second-scanner', otherPem), 2);
      const verdict = await evaluate('scanned-twice', loaded);
      expect(verdict.decision, failures(verdict)).toBe('allow');
      expect(attestation(verdict)).toMatch(/^2 of 3 authorities vouch/);
    });

    it('a policy whose threshold needs one key to count twice is refused at load time', async () => {
      await expect(attestationPolicy(asFile('scanner-file') + asPem('scanner-pem', pem), 2)).rejects.toThrow(
        /threshold 2 can never be met: authorities "scanner-file" and "scanner-pem" name the same key, which is one signer/,
      );
      await expect(attestationPolicy(asFile('scanner-file') + asJwk('scanner-jwk'), 1)).resolves.toBeDefined();
      // The default threshold (all of them) is checked the same way, for image signatures too.
      await expect(policy(keyAuthority('a', pem) + keyAuthority('b', pem))).rejects.toThrow(/authorities "a" and "b" name the same key/);
    });

    it('the verifier credits every verified attestation to the key, however the key was written', async () => {
      const opened = await openImage(`oci:${dir}:scanned-twice`);
      const image = await policyImageFrom(opened, { registry: 'demo.oci', repository: 'app' });
      const verifier = createSignatureVerifier({ signatures: signatureLocationOf(opened.source)! });
      const loaded = await attestationPolicy(asFile('scanner-file') + asJwk('scanner-jwk') + asPem('second-scanner', otherPem), 1);
      const [byFile, byJwk, bySecond] = await Promise.all(loaded.rules[0]!.attestations[0]!.authorities.map((a) => verifier.verifiedAttestations(image, VULN, a)));
      expect(byFile!.statements.map((s) => s.signer)).toEqual([publicVerificationKey(key).keyId]);
      expect(byJwk!.statements.map((s) => s.signer)).toEqual([publicVerificationKey(key).keyId]);
      expect(bySecond!.statements.map((s) => s.signer)).toEqual([publicVerificationKey(other).keyId]);
    });
  });

  it('an attestation rule is not satisfied by an image signature (wrong predicate type)', async () => {
    const loaded = await loadPolicy(
      yaml(`rules:\n  - name: apps\n    images: ["demo.oci/**"]\n    attestations:\n      - name: provenance\n        predicateType: https://slsa.dev/provenance/v1\n        authorities:\n${keyAuthority('builder', pem).replace(/^ {6}/gm, '          ')}`),
    );
    const verdict = await evaluate('signed', loaded);
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/0 of 1 authority vouch for https:\/\/slsa\.dev\/provenance\/v1/);
  });
});

describe('OciLayoutSignatureReader on hostile layouts', () => {
  let hostile: string;
  beforeAll(async () => {
    hostile = await mkdtemp(join(tmpdir(), 'tollgate-verifier-hostile-'));
  });
  afterAll(async () => {
    await rm(hostile, { recursive: true, force: true });
  });

  it('a referrers tag that names an image, an altered referrer, garbage and truncated index.json all fail closed with a reason', async () => {
    const w = await OciLayoutWriter.create(hostile);
    const digest = (await buildImage(w, { tag: 'app', layers: [{ files: [{ path: 'x', content: 'x' }] }] })).descriptor.digest;
    const reader = new OciLayoutSignatureReader(hostile);
    expect((await reader.referrers('', digest)).source).toBe('none');

    // The sha256-<hex> tag points at an image manifest, not an index.
    const index = JSON.parse(await readFile(join(hostile, 'index.json'), 'utf8'));
    const app = index.manifests[0];
    index.manifests.push({ ...app, annotations: { 'org.opencontainers.image.ref.name': `sha256-${digest.slice(7)}` } });
    await writeFile(join(hostile, 'index.json'), JSON.stringify(index));
    await expect(reader.referrers('', digest)).rejects.toThrow(/names an image, not an index/);
    const loaded = await loadPolicy(yaml(`rules:\n  - name: apps\n    images: ["demo.oci/**"]\n    authorities:\n${keyAuthority('release', pem)}`));
    const opened = await openImage(`oci:${hostile}:app`);
    const image = await policyImageFrom(opened, { registry: 'demo.oci', repository: 'app' });
    const verdict = await evaluatePolicy(image, loaded, { verifier: createSignatureVerifier({ signatures: signatureLocationOf(opened.source)! }) });
    expect(verdict.decision).toBe('deny');
    expect(failures(verdict)).toMatch(/could not be listed .*names an image, not an index/);

    // A manifest blob whose bytes do not match its digest.
    await writeFile(join(hostile, 'blobs', 'sha256', digest.slice(7)), '{"schemaVersion":2}');
    await expect(reader.getManifest('', digest)).rejects.toThrow(/digests to sha256:[0-9a-f]{64}; the layout was altered/);
    await expect(reader.getManifest('', 'sha256:zz')).rejects.toThrow(/digest/);
    await expect(reader.getManifest('', 'no-such-tag')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await writeFile(join(hostile, 'index.json'), '{"schemaVersion":2,"manifests":[');
    await expect(reader.referrers('', digest)).rejects.toThrow(/index\.json/);
    await writeFile(join(hostile, 'index.json'), Buffer.alloc(5 * 1024 * 1024, 0x20));
    await expect(reader.referrers('', digest)).rejects.toThrow(/over the .*-byte limit/);
  });

  it('a docker archive holds no signatures: the authority fails closed', async () => {
    const verifier = createSignatureVerifier({ signatures: () => undefined });
    await expect(verifier.verifySignatures({ reference: 'docker-archive:x.tar', registry: 'demo.oci', repository: 'app', digest: `sha256:${'a'.repeat(64)}`, config: { rootfs: { type: 'layers', diff_ids: [] } }, layers: [], layerIndexes: async () => [] }, { name: 'k', kind: 'key', path: '$', transparencyLog: 'ignore', timestamp: 'optional', key: publicVerificationKey(key) })).rejects.toThrow(/holds no signatures/);
  });
});
