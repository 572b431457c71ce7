/**
 * Verdicts do not stand forever: a deny (which a moment of upstream trouble can cause) is kept for
 * cache.denyTtlSeconds, an allow for cache.verdictTtlSeconds; then the digest is evaluated again, and the blobs an
 * allow admitted stop being served once the manifest is denied.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, RegistryClient, signImage, type BuiltImage } from '@tollgate/core';
import { loadGate, normalizeProxyConfig, type Gate } from '../../packages/proxy/src/index.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';

let registry: RunningRegistry;
let faults: FaultProxy;
let work: string;
let gate: Gate;
const key = generateKeyPair('ecdsa-p256');
const proxies: RunningProxy[] = [];
let seq = 0;

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tollgate-verdict-ttl-'));
  const pem = publicVerificationKey(key).pem;
  await writeFile(
    join(work, 'policy.yaml'),
    `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: release\n        key: {pem: ${JSON.stringify(pem)}}\n        transparencyLog: ignore\n`,
  );
  const config = normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }], gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
  gate = (await loadGate(config.gate, config.upstreams))!;
}, 60_000);

afterAll(async () => {
  await Promise.all([...proxies.map((p) => p.stop()), faults?.stop(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function signedImage(): Promise<{ repo: string; image: BuiltImage }> {
  const repo = `ttl/app${seq++}`;
  const layout = join(work, repo.replace('/', '-'));
  const image = await buildImage(await OciLayoutWriter.create(layout), { tag: 'v1', layers: [{ files: [{ path: 'app/main', content: repo }] }], config: { config: { User: '1000' } } });
  await pushOciLayout(layout, 'v1', registry.host, `${repo}:v1`);
  await signImage(`${registry.host}/${repo}:v1`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });
  return { repo, image };
}

/** An image pushed without a signature; `sign()` signs it later. */
async function unsignedImage(): Promise<{ repo: string; image: BuiltImage; sign: () => Promise<void> }> {
  const repo = `ttl/unsigned${seq++}`;
  const layout = join(work, repo.replace('/', '-'));
  const image = await buildImage(await OciLayoutWriter.create(layout), { tag: 'v1', layers: [{ files: [{ path: 'app/main', content: repo }] }], config: { config: { User: '1000' } } });
  await pushOciLayout(layout, 'v1', registry.host, `${repo}:v1`);
  const sign = async () => {
    await signImage(`${registry.host}/${repo}:v1`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });
  };
  return { repo, image, sign };
}

/** Each proxy's clock runs with real time plus an offset a test moves forward instead of waiting. */
const offsets = new WeakMap<RunningProxy, { ms: number }>();

async function proxyWith(cache: Record<string, unknown>): Promise<RunningProxy> {
  const offset = { ms: 0 };
  const proxy = await startProxy({ gate, upstreams: [{ name: 'up', url: faults.url, default: true }], cache, clock: () => Date.now() + offset.ms });
  offsets.set(proxy, offset);
  proxies.push(proxy);
  return proxy;
}

