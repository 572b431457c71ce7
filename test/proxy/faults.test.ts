/**
 * Fault injection between the proxy and a real docker-registry: truncation, a wrong Docker-Content-Digest, a reset
 * mid-blob, a slow drip, 429 and 500, and a blob altered in the registry's storage. Every time the client gets an
 * error (never a complete blob that failed verification), the cache stays clean, and the next pull is correct.
 * Then: 50 concurrent cold pulls make one upstream fetch, and with the upstream gone cached content is still
 * served while anything uncached fails closed.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, sha256, type PushedImage } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let registry: RunningRegistry;
let faults: FaultProxy;
let proxy: RunningProxy;
let seq = 0;

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  proxy = await startProxy({
    gate: allowAllGate,
    upstreams: [{ name: 'up', url: faults.url, default: true, timeoutSeconds: 1 }],
    cache: { tagTtlSeconds: 0 },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await faults?.stop();
  await registry?.stop();
});

async function fresh(layerSizes = [256 * 1024]): Promise<{ repo: string; image: PushedImage }> {
  const repo = `faults/img${++seq}`;
  return { repo, image: await pushRawImage(registry.host, repo, 'v1', layerSizes) };
}

async function getManifest(repo: string, reference: string) {
  return fetchAll(`${proxy.url}/v2/${repo}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
}

/** Waits for downloads in flight (their failure handling included) to settle: no timers involved. */
async function settled(): Promise<void> {
  await Promise.allSettled([...proxy.proxy.core.blobFetches.values()].map((f) => f.done));
}

async function cacheIsClean(digest: string): Promise<void> {
  await settled();
  const hex = digest.slice('sha256:'.length);
  await expect(readFile(join(proxy.dataDir, 'blobs', 'sha256', hex))).rejects.toThrow();
  expect(await readdir(join(proxy.dataDir, 'tmp'))).toEqual([]);
}

function servedComplete(response: { status: number; body: Buffer; error?: unknown }, bytes: Buffer): boolean {
  return response.status === 200 && response.error === undefined && sha256(response.body) === sha256(bytes);
}

describe('blob faults', () => {
  const cases: Fault[] = ['truncate', 'reset', 'drip', '429', '500', 'refuse'];
  for (const fault of cases) {
    it(`${fault}: the client gets an error, nothing is cached, the next pull is correct`, async () => {
      const { repo, image } = await fresh();
      const layer = image.layers[0]!;
      expect((await getManifest(repo, 'v1')).status).toBe(200);
      faults.arm(fault, (r) => r.path.endsWith(`/blobs/${layer.digest}`));
      const broken = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`);
      expect(servedComplete(broken, layer.bytes)).toBe(false);
      if (broken.error === undefined) expect(broken.body.length).toBeLessThan(layer.size);
      if (fault === '429') expect(broken.status).toBe(429);
      if (fault === '500' || fault === 'refuse') expect(broken.status).toBe(503);
      await cacheIsClean(layer.digest);
      const good = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`);
      expect(servedComplete(good, layer.bytes)).toBe(true);
      expect(good.headers.get('docker-content-digest')).toBe(layer.digest);
    });
  }

  it('a blob altered in the registry storage is never served complete or cached', async () => {
    const { repo, image } = await fresh([128 * 1024]);
    const layer = image.layers[0]!;
    expect((await getManifest(repo, 'v1')).status).toBe(200);
    const hex = layer.digest.slice('sha256:'.length);
    const file = join(registry.storageDirectory, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const original = await readFile(file);
    const altered = Buffer.from(original);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0xff;
    await writeFile(file, altered);
    const before = Number((await proxy.proxy.core.metrics.integrityFailures.get()).values.reduce((n, v) => n + v.value, 0));
    const response = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`);
    expect(servedComplete(response, layer.bytes)).toBe(false);
    expect(response.body.length).toBeLessThan(layer.size);
    await cacheIsClean(layer.digest);
    const after = Number((await proxy.proxy.core.metrics.integrityFailures.get()).values.reduce((n, v) => n + v.value, 0));
    expect(after).toBe(before + 1);
    const audit = await proxy.proxy.core.meta.listAudit(10);
    expect(audit.some((e) => e.type === 'blob-integrity' && e.digest === layer.digest)).toBe(true);
    await writeFile(file, original);
    expect(servedComplete(await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`), layer.bytes)).toBe(true);
  });
});

