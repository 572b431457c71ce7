/**
 * `tollgate copy` (the built CLI) between real docker-registry servers and OCI layouts: every attachment comes
 * along with digests unchanged and verifies at the destination; a layout copy is served through the proxy's `oci:`
 * upstream under the same policy; a hostile source that alters a blob leaves nothing behind; a second copy moves
 * no blob; --force, --platform and the refusals.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, referrersTag } from '@tollgate/core';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { pushRawImage } from '../proxy/support/raw-image.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { pushSignedIndex, testSigner, type SignedIndex } from './support/signed-index.js';

let source: RunningRegistry;
let destination: RunningRegistry;
let sourceFaults: FaultProxy;
let destinationCounter: FaultProxy;
let work: string;
let pub: string;
const signer = testSigner();
let image: SignedIndex;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  [sourceFaults, destinationCounter] = await Promise.all([startFaultProxy(source.url), startFaultProxy(destination.url, { preserveHost: true })]);
  work = await mkdtemp(join(tmpdir(), 'tollgate-copy-'));
  pub = join(work, 'cosign.pub');
  await writeFile(pub, signer.publicPem);
  image = await pushSignedIndex(source.host, 'build/app', 'v1', signer);
}, 120_000);

afterAll(async () => {
  await Promise.all([sourceFaults?.stop(), destinationCounter?.stop()]);
  await Promise.all([source?.stop(), destination?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

interface CopyJson {
  digest: string;
  tag?: string;
  reference: string;
  imageCopied: boolean;
  blobs: { copied: number; present: number; mounted: number; bytes: number };
  manifests: { copied: number; present: number };
  attachments: Array<{ subject: string; digest: string; kind: string; via: string; tag?: string; status: string }>;
}

async function copy(...args: string[]): Promise<{ code: number; json?: CopyJson; stderr: string }> {
  const result = await runCli(['copy', ...args, '--json']);
  return { code: result.code, stderr: result.stderr, ...(result.code === 0 ? { json: JSON.parse(result.stdout) as CopyJson } : {}) };
}

const verify = (ref: string, ...extra: string[]) => runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', ...extra]);

async function attachmentsAt(host: string, repository: string, subject: string): Promise<string[]> {
  const client = new RegistryClient(host, { retries: 0 });
  const listed = await client.referrers(repository, subject);
  return listed.index.manifests.map((d) => d.digest);
}

describe('copy registry → registry', () => {
  it('to another registry: the index, both platforms and every attachment, digests unchanged, verifying at the destination', async () => {
    const result = await copy(`${source.host}/build/app:v1`, `${destination.host}/prod/app:v1`);
    expect(result.code, result.stderr).toBe(0);
    const json = result.json!;
    expect(json.digest).toBe(image.digest);
    expect(json.reference).toBe(`${destination.host}/prod/app@${image.digest}`);
    expect(json.tag).toBe('v1');
    expect(json.blobs.mounted).toBe(0);
    expect(json.attachments.map((a) => a.digest).sort()).toEqual([...image.attachments].sort());
    expect(new Set(json.attachments.map((a) => a.kind))).toEqual(new Set(['sig', 'att', 'sbom']));

    const client = new RegistryClient(destination.host, { retries: 0 });
    expect((await client.headManifest('prod/app', 'v1'))?.digest).toBe(image.digest);
    for (const digest of [image.amd64.digest, image.arm64.digest, ...image.attachments]) expect(await client.headManifest('prod/app', digest), digest).toBeDefined();
    for (const kind of ['sig', 'att']) expect((await client.headManifest('prod/app', `${referrersTag(image.digest)}.${kind}`))).toBeDefined();
    expect((await attachmentsAt(destination.host, 'prod/app', image.digest)).length).toBe(3); // signature, attestation, SBOM
    expect((await attachmentsAt(destination.host, 'prod/app', image.sbom)).length).toBe(1); // the SBOM's signature

    const index = await verify(`${destination.host}/prod/app:v1`, '--json');
    expect(index.code, index.stderr).toBe(0);
    expect((await verify(`${destination.host}/prod/app@${image.amd64.digest}`)).code).toBe(0);
    expect((await verify(`${destination.host}/prod/app@${image.sbom}`)).code).toBe(0);
    const attested = await runCli(['verify-attestation', '--offline', `${destination.host}/prod/app:v1`, '--key', pub, '--insecure-ignore-tlog', '--type', 'https://slsa.dev/provenance/v1']);
    expect(attested.code, attested.stderr).toBe(0);
  });

  it('to another repository of the same registry: blobs are mounted, not uploaded', async () => {
    const before = sourceFaults.count((r) => r.method === 'PUT' || r.method === 'PATCH');
    const result = await copy(`${sourceFaults.host}/build/app:v1`, `${sourceFaults.host}/mirror/app:v1`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.blobs.mounted).toBeGreaterThanOrEqual(3);
    expect(result.json!.blobs.copied).toBe(0);
    expect(sourceFaults.count((r) => r.method === 'POST' && r.path.startsWith('/v2/mirror/app/blobs/uploads/?') && r.path.includes('mount=') && r.path.includes('from=build%2Fapp'))).toBeGreaterThanOrEqual(3);
    // Only manifests were PUT: no blob upload was finished.
    expect(sourceFaults.requests.slice(0).filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')).length).toBe(0);
    expect(sourceFaults.count((r) => r.method === 'PUT' || r.method === 'PATCH')).toBeGreaterThan(before);
    expect((await verify(`${source.host}/mirror/app:v1`)).code).toBe(0);
  });

  it('resumes: a second copy reads no blob from the source and uploads none', async () => {
    const first = await copy(`${sourceFaults.host}/build/app:v1`, `${destinationCounter.host}/resume/app:v1`);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json!.blobs.copied).toBeGreaterThan(3);
    const blobGets = () => sourceFaults.count((r) => r.method === 'GET' && r.path.includes('/blobs/sha256:'));
    const uploads = () => destinationCounter.count((r) => r.method === 'POST' && r.path.includes('/blobs/uploads/'));
    const [gets, posts] = [blobGets(), uploads()];
    const second = await copy(`${sourceFaults.host}/build/app:v1`, `${destinationCounter.host}/resume/app:v1`);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json!.blobs.copied).toBe(0);
    expect(second.json!.manifests.copied).toBe(0);
    expect(second.json!.attachments.every((a) => a.status === 'present')).toBe(true);
    // Signature blobs are read by nothing either: the referrer manifests are already there.
    expect(blobGets() - gets).toBe(0);
    expect(uploads() - posts).toBe(0);
  });

  it('a tag naming another digest is refused (2) without --force and moved with it', async () => {
    const other = await pushRawImage(destination.host, 'force/app', 'v1', [1024]);
    const refused = await copy(`${source.host}/build/app:v1`, `${destination.host}/force/app:v1`);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`force/app:v1 already names ${other.digest}, not ${image.digest}; pass --force`));
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const client = new RegistryClient(destination.host, { retries: 0 });
    expect((await client.headManifest('force/app', 'v1'))?.digest).toBe(other.digest);
    const forced = await copy(`${source.host}/build/app:v1`, `${destination.host}/force/app:v1`, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect((await client.headManifest('force/app', 'v1'))?.digest).toBe(image.digest);
    // The same digest again needs no --force.
    expect((await copy(`${source.host}/build/app:v1`, `${destination.host}/force/app:v1`)).code).toBe(0);
  });

  it('--platform copies that platform\'s manifest (digest unchanged) and its own attachments, not the index', async () => {
    const result = await copy(`${source.host}/build/app:v1`, `${destination.host}/arm/app:v1`, '--platform', 'linux/amd64');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.digest).toBe(image.amd64.digest);
    const client = new RegistryClient(destination.host, { retries: 0 });
    expect((await client.headManifest('arm/app', 'v1'))?.digest).toBe(image.amd64.digest);
    expect(await client.headManifest('arm/app', image.digest)).toBeUndefined();
    expect(await client.headManifest('arm/app', image.arm64.digest)).toBeUndefined();
    expect(result.json!.attachments.map((a) => a.subject)).toEqual([image.amd64.digest, image.amd64.digest]);
    expect((await verify(`${destination.host}/arm/app:v1`)).code).toBe(0);
  });

  it('--only sig copies the signatures alone', async () => {
    const result = await copy(`${source.host}/build/app:v1`, `${destination.host}/only/app:v1`, '--only', 'sig');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.imageCopied).toBe(false);
    expect(new Set(result.json!.attachments.map((a) => a.kind))).toEqual(new Set(['sig']));
    const client = new RegistryClient(destination.host, { retries: 0 });
    expect(await client.headManifest('only/app', 'v1')).toBeUndefined();
    expect(await client.headManifest('only/app', image.sbom)).toBeUndefined();
  });
});

describe('copy from a hostile source', () => {
  it('a blob altered in flight fails the copy (1) and leaves no tag or manifest in a registry', async () => {
    const layer = image.amd64.layers[0]!.digest;
    sourceFaults.arm('flip', (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`), 5);
    try {
      const result = await runCli(['copy', `${sourceFaults.host}/build/app:v1`, `${destination.host}/hostile/app:v1`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/digest mismatch.*the source altered it/);
    } finally {
      sourceFaults.disarm();
    }
    const client = new RegistryClient(destination.host, { retries: 0 });
    expect(await client.headManifest('hostile/app', 'v1')).toBeUndefined();
    for (const digest of [image.digest, image.amd64.digest, image.arm64.digest]) expect(await client.headManifest('hostile/app', digest)).toBeUndefined();
    expect(await client.headBlob('hostile/app', layer)).toBeUndefined();
  });

  it('into an OCI layout: index.json lists nothing, no temp file is left, and the altered blob is not stored', async () => {
    const layer = image.arm64.layers[0]!.digest;
    const dir = join(work, 'hostile-layout');
    sourceFaults.arm('flip', (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`), 5);
    try {
      const result = await runCli(['copy', `${sourceFaults.host}/build/app:v1`, `oci:${dir}:v1`]);
      expect(result.code).toBe(1);
    } finally {
      sourceFaults.disarm();
    }
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')).manifests).toEqual([]);
    const blobs = await readdir(join(dir, 'blobs', 'sha256'));
    expect(blobs).not.toContain(layer.slice(7));
    expect(blobs).not.toContain(image.digest.slice(7));
    expect(blobs).not.toContain(image.arm64.digest.slice(7));
    expect((await readdir(join(dir, 'blobs'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });
});

describe('the air gap: registry → OCI layout → proxy oci: upstream', () => {
  let proxy: RunningProxy;
  const layout = () => join(work, 'airgap');

  beforeAll(async () => {
    const result = await copy(`${source.host}/build/app:v1`, `oci:${layout()}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.tag).toBe('v1'); // the source's tag
    await writeFile(
      join(work, 'policy.yaml'),
      `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: release\n        key: {pem: ${JSON.stringify(signer.publicPem)}}\n        transparencyLog: ignore\n`,
    );
    const upstreams = [{ name: 'airgap', oci: layout(), prefix: 'airgap' }, { name: 'build', url: source.url, default: true }];
    const config = normalizeProxyConfig({ dataDir: work, upstreams, gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
    const gate = (await loadGate(config.gate, config.upstreams))!;
    proxy = await startProxy({ gate, upstreams });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
  });

  const get = (p: RunningProxy, path: string) => fetchAll(`${p.url}/v2/${path}`, { headers: { accept: MANIFEST_ACCEPT } });

  it('the layout passes policy check with the signatures it carries (linux/amd64 signed, linux/arm64 not)', async () => {
    const checked = await runCli(['policy', 'check', `oci:${layout()}:v1`, '--name', 'airgap.oci/any', '--policy', join(work, 'policy.yaml'), '--platform', 'linux/amd64', '--no-cache']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const arm = await runCli(['policy', 'check', `oci:${layout()}:v1`, '--name', 'airgap.oci/any', '--policy', join(work, 'policy.yaml'), '--platform', 'linux/arm64', '--no-cache']);
    expect(arm.code, arm.stdout + arm.stderr).toBe(1);
  });

  it('back out of the layout into a registry (inside the air gap): the same digests and attachments, verifying there', async () => {
    const result = await copy(`oci:${layout()}:v1`, `${destination.host}/inside/app:v1`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json!.digest).toBe(image.digest);
    expect(result.json!.attachments.map((a) => a.digest).sort()).toEqual([...image.attachments].sort());
    expect((await verify(`${destination.host}/inside/app:v1`)).code).toBe(0);
    expect((await verify(`${destination.host}/inside/app@${image.amd64.digest}`)).code).toBe(0);
  });

  it('admits and denies exactly as the same policy does over the registry it came from', async () => {
    for (const [p, prefix] of [[proxy, 'airgap/any'], [proxy, 'build/app']] as const) {
      const index = await get(p, `${prefix}/manifests/v1`);
      expect(index.status, `${prefix} index`).toBe(200);
      expect(index.body.equals(Buffer.from((await new RegistryClient(source.host).getManifest('build/app', 'v1')).bytes))).toBe(true);
      expect((await get(p, `${prefix}/manifests/${image.amd64.digest}`)).status, `${prefix} amd64 (signed)`).toBe(200);
      expect((await get(p, `${prefix}/manifests/${image.arm64.digest}`)).status, `${prefix} arm64 (unsigned)`).toBe(403);
      const blob = await fetchAll(`${p.url}/v2/${prefix}/blobs/${image.amd64.layers[0]!.digest}`);
      expect(blob.status).toBe(200);
    }
  });
});

describe('copy refusals', () => {
  it('a docker-archive destination, --platform with --all-platforms, and an unknown --only kind are usage errors (2), one line each', async () => {
    for (const args of [
      [`${source.host}/build/app:v1`, `docker-archive:${join(work, 'x.tar')}`],
      [`${source.host}/build/app:v1`, `${destination.host}/x/app:v1`, '--platform', 'linux/amd64', '--all-platforms'],
      [`${source.host}/build/app:v1`, `${destination.host}/x/app:v1`, '--only', 'sig,signature'],
      [`${source.host}/build/app:v1`, `${destination.host}/x/app@sha256:${'0'.repeat(64)}`],
    ]) {
      const result = await runCli(['copy', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    }
    const archive = await runCli(['copy', `${source.host}/build/app:v1`, `docker-archive:${join(work, 'x.tar')}`]);
    expect(archive.stderr).toMatch(/cannot be a copy destination.*oci:<dir>:<tag>/);
  });
});
