/**
 * Operations: an upstream behind htpasswd reached with credentials from the environment (never logged), LRU
 * eviction under the size bound, graceful shutdown that finishes a pull in flight, and secret redaction in logs.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate, createLogger, createProxy, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, sha256 } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const CREDS = { username: 'puller', password: 'pw-7c1f-never-logged' };
let plain: RunningRegistry;
let locked: RunningRegistry;
let faults: FaultProxy;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [plain, locked] = await Promise.all([startRegistry(), startRegistry({ htpasswd: CREDS })]);
  faults = await startFaultProxy(plain.url);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await faults?.stop();
  await plain?.stop();
  await locked?.stop();
});

async function started(options: Parameters<typeof startProxy>[0]): Promise<RunningProxy> {
  const proxy = await startProxy(options);
  stops.push(() => proxy.stop());
  return proxy;
}

describe('an upstream behind htpasswd', () => {
  it('is reached with credentials from passwordEnv; wrong credentials fail closed', async () => {
    const client = (await import('@tollgate/core')).RegistryClient;
    const pusher = new client(locked.host, { credentials: CREDS });
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await pusher.pushBlob('private/app', config, sha256(config), config.length);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }));
    const digest = await pusher.putManifest('private/app', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');

    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (d: Buffer) => (logText += d.toString()));
    const upstream = { name: 'private', url: locked.url, default: true, credentials: { username: CREDS.username, passwordEnv: 'PRIVATE_REGISTRY_PASSWORD' } };
    const config2 = normalizeProxyConfig({ listen: '127.0.0.1:0', dataDir: join(plain.rootDirectory, 'proxy-locked'), upstreams: [upstream] }, { env: {} });
    const proxy = await createProxy(config2, { gate: allowAllGate, logger: createLogger('debug', logs), env: { PRIVATE_REGISTRY_PASSWORD: CREDS.password } });
    const { url } = await proxy.listen();
    stops.push(() => proxy.close());
    const response = await fetchAll(`${url}/v2/private/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT, authorization: 'Bearer client-token-should-not-be-logged' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(digest);
    expect((await fetchAll(`${url}/v2/private/app/blobs/${sha256(config)}`)).body.equals(config)).toBe(true);

    const wrong = await started({ gate: allowAllGate, upstreams: [upstream], env: { PRIVATE_REGISTRY_PASSWORD: 'wrong' } });
    const refused = await fetchAll(`${wrong.url}/v2/private/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(refused.status).toBe(503);
    expect(refused.body.toString()).not.toContain('wrong');

    await expect(startProxy({ gate: allowAllGate, upstreams: [upstream], env: {} })).rejects.toThrow(/PRIVATE_REGISTRY_PASSWORD .* is not set/);
    expect(logText).toContain('"msg"');
    expect(logText).not.toContain(CREDS.password);
    expect(logText).not.toContain('client-token-should-not-be-logged');
  });
});

describe('retention', () => {
  it('evicts least recently used blobs past cache.maxBytes', async () => {
    const proxy = await started({ gate: allowAllGate, upstreams: [{ name: 'up', url: plain.url, default: true }], cache: { maxBytes: 250_000 } });
    const image = await pushRawImage(plain.host, 'lru/app', 'v1', [100_000, 100_000, 100_000]);
    expect((await fetchAll(`${proxy.url}/v2/lru/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
    const [a, b, c] = image.layers as [(typeof image.layers)[0], (typeof image.layers)[0], (typeof image.layers)[0]];
    const path = (digest: string) => join(proxy.dataDir, 'blobs', 'sha256', digest.slice(7));
    for (const layer of [a, b]) {
      expect(sha256((await fetchAll(`${proxy.url}/v2/lru/app/blobs/${layer.digest}`)).body)).toBe(layer.digest);
      await proxy.proxy.core.idle();
    }
    // Reading a again makes b the least recently used.
    await fetchAll(`${proxy.url}/v2/lru/app/blobs/${a.digest}`);
    expect(sha256((await fetchAll(`${proxy.url}/v2/lru/app/blobs/${c.digest}`)).body)).toBe(c.digest);
    // Recording c and evicting past the bound happen after its response: wait for that bookkeeping.
    await proxy.proxy.core.idle();
    await expect(readFile(path(b.digest))).rejects.toThrow();
    expect((await readFile(path(a.digest))).length).toBe(a.size);
    expect((await readFile(path(c.digest))).length).toBe(c.size);
    const metrics = (await fetchAll(`${proxy.url}/metrics`)).body.toString();
    expect(metrics).toMatch(/tollgate_proxy_cache_evictions_total 1/);
    // An evicted blob is fetched again on demand.
    expect(sha256((await fetchAll(`${proxy.url}/v2/lru/app/blobs/${b.digest}`)).body)).toBe(b.digest);
  });
});

describe('graceful shutdown', () => {
  it('finishes a pull in flight, then closes', { timeout: 20_000 }, async () => {
    const proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', url: faults.url, default: true }] });
    const image = await pushRawImage(plain.host, 'drain/app', 'v1', [200_000]);
    const layer = image.layers[0]!;
    expect((await fetchAll(`${proxy.url}/v2/drain/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
    faults.arm('hold', (r) => r.path.endsWith(`/blobs/${layer.digest}`));
    const held = once(faults.events, 'held');
    const pull = fetchAll(`${proxy.url}/v2/drain/app/blobs/${layer.digest}`);
    await held;
    const closing = proxy.close();
    faults.release();
    const response = await pull;
    expect(response.status).toBe(200);
    expect(sha256(response.body)).toBe(layer.digest);
    await closing;
    await expect(fetch(`${proxy.url}/v2/`)).rejects.toThrow();
    stops.push(() => proxy.stop());
  });
});
