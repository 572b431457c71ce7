/**
 * `sign --recursive` / `verify --recursive` on a 3-platform index (plus a BuildKit attestation manifest) in a real
 * docker-registry, and the proxy example of docs/signing.md — its proxy.yaml and policy.yaml, read from the page —
 * admitting each platform of the recursively signed image under `platforms: pulled`, and denying the platforms
 * of an image whose index alone was signed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, MediaType, OciLayoutWriter } from '@tollgate/core';
import { createLogger, createProxy, loadGate, loadProxyConfig, type Proxy } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';
import { skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { skopeo } from '../proxy/support/skopeo.js';

const execFileAsync = promisify(execFile);
const env = { TOLLGATE_PASSWORD: '' };
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
] as const;

let registry: RunningRegistry;
let work: string;
let key: string;
let pub: string;

interface PushedIndex {
  index: string;
  platforms: string[];
  attestationManifest: string;
}

/** A 3-platform index plus an `unknown/unknown` attestation manifest, built with our writer and pushed with skopeo --all. */
async function pushIndex(repoAndTag: string, content: string): Promise<PushedIndex> {
  const dir = await mkdtemp(join(work, 'index-'));
  const writer = await OciLayoutWriter.create(dir);
  const children = [];
  for (const platform of PLATFORMS) {
    const built = await buildImage(writer, { layers: [{ files: [{ path: 'app/platform', content: `${content} ${platform.architecture}` }] }], config: { ...platform }, tag: platform.architecture });
    children.push({ mediaType: built.descriptor.mediaType, digest: built.descriptor.digest, size: built.descriptor.size, platform });
  }
  const attestation = await buildImage(writer, { layers: [{ files: [{ path: 'sbom.json', content: '{}' }] }], config: { os: 'unknown', architecture: 'unknown' }, tag: 'attestation' });
  const manifests = [
    ...children,
    {
      mediaType: attestation.descriptor.mediaType, digest: attestation.descriptor.digest, size: attestation.descriptor.size,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': children[0]!.digest },
    },
  ];
  await writer.writeManifest(new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })), MediaType.OciIndex, 'multi');
  await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${dir}:multi`, `docker://${registry.host}/${repoAndTag}`], { timeout: 120_000 });
  return { index: await skopeoInspectDigest(`${registry.host}/${repoAndTag}`), platforms: children.map((c) => c.digest), attestationManifest: attestation.descriptor.digest };
}

