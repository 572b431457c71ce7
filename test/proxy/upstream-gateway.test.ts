/**
 * One gateway to the upstream for serving and the gate, against a real docker-registry behind the fault proxy: the
 * gate's signature and referrer reads are in /metrics like every other upstream request; concurrent identical reads
 * make one upstream request (within the gateway's memory bounds); an upstream's 400/405/501 reaches the client with
 * its status and code and leaves the upstream up, a 500 is 503 and marks it down; the proxy's own store failing
 * never marks the upstream down, and an undecided evaluation then names the store. A blob read counts when its body
 * ends, not at its headers: a reset mid-body is a NETWORK_ERROR that marks the upstream down, a short body a
 * SIZE_MISMATCH that does not (bad content, like a manifest failing its digest), and a read the proxy gave up is
 * `aborted`, never a failure. So is a manifest read the proxy gives up when it shuts down; a manifest read the
 * upstream resets is a NETWORK_ERROR that marks it down.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, RegistryClient, signatureLocationOf, signImage, TollgateError, type BuiltImage, type ImageManifest } from '@tollgate/core';
import { loadGate, normalizeProxyConfig, type Gate } from '../../packages/proxy/src/index.js';
import { UpstreamGateway } from '../../packages/proxy/src/upstream/gateway.js';
import type { UpstreamObserver } from '../../packages/proxy/src/upstream/counted-calls.js';
import { RegistryUpstream } from '../../packages/proxy/src/upstream/registry-upstream.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let registry: RunningRegistry;
let faults: FaultProxy;
let work: string;
let gate: Gate;
let proxy: RunningProxy;
const key = generateKeyPair('ecdsa-p256');
let seq = 0;

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tollgate-gateway-'));
  const pem = publicVerificationKey(key).pem;
  await writeFile(
    join(work, 'policy.yaml'),
    `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: release\n        key: {pem: ${JSON.stringify(pem)}}\n        transparencyLog: ignore\n`,
  );
  const config = normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }], gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
  gate = (await loadGate(config.gate, config.upstreams))!;
  // A tag is asked of the upstream on every pull, so each pull below reaches it.
  proxy = await startProxy({ gate, upstreams: [{ name: 'up', url: faults.url, default: true }], cache: { tagTtlSeconds: 0 } });
}, 60_000);

afterAll(async () => {
  await Promise.all([proxy?.stop(), faults?.stop(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function signedImage(): Promise<{ repo: string; image: BuiltImage }> {
  const repo = `gateway/app${seq++}`;
  const layout = join(work, repo.replace('/', '-'));
  const image = await buildImage(await OciLayoutWriter.create(layout), { tag: 'v1', layers: [{ files: [{ path: 'app/main', content: repo }] }], config: { config: { User: '1000' } } });
  await pushOciLayout(layout, 'v1', registry.host, `${repo}:v1`);
  await signImage(`${registry.host}/${repo}:v1`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });
  return { repo, image };
}

const manifest = (repo: string, reference = 'v1') => fetchAll(`${proxy.url}/v2/${repo}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
const referrersApiCalls = (repo: string) => faults.count((r) => r.method === 'GET' && r.path.startsWith(`/v2/${repo}/referrers/`));

/** tollgate_proxy_upstream_requests_total of upstream `up` from /metrics, by `operation/outcome`. */
async function upstreamRequests(): Promise<Map<string, number>> {
  const text = (await fetchAll(`${proxy.url}/metrics`)).body.toString();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^tollgate_proxy_upstream_requests_total\{(.*)\} (\d+)$/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.upstream === 'up') counts.set(`${labels.operation}/${labels.outcome}`, Number(match[2]));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>, operation: string, outcome?: string): number {
  let sum = 0;
  for (const [label, n] of after) {
    const [op, out] = label.split('/');
    if (op === operation && (outcome === undefined || out === outcome)) sum += n - (before.get(label) ?? 0);
  }
  return sum;
}