describe('manifest faults', () => {
  const cases: Fault[] = ['wrong-digest', 'truncate', 'reset', '429', '500'];
  for (const fault of cases) {
    it(`${fault} on a tag: the client gets an error, nothing is recorded, the next pull is correct`, async () => {
      const { repo, image } = await fresh([1024]);
      faults.arm(fault, (r) => r.path.endsWith(`/${repo}/manifests/v1`));
      const broken = await getManifest(repo, 'v1');
      expect(broken.status).toBeGreaterThanOrEqual(400);
      if (fault === '429') expect(broken.status).toBe(429);
      expect(await proxy.proxy.core.meta.getTag('up', repo, 'v1')).toBeUndefined();
      expect(await proxy.proxy.core.meta.getManifest('up', repo, image.digest)).toBeUndefined();
      // Nothing was admitted either: the layer is unknown until a manifest is served.
      expect((await fetchAll(`${proxy.url}/v2/${repo}/blobs/${image.layers[0]!.digest}`)).status).toBe(404);
      const good = await getManifest(repo, 'v1');
      expect(good.status).toBe(200);
      expect(good.headers.get('docker-content-digest')).toBe(image.digest);
      expect(good.body.equals(image.manifest)).toBe(true);
    });
  }

  it('a 400 from the upstream is its answer, not an outage: no stale answer, the upstream stays up', async () => {
    const { repo } = await fresh([1024]);
    expect((await getManifest(repo, 'v1')).status).toBe(200);
    faults.arm('400', (r) => r.path.includes(`/${repo}/tags/list`));
    const refused = await fetchAll(`${proxy.url}/v2/${repo}/tags/list`);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.headers.get('warning')).toBeNull();
    const ready = JSON.parse((await fetchAll(`${proxy.url}/readyz`)).body.toString());
    expect(ready.upstreams.up).toBe(true);
  });

  it('records a tag mutation with the old and new digests', async () => {
    const { repo, image } = await fresh([1024]);
    expect((await getManifest(repo, 'v1')).status).toBe(200);
    const second = await pushRawImage(registry.host, repo, 'v1', [2048]);
    const response = await getManifest(repo, 'v1');
    expect(response.headers.get('docker-content-digest')).toBe(second.digest);
    const audit = await proxy.proxy.core.meta.listAudit(20);
    const event = audit.find((e) => e.type === 'tag-mutation' && e.repository === repo);
    expect(event).toMatchObject({ tag: 'v1', oldDigest: image.digest, newDigest: second.digest });
  });
});