/** The fenced ```yaml block of docs/signing.md whose first line is `# <name>`. */
function docsBlock(markdown: string, name: string): string {
  const match = new RegExp('```yaml\\n# ' + name.replace('.', '\\.') + '\\n([\\s\\S]*?)```').exec(markdown);
  if (!match) throw new Error(`docs/signing.md has no \`# ${name}\` yaml block`);
  return match[1]!;
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tollgate-recursive-'));
  const generated = await runCli(['generate-key-pair'], { cwd: work, env });
  expect(generated.code, generated.stderr).toBe(0);
  key = join(work, 'cosign.key');
  pub = join(work, 'cosign.pub');
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('sign --recursive / verify --recursive', () => {
  let signed: PushedIndex;
  let partial: PushedIndex;

  beforeAll(async () => {
    [signed, partial] = await Promise.all([pushIndex('release/app:v1', 'signed'), pushIndex('release/partial:v1', 'index only')]);
  }, 120_000);

  it('signs the index and each platform manifest (not the attestation manifest), each its own referrer', async () => {
    const ref = `${registry.host}/release/app:v1`;
    const result = await runCli(['sign', '--recursive', '--key', key, '--tlog-upload=false', ref], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([signed.index, ...signed.platforms].map((d) => `${registry.host}/release/app@${d}`));
    expect(result.stderr).toContain(`Pushing 4 signatures to: ${registry.host}/release/app`);
    expect(result.stderr).toContain(`${signed.platforms[2]} (linux/arm/v7)`);

    const verified = await runCli(['verify', '--recursive', '--key', pub, '--insecure-ignore-tlog', ref, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    const json = JSON.parse(verified.stdout);
    expect(json).toMatchObject({ verified: true, digest: signed.index });
    expect(json.manifests.map((m: { digest: string }) => m.digest)).toEqual([signed.index, ...signed.platforms]);
    expect(json.manifests.map((m: { platform?: { architecture: string } }) => m.platform?.architecture)).toEqual([undefined, 'amd64', 'arm64', 'arm']);
    const text = await runCli(['verify', '--recursive', '--key', pub, '--insecure-ignore-tlog', ref]);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain(`All 4 manifests of ${ref} verified`);

    // Each platform manifest carries its own signature: verifiable by its digest alone.
    const arm = await runCli(['verify', '--key', pub, '--insecure-ignore-tlog', `${registry.host}/release/app@${signed.platforms[1]}`]);
    expect(arm.code, arm.stderr).toBe(0);
    // The attestation manifest was left alone.
    const tree = await runCli(['tree', `${registry.host}/release/app@${signed.attestationManifest}`, '--json']);
    expect(JSON.parse(tree.stdout).attachments).toEqual([]);
  });

  it('an index signed alone fails verify --recursive (exit 1), naming each unsigned platform', async () => {
    const ref = `${registry.host}/release/partial:v1`;
    const result = await runCli(['sign', '--key', key, '--tlog-upload=false', ref], { env });
    expect(result.code, result.stderr).toBe(0);
    expect((await runCli(['verify', '--key', pub, '--insecure-ignore-tlog', ref])).code).toBe(0);

    const recursive = await runCli(['verify', '--recursive', '--key', pub, '--insecure-ignore-tlog', ref]);
    expect(recursive.code).toBe(1);
    const last = recursive.stderr.trim().split('\n').at(-1)!;
    expect(last).toBe(`Error: 3 of 4 manifests of ${ref} did not verify: ${partial.platforms[0]} (linux/amd64), ${partial.platforms[1]} (linux/arm64), ${partial.platforms[2]} (linux/arm/v7)`);
    const json = JSON.parse((await runCli(['verify', '--recursive', '--key', pub, '--insecure-ignore-tlog', ref, '--json'])).stdout);
    expect(json.verified).toBe(false);
    expect(json.manifests.map((m: { verified: boolean }) => m.verified)).toEqual([true, false, false, false]);
  });

  it('attest --recursive attests each manifest; --json lists them', async () => {
    await writeFile(join(work, 'provenance.json'), JSON.stringify({ buildType: 'https://example.com/build/v1' }));
    const ref = `${registry.host}/release/app:v1`;
    const result = await runCli(['attest', '--recursive', '--key', key, '--tlog-upload=false', '--type', 'slsaprovenance1', '--predicate', join(work, 'provenance.json'), ref, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.digest).toBe(signed.index);
    expect(json.manifests.map((m: { digest: string }) => m.digest)).toEqual(signed.platforms);
    for (const digest of [signed.index, ...signed.platforms]) {
      const verified = await runCli(['verify-attestation', '--type', 'slsaprovenance1', '--key', pub, '--insecure-ignore-tlog', `${registry.host}/release/app@${digest}`]);
      expect(verified.code, verified.stderr).toBe(0);
    }
  });

  describe('through the proxy of docs/signing.md (platforms: pulled)', () => {
    let proxy: Proxy;
    let proxyHost: string;

    beforeAll(async () => {
      const docs = await readFile(join(REPO_ROOT, 'docs/signing.md'), 'utf8');
      const dir = await mkdtemp(join(work, 'proxy-'));
      const local = (text: string) => text.replaceAll('127.0.0.1:5000', registry.host).replace('listen: 127.0.0.1:5001', 'listen: 127.0.0.1:0');
      await writeFile(join(dir, 'proxy.yaml'), local(docsBlock(docs, 'proxy.yaml')));
      await writeFile(join(dir, 'policy.yaml'), local(docsBlock(docs, 'policy.yaml')));
      await writeFile(join(dir, 'cosign.pub'), await readFile(pub));
      const config = await loadProxyConfig(join(dir, 'proxy.yaml'), { env: {} });
      expect(config.dataDir).toBe(join(dir, 'tollgate-data'));
      proxy = await createProxy(config, { gate: (await loadGate(config.gate, config.upstreams, { dataDir: config.dataDir }))!, logger: createLogger('silent'), env: {} });
      proxyHost = (await proxy.listen()).url.replace(/^https?:\/\//, '');
    }, 60_000);

    afterAll(async () => {
      await proxy?.close();
    });

    async function pull(ref: string, platform: (typeof PLATFORMS)[number]): Promise<{ code: number; stderr: string; digest?: string }> {
      const dest = await mkdtemp(join(work, 'pull-'));
      const variant = 'variant' in platform ? ['--override-variant', platform.variant] : [];
      const result = await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', '--override-os', platform.os, '--override-arch', platform.architecture, ...variant, `docker://${proxyHost}/${ref}`, `oci:${dest}:pulled`]);
      if (result.code !== 0) return { code: result.code, stderr: result.stderr };
      const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      return { code: 0, stderr: result.stderr, digest: index.manifests[0]!.digest };
    }

    it('admits every platform of the recursively signed image, each pulled as the manifest that was signed', async () => {
      for (const [i, platform] of PLATFORMS.entries()) {
        const pulled = await pull('release/app:v1', platform);
        expect(pulled.code, pulled.stderr).toBe(0);
        expect(pulled.digest).toBe(signed.platforms[i]);
      }
    });

    it('tree through the proxy reads its referrers API and shows the platform\'s own signature', async () => {
      const result = await runCli(['tree', `${proxyHost}/release/app@${signed.platforms[2]}`, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const tree = JSON.parse(result.stdout) as { referrersSource: string; attachments: Array<{ kind: string; source: string }> };
      expect(tree.referrersSource).toBe('api');
      expect(tree.attachments.filter((a) => a.kind === 'signature').map((a) => a.source)).toEqual(['referrers-api']);
    });

    it('denies the platforms of the image whose index alone was signed', async () => {
      for (const platform of PLATFORMS.slice(0, 2)) {
        const pulled = await pull('release/partial:v1', platform);
        expect(pulled.code).not.toBe(0);
        expect(pulled.stderr).toMatch(/denied|DENIED/);
      }
    });
  });
});