async function upstreamUp(running: RunningProxy = proxy): Promise<{ ready: boolean | undefined; gauge: number | undefined }> {
  const ready = JSON.parse((await fetchAll(`${running.url}/readyz`)).body.toString()) as { upstreams: Record<string, boolean | undefined> };
  const text = (await fetchAll(`${running.url}/metrics`)).body.toString();
  const gauge = /^tollgate_proxy_upstream_up\{upstream="up"\} (\d+)$/m.exec(text)?.[1];
  return { ready: ready.upstreams.up, gauge: gauge === undefined ? undefined : Number(gauge) };
}

describe('the gate reads through the gateway', () => {
  it("counts the gate's signature and referrer reads in /metrics, one per upstream request", async () => {
    const { repo, image } = await signedImage();
    const before = await upstreamRequests();
    const pulled = await manifest(repo);
    expect(pulled.status, pulled.body.toString()).toBe(200);
    expect(pulled.headers.get('docker-content-digest')).toBe(image.descriptor.digest);
    const after = await upstreamRequests();
    // Each referrers listing asks the referrers API once (distribution 2.8 has none: it falls back to the tag schema).
    expect(delta(before, after, 'signature-referrers')).toBe(referrersApiCalls(repo));
    expect(delta(before, after, 'signature-referrers', 'ok')).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'signature-manifest', 'ok')).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'signature-blob', 'ok')).toBeGreaterThanOrEqual(1);
    // cosign's legacy .sig/.att tags are absent: answers, counted as such.
    expect(delta(before, after, 'signature-manifest', 'NOT_FOUND')).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'manifest', 'ok')).toBe(1);
  });

  it('20 concurrent pulls of a new manifest make one upstream referrers read', async () => {
    const { repo, image } = await signedImage();
    const pulls = await Promise.all(Array.from({ length: 20 }, () => manifest(repo)));
    for (const pulled of pulls) {
      expect(pulled.status, pulled.body.toString()).toBe(200);
      expect(pulled.headers.get('docker-content-digest')).toBe(image.descriptor.digest);
    }
    expect(referrersApiCalls(repo)).toBe(1);
  });
});