describe('two upstreams with the same blob', () => {
  it('a download stalled by one upstream does not hold up or fail pulls of the same digest through another', async () => {
    const honest = await startFaultProxy(registry.url);
    const twoWay = await startProxy({
      gate: allowAllGate,
      upstreams: [
        { name: 'bad', url: faults.url, prefix: 'bad', timeoutSeconds: 1 },
        { name: 'good', url: honest.url, prefix: 'good' },
      ],
    });
    try {
      const { repo, image } = await fresh([512 * 1024]);
      const layer = image.layers[0]!;
      for (const prefix of ['bad', 'good']) expect((await fetchAll(`${twoWay.url}/v2/${prefix}/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
      faults.arm('stall', (r) => r.path.endsWith(`/blobs/${layer.digest}`));
      const stalled = new Promise((resolve) => faults.events.once('stalled', resolve));
      const viaBad = fetchAll(`${twoWay.url}/v2/bad/${repo}/blobs/${layer.digest}`);
      await stalled;
      const viaGood = await fetchAll(`${twoWay.url}/v2/good/${repo}/blobs/${layer.digest}`);
      expect(servedComplete(viaGood, layer.bytes)).toBe(true);
      expect(honest.count((r) => r.path.endsWith(`/blobs/${layer.digest}`))).toBe(1);
      // The stalled download still fails on its own (its client sees a cut body), and leaves the good copy in place.
      expect(servedComplete(await viaBad, layer.bytes)).toBe(false);
      expect(servedComplete(await fetchAll(`${twoWay.url}/v2/bad/${repo}/blobs/${layer.digest}`), layer.bytes)).toBe(true);
    } finally {
      faults.disarm();
      await twoWay.stop();
      await honest.stop();
    }
  });
});

describe('concurrency and outages', () => {
  it('50 concurrent pulls of one cold blob make one upstream fetch', async () => {
    const { repo, image } = await fresh([4 * 1024 * 1024]);
    const layer = image.layers[0]!;
    expect((await getManifest(repo, 'v1')).status).toBe(200);
    const responses = await Promise.all(Array.from({ length: 50 }, () => fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`)));
    for (const response of responses) expect(servedComplete(response, layer.bytes)).toBe(true);
    expect(faults.count((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`))).toBe(1);
  });

  it('serves ranges of a cached and of an uncached blob', async () => {
    const { repo, image } = await fresh([100_000]);
    const layer = image.layers[0]!;
    expect((await getManifest(repo, 'v1')).status).toBe(200);
    const cold = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
    expect(cold.status).toBe(206);
    expect(cold.body.equals(layer.bytes.subarray(10, 20))).toBe(true);
    const warm = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { headers: { range: 'bytes=-5' } });
    expect(warm.status).toBe(206);
    expect(warm.headers.get('content-range')).toBe(`bytes ${layer.size - 5}-${layer.size - 1}/${layer.size}`);
    expect(warm.body.equals(layer.bytes.subarray(layer.size - 5))).toBe(true);
    const bad = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer.digest}`, { headers: { range: `bytes=${layer.size}-` } });
    expect(bad.status).toBe(416);
  });

  it('with the upstream rate limiting, cached content is served and uncached content is refused', async () => {
    const cached = await fresh([1024]);
    const uncached = await fresh([1024]);
    expect((await getManifest(cached.repo, 'v1')).status).toBe(200);
    faults.arm('429', (r) => r.path.includes('/manifests/'), 2);
    const stale = await getManifest(cached.repo, 'v1');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('docker-content-digest')).toBe(cached.image.digest);
    expect((await getManifest(uncached.repo, 'v1')).status).toBe(429);
    faults.disarm();
  });

  it('with the upstream failing, tag lists and referrers are the last ones it gave, marked stale; others fail closed', async () => {
    const { repo, image } = await fresh([1024]);
    const other = await fresh([1024]);
    const tags = await fetchAll(`${proxy.url}/v2/${repo}/tags/list`);
    expect(tags.status).toBe(200);
    const referrers = await fetchAll(`${proxy.url}/v2/${repo}/referrers/${image.digest}`);
    expect(referrers.status).toBe(200);
    faults.arm('500', (r) => r.path.includes(`/${repo}/`) || r.path.includes(`/${other.repo}/`), 1000);
    try {
      const staleTags = await fetchAll(`${proxy.url}/v2/${repo}/tags/list`);
      expect(staleTags.status).toBe(200);
      expect(staleTags.body.equals(tags.body)).toBe(true);
      expect(staleTags.headers.get('warning')).toMatch(/^110 /);
      const staleReferrers = await fetchAll(`${proxy.url}/v2/${repo}/referrers/${image.digest}`);
      expect(staleReferrers.status).toBe(200);
      expect(staleReferrers.body.equals(referrers.body)).toBe(true);
      expect(staleReferrers.headers.get('warning')).toMatch(/^110 /);
      // A page never listed before (another n) and another repository have no last answer: they fail closed.
      expect((await fetchAll(`${proxy.url}/v2/${repo}/tags/list?n=1`)).status).toBe(503);
      expect((await fetchAll(`${proxy.url}/v2/${other.repo}/tags/list`)).status).toBe(503);
    } finally {
      faults.disarm();
    }
    const fresh2 = await fetchAll(`${proxy.url}/v2/${repo}/tags/list`);
    expect(fresh2.status).toBe(200);
    expect(fresh2.headers.get('warning')).toBeNull();
  });

  it('with the upstream down, cached admitted content is served and anything else fails closed', async () => {
    const cached = await fresh([2048]);
    const uncached = await fresh([2048]);
    expect((await getManifest(cached.repo, 'v1')).status).toBe(200);
    const layer = cached.image.layers[0]!;
    expect(servedComplete(await fetchAll(`${proxy.url}/v2/${cached.repo}/blobs/${layer.digest}`), layer.bytes)).toBe(true);
    await faults.stop();
    const byTag = await getManifest(cached.repo, 'v1');
    expect(byTag.status).toBe(200);
    expect(byTag.body.equals(cached.image.manifest)).toBe(true);
    expect((await getManifest(cached.repo, cached.image.digest)).status).toBe(200);
    expect(servedComplete(await fetchAll(`${proxy.url}/v2/${cached.repo}/blobs/${layer.digest}`), layer.bytes)).toBe(true);
    // The config blob was admitted but never fetched: it is not cached, so it fails closed.
    const config = await fetchAll(`${proxy.url}/v2/${cached.repo}/blobs/${cached.image.config.digest}`);
    expect(config.status).toBe(503);
    expect(JSON.parse(config.body.toString()).errors[0].code).toBe('UNAVAILABLE');
    const missing = await getManifest(uncached.repo, 'v1');
    expect(missing.status).toBe(503);
    const ready = JSON.parse((await fetchAll(`${proxy.url}/readyz`)).body.toString());
    expect(ready.upstreams.up).toBe(false);
  });
});