const manifest = (proxy: RunningProxy, repo: string) => fetchAll(`${proxy.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
/** Where signatures are looked up: the referrers tag and cosign's legacy tags, all named sha256-<hex>. */
const signatureLookups = (repo: string) => (r: { path: string }) => r.path.startsWith(`/v2/${repo}/manifests/sha256-`);

describe('verdict lifetimes', () => {
  it('an upstream that fails to list signatures is not a deny: 503, nothing cached, audited indeterminate, the next pull is admitted', async () => {
    const { repo, image } = await signedImage();
    const proxy = await proxyWith({ denyTtlSeconds: 3600 });
    faults.arm('500', signatureLookups(repo), 1000);
    try {
      const undecided = await manifest(proxy, repo);
      expect(undecided.status).toBe(503);
      const error = JSON.parse(undecided.body.toString()).errors[0];
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.detail.reasons.join(' ')).toMatch(/could not be read for now/);
    } finally {
      faults.disarm();
    }
    const { core } = proxy.proxy;
    expect(await core.meta.getVerdict(core.revisionFor(core.upstreams[0]!), 'up', repo, image.descriptor.digest)).toBeUndefined();
    const audit = await core.meta.listAudit(5);
    expect(audit.find((e) => e.type === 'verdict' && e.digest === image.descriptor.digest)).toMatchObject({ verdict: 'indeterminate', rule: 'unavailable' });
    // Nothing was admitted meanwhile.
    expect((await fetchAll(`${proxy.url}/v2/${repo}/blobs/${image.layers[0]!.digest}`)).status).toBe(404);
    const again = await manifest(proxy, repo);
    expect(again.status).toBe(200);
    expect(again.headers.get('docker-content-digest')).toBe(image.descriptor.digest);
  });

  it('a deny on the evidence stands for denyTtlSeconds, then the digest is evaluated again', async () => {
    const { repo, image, sign } = await unsignedImage();
    const kept = await proxyWith({ denyTtlSeconds: 3600 });
    const retried = await proxyWith({ denyTtlSeconds: 0 });
    for (const proxy of [kept, retried]) expect((await manifest(proxy, repo)).status).toBe(403);
    await sign();
    expect((await manifest(kept, repo)).status).toBe(403);
    const again = await manifest(retried, repo);
    expect(again.status).toBe(200);
    expect(again.headers.get('docker-content-digest')).toBe(image.descriptor.digest);
  });

  it('an expired allow is evaluated again; while the upstream cannot show the signature the image and its blobs are refused (503), then admitted again', async () => {
    const { repo, image } = await signedImage();
    const proxy = await proxyWith({ verdictTtlSeconds: 3600 });
    const first = await manifest(proxy, repo);
    expect(first.status, first.body.toString()).toBe(200);
    const layer = image.layers[0]!;
    expect((await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`)).status).toBe(200);

    // Within the TTL the verdict stands, even while the upstream cannot show the signature.
    faults.arm('500', signatureLookups(repo), 1000);
    try {
      expect((await manifest(proxy, repo)).status).toBe(200);
      // The allow was reached two hours ago: past the TTL, the digest is evaluated again, and cannot be decided.
      expire(proxy);
      expect((await manifest(proxy, repo)).status).toBe(503);
      const blob = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`);
      expect(blob.status).toBe(503);
    } finally {
      faults.disarm();
    }
    expect((await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`)).status).toBe(200);
    expect((await manifest(proxy, repo)).status).toBe(200);
  });

  /** Moves the proxy's clock two hours on: every verdict it stored is past a one-hour TTL. */
  function expire(proxy: RunningProxy): void {
    offsets.get(proxy)!.ms += 2 * 3600 * 1000;
  }
  const blob = (proxy: RunningProxy, repo: string, digest: string) => fetchAll(`${proxy.url}/v2/${repo}/blobs/${digest}`);

  it('a blob is not served past its manifest verdict: once expired, the manifest is evaluated again first', async () => {
    const { repo, image } = await signedImage();
    const proxy = await proxyWith({ verdictTtlSeconds: 3600 });
    expect((await manifest(proxy, repo)).status).toBe(200);
    const layer = image.layers[0]!;
    expect((await blob(proxy, repo, layer.digest)).status).toBe(200);

    // The signature is removed upstream; the verdict expires; the client asks for the (cached) layer by digest only.
    const client = new RegistryClient(registry.host, { retries: 0 });
    const tags = await client.listTags(repo);
    const signatureTags = tags.tags.filter((t) => t.startsWith('sha256-'));
    expect(signatureTags.length).toBeGreaterThan(0);
    for (const tag of signatureTags) {
      const sig = await client.getManifest(repo, tag);
      await client.deleteManifest(repo, sig.digest);
    }
    expire(proxy);
    const refused = await blob(proxy, repo, layer.digest);
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body.toString()).errors[0].detail.reason).toMatch(/is now denied/);
    // The refusal is a recorded decision, and the layer stays refused (the deny now stands).
    const audit = await proxy.proxy.core.meta.listAudit(5);
    expect(audit.some((e) => e.type === 'verdict' && e.digest === image.descriptor.digest && e.verdict === 'deny')).toBe(true);
    expect((await blob(proxy, repo, layer.digest)).status).toBe(404);
    expect((await blob(proxy, repo, image.manifest.config.digest)).status).toBe(404);
    // Every way into the cached bytes is refused the same: ranges around the start, the held byte and the end, HEAD.
    const size = layer.size;
    for (const range of ['bytes=0-0', 'bytes=0-', `bytes=0-${size - 2}`, `bytes=1-${size - 1}`, `bytes=${size - 1}-${size - 1}`, 'bytes=-1', `bytes=-${size}`]) {
      const ranged = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { headers: { range } });
      expect(ranged.status, range).toBe(404);
    }
    expect((await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('a blob whose manifest verdict expired while the upstream fails is refused, and served again once re-verified', async () => {
    const { repo, image } = await signedImage();
    const proxy = await proxyWith({ verdictTtlSeconds: 3600, denyTtlSeconds: 0 });
    expect((await manifest(proxy, repo)).status).toBe(200);
    const layer = image.layers[0]!;
    expect((await blob(proxy, repo, layer.digest)).status).toBe(200);
    expire(proxy);
    faults.arm('500', signatureLookups(repo), 1000);
    try {
      const refused = await blob(proxy, repo, layer.digest);
      expect(refused.status).toBeGreaterThanOrEqual(400);
    } finally {
      faults.disarm();
    }
    // Upstream healthy again: the layer is re-verified through its manifest and served, and the verdict is fresh.
    const served = await blob(proxy, repo, layer.digest);
    expect(served.status).toBe(200);
    const { core } = proxy.proxy;
    const verdict = await core.meta.getVerdict(core.revisionFor(core.upstreams[0]!), 'up', repo, image.descriptor.digest);
    expect(verdict?.decision).toBe('allow');
    expect(proxy.proxy.core.now() - verdict!.evaluatedAt!).toBeLessThan(3600 * 1000);
  });

  it('concurrent cold pulls of one manifest share one gate evaluation (and its upstream signature reads)', async () => {
    const { repo } = await signedImage();
    const single = await proxyWith({});
    const before = faults.count(signatureLookups(repo));
    expect((await manifest(single, repo)).status).toBe(200);
    const perEvaluation = faults.count(signatureLookups(repo)) - before;
    expect(perEvaluation).toBeGreaterThan(0);

    const crowded = await proxyWith({});
    const start = faults.count(signatureLookups(repo));
    const answers = await Promise.all(Array.from({ length: 10 }, () => manifest(crowded, repo)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(faults.count(signatureLookups(repo)) - start).toBe(perEvaluation);
    const events = (await crowded.proxy.core.meta.listAudit(20)).filter((e) => e.type === 'verdict' && e.repository === repo);
    expect(events).toHaveLength(10);
    expect(events.filter((e) => e.cached === false)).toHaveLength(1);
  });

  it('rejects lifetimes that are not whole seconds in range', () => {
    const config = (cache: Record<string, unknown>) => () => normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }], cache }, { env: {} });
    expect(config({ verdictTtlSeconds: -1 })).toThrow(/cache\.verdictTtlSeconds/);
    expect(config({ denyTtlSeconds: 'soon' })).toThrow(/cache\.denyTtlSeconds/);
    expect(config({ verdictTtlSeconds: 0, denyTtlSeconds: 0 })()).toMatchObject({ cache: { verdictTtlSeconds: 0, denyTtlSeconds: 0 } });
  });
});