describe("the gate's reads and the upstream's health", () => {
  it('a referrers listing the upstream fails is undecided (503) and marks the upstream down; the next pull brings it back', async () => {
    // Another image pulled first, so the upstream is known up; `other` has no verdict yet, so its pull asks the gate.
    const { repo, image } = await signedImage();
    expect((await manifest(repo, image.descriptor.digest)).status).toBe(200);
    const { repo: other } = await signedImage();
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
    faults.arm('500', (r) => r.path.startsWith(`/v2/${other}/referrers/`));
    const undecided = await manifest(other);
    expect(undecided.status).toBe(503);
    const error = (JSON.parse(undecided.body.toString()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/from upstream up right now/);
    expect(await upstreamUp()).toEqual({ ready: false, gauge: 0 });
    expect((await manifest(other)).status).toBe(200);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
  });
});

describe('concurrent identical reads share one upstream request', () => {
  it('referrers listings, signature manifests and signature blobs, for the gate and for clients', async () => {
    const { repo, image } = await signedImage();
    const gateway = proxy.proxy.core.upstreams[0]!;
    const reader = signatureLocationOf(gateway.source(repo))!.reader;
    const digest = image.descriptor.digest;
    const calls = referrersApiCalls(repo);
    // All twenty ask before the first answer can come back: one request each time.
    const listings = await Promise.all(Array.from({ length: 20 }, () => reader.referrers(repo, digest)));
    expect(referrersApiCalls(repo)).toBe(calls + 1);
    const bundle = listings[0]!.index.manifests[0]!;
    expect(listings.every((l) => l.index.manifests[0]?.digest === bundle.digest)).toBe(true);

    const manifestGets = () => faults.count((r) => r.method === 'GET' && r.path === `/v2/${repo}/manifests/${bundle.digest}`);
    const manifests = await Promise.all(Array.from({ length: 20 }, () => reader.getManifest(repo, bundle.digest)));
    expect(manifestGets()).toBe(1);
    const layer = (JSON.parse(Buffer.from(manifests[0]!.bytes).toString()) as ImageManifest).layers[0]!;

    const blobGets = () => faults.count((r) => r.method === 'GET' && r.path === `/v2/${repo}/blobs/${layer.digest}`);
    const blobs = await Promise.all(Array.from({ length: 20 }, async () => Buffer.concat(await (await reader.getBlob(repo, layer.digest, { expectedSize: layer.size })).toArray())));
    expect(blobGets()).toBe(1);
    for (const bytes of blobs) expect(bytes.equals(blobs[0]!)).toBe(true);
    expect(blobs[0]!.length).toBe(layer.size);

    // A client's referrers listing goes through the same gateway.
    const clientCalls = referrersApiCalls(repo);
    await Promise.all(Array.from({ length: 20 }, () => gateway.referrers(repo, digest)));
    expect(referrersApiCalls(repo)).toBe(clientCalls + 1);
  });

  it('past its memory bounds a read is not shared, only made on its own', async () => {
    const { repo, image } = await signedImage();
    const config = normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }] }, { env: {} }).upstreams[0]!;
    const seen: string[] = [];
    const small = new UpstreamGateway(new RegistryUpstream(config, {}), { request: (_u, operation, outcome) => seen.push(`${operation}/${outcome}`), health: () => undefined }, { maxShared: 1, maxBlobBytes: 16, maxBlobBytesInFlight: 16 });
    try {
      const reader = signatureLocationOf(small.source(repo))!.reader;
      const listing = await reader.referrers(repo, image.descriptor.digest);
      const bundle = (JSON.parse(Buffer.from((await reader.getManifest(repo, listing.index.manifests[0]!.digest)).bytes).toString()) as ImageManifest).layers[0]!;
      expect(bundle.size).toBeGreaterThan(16);
      const blobGets = () => faults.count((r) => r.method === 'GET' && r.path === `/v2/${repo}/blobs/${bundle.digest}`);
      const before = blobGets();
      const streams = await Promise.all(Array.from({ length: 3 }, () => reader.getBlob(repo, bundle.digest, { expectedSize: bundle.size })));
      for (const stream of streams) expect(Buffer.concat(await stream.toArray()).length).toBe(bundle.size);
      expect(blobGets()).toBe(before + 3);
      // One shared read at a time (maxShared 1): with another listing holding the slot, two identical ones are two reads.
      const calls = referrersApiCalls(repo);
      const digest = image.descriptor.digest;
      await Promise.all([reader.referrers(repo, digest, { artifactType: 'application/x-other' }), reader.referrers(repo, digest), reader.referrers(repo, digest)]);
      expect(referrersApiCalls(repo)).toBe(calls + 3);
      expect(seen.filter((s) => s === 'signature-blob/ok')).toHaveLength(3);
    } finally {
      await small.close();
    }
  });
});

describe('what the upstream answers', () => {
  const answers: { fault: Fault; status: number }[] = [
    { fault: '400', status: 400 },
    { fault: '405', status: 405 },
    { fault: '501', status: 501 },
  ];
  for (const { fault, status } of answers) {
    it(`a ${status} to a manifest reaches the client with its status and code; the upstream stays up`, async () => {
      const { repo } = await signedImage();
      expect((await manifest(repo)).status).toBe(200);
      expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
      const before = await upstreamRequests();
      faults.arm(fault, (r) => r.path === `/v2/${repo}/manifests/v1`);
      const answered = await manifest(repo);
      expect(answered.status).toBe(status);
      const error = (JSON.parse(answered.body.toString()) as { errors: { code: string; message: string; detail: { upstreamStatus: number } }[] }).errors[0]!;
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toBe(`the upstream registry answered HTTP ${status}: injected by the fault proxy`);
      expect(error.detail.upstreamStatus).toBe(status);
      expect(delta(before, await upstreamRequests(), 'manifest', 'REGISTRY_ERROR')).toBe(1);
      expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
      // Not an outage, so no stale answer either: the next pull asks again and is served.
      expect((await manifest(repo)).status).toBe(200);
    });
  }

  it('a 500 is 503 UNAVAILABLE (clients retry) and marks the upstream down until it answers again', async () => {
    const { repo, image } = await signedImage();
    // Pulled by digest first so the upstream is known up; the tag was never resolved, so there is no stale answer.
    expect((await manifest(repo, image.descriptor.digest)).status).toBe(200);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
    faults.arm('500', (r) => r.path === `/v2/${repo}/manifests/v1`);
    const failed = await manifest(repo);
    expect(failed.status).toBe(503);
    expect((JSON.parse(failed.body.toString()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
    expect(await upstreamUp()).toEqual({ ready: false, gauge: 0 });
    expect((await manifest(repo)).status).toBe(200);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
  });
});

describe("the proxy's own store failing", () => {
  it('is not an upstream outage: an undecided evaluation names the store, and the upstream stays up', async () => {
    const { repo, image } = await signedImage();
    const storeDown: Gate = {
      revision: 'store-down',
      async evaluate() {
        throw new TollgateError('STORE_UNAVAILABLE', 'the Redis metadata store at 127.0.0.1:1 is unreachable (ECONNREFUSED); requests fail until it is back');
      },
    };
    const running = await startProxy({ gate: storeDown, upstreams: [{ name: 'up', url: faults.url, default: true }] });
    try {
      const undecided = await fetchAll(`${running.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
      expect(undecided.status).toBe(503);
      const error = (JSON.parse(undecided.body.toString()) as { errors: { code: string; message: string }[] }).errors[0]!;
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toMatch(/store is unavailable/);
      expect(error.message).not.toMatch(/from upstream/);
      const audit = await running.proxy.core.meta.listAudit(5);
      expect(audit.find((e) => e.type === 'verdict' && e.digest === image.descriptor.digest)).toMatchObject({ verdict: 'indeterminate', rule: 'unavailable' });
      // The manifest came from the upstream just before: it is up, and stays so.
      expect(await upstreamUp(running)).toEqual({ ready: true, gauge: 1 });
    } finally {
      await running.stop();
    }
  });
});

describe('a blob read counts when its body ends', () => {
  const blobPath = (repo: string, digest: string) => `/v2/${repo}/blobs/${digest}`;
  const pullBlob = (repo: string, digest: string) => fetchAll(`${proxy.url}${blobPath(repo, digest)}`);
  const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

  /** An image whose manifest the proxy admitted (so its blobs may be pulled), with the upstream known up. */
  async function admitted(): Promise<{ repo: string; layer: { digest: string; size: number } }> {
    const { repo, image } = await signedImage();
    expect((await manifest(repo)).status).toBe(200);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
    return { repo, layer: image.layers[0]! };
  }

  /** A gateway of its own over the fault proxy, reporting to `seen` (`operation/outcome`, `health/up|down`). */
  function spiedGateway(seen: string[]): UpstreamGateway {
    const config = normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }] }, { env: {} }).upstreams[0]!;
    const observer: UpstreamObserver = { request: (_u, operation, outcome) => seen.push(`${operation}/${outcome}`), health: (_u, ok) => seen.push(`health/${ok ? 'up' : 'down'}`) };
    return new UpstreamGateway(new RegistryUpstream(config, {}), observer);
  }

  it('a body reset mid-way is a NETWORK_ERROR and marks the upstream down; the next, complete body is ok and brings it back', async () => {
    const { repo, layer } = await admitted();
    const before = await upstreamRequests();
    faults.arm('reset', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
    const broken = await pullBlob(repo, layer.digest);
    expect(broken.error !== undefined || broken.status !== 200).toBe(true);
    const afterReset = await upstreamRequests();
    expect(delta(before, afterReset, 'blob', 'NETWORK_ERROR')).toBe(1);
    expect(delta(before, afterReset, 'blob', 'ok')).toBe(0);
    expect(await upstreamUp()).toEqual({ ready: false, gauge: 0 });

    const good = await pullBlob(repo, layer.digest);
    expect(good.status).toBe(200);
    expect(sha256(good.body)).toBe(layer.digest);
    const afterGood = await upstreamRequests();
    expect(delta(afterReset, afterGood, 'blob', 'ok')).toBe(1);
    expect(delta(afterReset, afterGood, 'blob')).toBe(1);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
  });

  it('a body that ends short is a SIZE_MISMATCH, and like a manifest failing its digest leaves the upstream up', async () => {
    const { repo, layer } = await admitted();
    const before = await upstreamRequests();
    faults.arm('truncate', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
    const broken = await pullBlob(repo, layer.digest);
    expect(broken.error !== undefined || broken.status !== 200).toBe(true);
    const after = await upstreamRequests();
    expect(delta(before, after, 'blob', 'SIZE_MISMATCH')).toBe(1);
    expect(delta(before, after, 'blob')).toBe(1);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
  });

  it('a complete body with altered bytes is ok for the upstream read: the digest check counts it as an integrity failure', async () => {
    const { repo, layer } = await admitted();
    const integrity = async () => Number(/^tollgate_proxy_integrity_failures_total\{upstream="up",kind="blob"\} (\d+)$/m.exec((await fetchAll(`${proxy.url}/metrics`)).body.toString())?.[1] ?? 0);
    const before = await upstreamRequests();
    const failuresBefore = await integrity();
    faults.arm('flip', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
    const refused = await pullBlob(repo, layer.digest);
    expect(refused.error !== undefined || refused.status !== 200).toBe(true);
    const after = await upstreamRequests();
    expect(delta(before, after, 'blob', 'ok')).toBe(1);
    expect(delta(before, after, 'blob')).toBe(1);
    expect(await integrity()).toBe(failuresBefore + 1);
    expect(await upstreamUp()).toEqual({ ready: true, gauge: 1 });
  });

  it('is not counted while the body is still arriving; a read the proxy aborts then is `aborted`, not a failure', async () => {
    const { repo, layer } = await admitted();
    const seen: string[] = [];
    const gateway = spiedGateway(seen);
    try {
      faults.arm('stall', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
      const stalled = once(faults.events, 'stalled');
      const controller = new AbortController();
      const body = await gateway.getBlob(repo, layer.digest, layer.size, controller.signal);
      const failed = once(body, 'error').catch(() => undefined);
      body.resume();
      await stalled;
      // The headers and half the body are here: nothing to count yet.
      expect(seen).toEqual([]);
      controller.abort(new TollgateError('NETWORK_ERROR', 'the proxy is shutting down'));
      await failed;
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual(['blob/aborted']);
    } finally {
      await gateway.close();
    }
  });

  it('a body the proxy stops reading (destroyed before its end) is `aborted`, not a failure', async () => {
    const { repo, layer } = await admitted();
    const seen: string[] = [];
    const gateway = spiedGateway(seen);
    try {
      faults.arm('stall', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
      const stalled = once(faults.events, 'stalled');
      const body = await gateway.getBlob(repo, layer.digest, layer.size, new AbortController().signal);
      body.resume();
      await stalled;
      expect(seen).toEqual([]);
      const closed = once(body, 'close');
      body.destroy();
      await closed;
      expect(seen).toEqual(['blob/aborted']);
    } finally {
      await gateway.close();
    }
  });

  it('a download abandoned when the proxy shuts down, its client gone, counts as `aborted` and leaves the upstream up', async () => {
    const { repo, layer } = await admitted();
    const running = await startProxy({ gate, upstreams: [{ name: 'up', url: faults.url, default: true }] });
    const blobCounts = async () => {
      const values = (await running.proxy.core.metrics.upstreamRequests.get()).values;
      return new Map(values.filter((v) => v.labels.upstream === 'up').map((v) => [`${v.labels.operation}/${v.labels.outcome}`, v.value]));
    };
    try {
      // The gate reads the image's config blob too: counted before the download below.
      expect((await fetchAll(`${running.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
      const before = await blobCounts();
      faults.arm('stall', (r) => r.method === 'GET' && r.path === blobPath(repo, layer.digest));
      const stalled = once(faults.events, 'stalled');
      const client = new AbortController();
      const pulling = fetch(`${running.url}${blobPath(repo, layer.digest)}`, { signal: client.signal }).then((r) => r.arrayBuffer()).catch(() => undefined);
      await stalled;
      // Half the body reached the proxy; the client gives up, then the proxy shuts down and drops the download.
      client.abort();
      await pulling;
      expect(delta(before, await blobCounts(), 'blob')).toBe(0);
      await running.close();
      const after = await blobCounts();
      expect(delta(before, after, 'blob', 'aborted')).toBe(1);
      expect(delta(before, after, 'blob')).toBe(1);
      expect((await running.proxy.core.metrics.upstreamUp.get()).values.find((v) => v.labels.upstream === 'up')?.value).toBe(1);
    } finally {
      await running.stop();
    }
  });
});

describe('a manifest read the proxy gives up', () => {
  const manifestGet = (repo: string) => (r: { method: string; path: string }) => r.method === 'GET' && r.path === `/v2/${repo}/manifests/v1`;

  /** A gateway of its own over the fault proxy, reporting to `seen` (`operation/outcome`, `health/up|down`). */
  function spiedGateway(seen: string[]): UpstreamGateway {
    const config = normalizeProxyConfig({ dataDir: work, upstreams: [{ name: 'up', url: faults.url, default: true }] }, { env: {} }).upstreams[0]!;
    const observer: UpstreamObserver = { request: (_u, operation, outcome) => seen.push(`${operation}/${outcome}`), health: (_u, ok) => seen.push(`health/${ok ? 'up' : 'down'}`) };
    return new UpstreamGateway(new RegistryUpstream(config, {}), observer);
  }

  it('held upstream when the gateway abandons its reads is `aborted`, stops at once and leaves the upstream alone', async () => {
    const { repo } = await signedImage();
    const seen: string[] = [];
    const gateway = spiedGateway(seen);
    try {
      faults.arm('hold', manifestGet(repo));
      const held = once(faults.events, 'held');
      const reading = gateway.getManifest(repo, 'v1').then(
        () => undefined,
        (error: unknown) => error,
      );
      await held;
      expect(seen).toEqual([]);
      gateway.abandonReads();
      const error = await reading;
      expect(error).toBeInstanceOf(TollgateError);
      expect((error as TollgateError).code).toBe('NETWORK_ERROR');
      expect((error as TollgateError).message).toMatch(/the proxy is shutting down/);
      expect(seen).toEqual(['manifest/aborted']);
      // A read asked for after that is given up too, without reaching the upstream.
      const asked = faults.count(manifestGet(repo));
      await expect(gateway.listTags(repo, {})).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
      expect(seen).toEqual(['manifest/aborted', 'tags/aborted']);
      expect(faults.count(manifestGet(repo))).toBe(asked);
    } finally {
      faults.release();
      await gateway.close();
    }
  });

  it('held upstream while the proxy shuts down (its client gone) is `aborted`; the upstream stays up', async () => {
    const { repo, image } = await signedImage();
    const running = await startProxy({ gate, upstreams: [{ name: 'up', url: faults.url, default: true }], cache: { tagTtlSeconds: 0 } });
    const counts = async () => {
      const values = (await running.proxy.core.metrics.upstreamRequests.get()).values;
      return new Map(values.filter((v) => v.labels.upstream === 'up').map((v) => [`${v.labels.operation}/${v.labels.outcome}`, v.value]));
    };
    const up = async () => (await running.proxy.core.metrics.upstreamUp.get()).values.find((v) => v.labels.upstream === 'up')?.value;
    try {
      // Pulled by digest first, so the upstream is known up.
      expect((await fetchAll(`${running.url}/v2/${repo}/manifests/${image.descriptor.digest}`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
      expect(await up()).toBe(1);
      const before = await counts();
      faults.arm('hold', manifestGet(repo));
      const held = once(faults.events, 'held');
      const client = new AbortController();
      const pulling = fetch(`${running.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT }, signal: client.signal }).catch(() => undefined);
      await held;
      client.abort();
      await pulling;
      await running.close();
      await vi.waitFor(async () => expect(delta(before, await counts(), 'manifest', 'aborted')).toBe(1), { timeout: 5000 });
      const after = await counts();
      expect(delta(before, after, 'manifest')).toBe(1);
      expect(await up()).toBe(1);
    } finally {
      faults.release();
      await running.stop();
    }
  });

  it('a manifest read the upstream resets is a NETWORK_ERROR and marks the upstream down', async () => {
    const { repo } = await signedImage();
    const seen: string[] = [];
    const gateway = spiedGateway(seen);
    try {
      faults.arm('reset', manifestGet(repo));
      await expect(gateway.getManifest(repo, 'v1')).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
      expect(seen).toEqual(['manifest/NETWORK_ERROR', 'health/down']);
    } finally {
      await gateway.close();
    }
  });
});
