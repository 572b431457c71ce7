/**
 * A proxy whose metadata is in Redis, when Redis goes away: every manifest and blob request answers 503 UNAVAILABLE
 * within seconds (never a 500, never content, never a hang), and once Redis is back the proxy serves again without
 * a restart, deciding afresh what the lost store had decided. Starting without Redis fails in one line; a Redis
 * that stops answering fails commands within seconds; a password in the URL never reaches a message.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { RedisMetadataStore } from '../../packages/proxy/src/store/redis-metadata-store.js';
import { runCli } from '../support/cli.js';
import { freePort, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

/** How long a request may take to be refused while Redis is down: fast, not a connect or command timeout. */
const REFUSED_WITHIN_MS = 2_000;
const PASSWORD = 'pw-3a1f-not-for-logs';

async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  expect(Date.now() - started).toBeLessThan(ms);
  return result;
}

async function storeError(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(
    () => expect.unreachable('the store call succeeded'),
    (e: unknown) => e as { code: string; message: string },
  );
  expect(error.message).not.toContain('\n');
  expect(error.message).not.toContain(PASSWORD);
  return error;
}

describe('a proxy on Redis metadata', () => {
  let work: string;
  let redis: RunningRedis;
  let registry: RunningRegistry;
  let counting: FaultProxy;
  let proxy: RunningProxy;
  let image: PushedImage;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-redis-outage-'));
    redis = await startRedis({ password: PASSWORD });
    registry = await startRegistry();
    counting = await startFaultProxy(registry.url);
    image = await pushRawImage(registry.host, 'team/app', '1', [64 * 1024]);
    proxy = await startProxy({ gate: allowListGate({ 'lab/team/app': [image.digest] }), upstreams: [{ name: 'lab', url: counting.url, default: true }], extra: { store: { metadata: redis.url(1) } } });
  });

  afterAll(async () => {
    await proxy?.stop();
    await counting?.stop();
    await registry?.stop();
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const manifestUrl = (ref: string) => `${proxy.url}/v2/team/app/manifests/${ref}`;
  const blobUrl = (digest: string) => `${proxy.url}/v2/team/app/blobs/${digest}`;
  const manifestRequests = () => counting.count((r) => r.path.includes('/manifests/'));

  async function pullsWhole(): Promise<void> {
    const manifest = await fetchAll(manifestUrl('1'), { headers: { accept: MANIFEST_ACCEPT } });
    expect(manifest.status).toBe(200);
    expect(manifest.body.equals(image.manifest)).toBe(true);
    for (const blob of [image.config, ...image.layers]) {
      const got = await fetchAll(blobUrl(blob.digest));
      expect(got.status).toBe(200);
      expect(got.body.equals(blob.bytes)).toBe(true);
    }
  }

  it('answers 503 UNAVAILABLE while Redis is down, serving nothing, and serves again by itself once it is back', async () => {
    await pullsWhole();
    expect((await fetchAll(`${proxy.url}/readyz`)).status).toBe(200);

    await redis.shutdown();
    const requests: [string, RequestInit][] = [
      [manifestUrl('1'), { headers: { accept: MANIFEST_ACCEPT } }],
      [manifestUrl(image.digest), { headers: { accept: MANIFEST_ACCEPT } }],
      [manifestUrl(image.digest), { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }],
      [blobUrl(image.layers[0]!.digest), {}],
      [blobUrl(image.config.digest), { method: 'HEAD' }],
    ];
    for (const [url, init] of requests) {
      const answer = await within(REFUSED_WITHIN_MS, () => fetchAll(url, init));
      expect(answer.status, `${init.method ?? 'GET'} ${url}`).toBe(503);
      expect(answer.headers.get('docker-content-digest')).toBeNull();
      if (init.method !== 'HEAD') {
        const body = JSON.parse(answer.body.toString()) as { errors: { code: string; message: string; detail: { store: string } }[] };
        expect(body.errors[0]!.code).toBe('UNAVAILABLE');
        expect(body.errors[0]!.message).toMatch(/store is unavailable.*try again/);
        expect(body.errors[0]!.detail.store).toMatch(/^the Redis metadata store at 127\.0\.0\.1:\d+ is unreachable \(.+\); requests fail until it is back$/);
        expect(answer.body.toString()).not.toContain(PASSWORD);
      }
    }
    // A tag list is read from the upstream, then cannot be recorded: the store's 503, not the upstream's.
    const tags = await within(REFUSED_WITHIN_MS, () => fetchAll(`${proxy.url}/v2/team/app/tags/list`));
    expect(tags.status).toBe(503);
    expect(tags.body.toString()).toMatch(/store is unavailable/);
    // The proxy's own store is what is down: the upstream is not marked down, in /readyz or in the metrics.
    const ready = JSON.parse((await fetchAll(`${proxy.url}/readyz`)).body.toString()) as { upstreams: Record<string, boolean> };
    expect(ready.upstreams.lab).toBe(true);
    expect((await fetchAll(`${proxy.url}/metrics`)).body.toString()).toMatch(/^tollgate_proxy_upstream_up\{upstream="lab"\} 1$/m);

    await redis.start();
    const before = manifestRequests();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answer = await fetchAll(manifestUrl('1'), { headers: { accept: MANIFEST_ACCEPT } });
      if (answer.status === 200) break;
      expect(answer.status).toBe(503);
      expect(Date.now(), 'the proxy did not recover within 15 s of Redis coming back').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    await pullsWhole();
    // The new Redis is empty: the tag was resolved and the manifest evaluated again, not taken from anywhere else.
    expect(manifestRequests()).toBeGreaterThan(before);
    const verdicts = await proxy.proxy.core.meta.listAudit(10);
    expect(verdicts.filter((e) => e.type === 'verdict').map((e) => e.cached)).toContain(false);
    expect((await fetchAll(`${proxy.url}/readyz`)).status).toBe(200);
  });
});

describe('the Redis metadata store alone', () => {
  let redis: RunningRedis;

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('fails a command within seconds when Redis stops answering, and works again once it answers', async () => {
    const store = await RedisMetadataStore.open(redis.url(2));
    try {
      await store.putHealth('lab', { ok: true, at: 1 });
      await redis.pause();
      try {
        const error = await within(7_000, () => storeError(store.getHealth('lab')));
        expect(error.code).toBe('STORE_UNAVAILABLE');
        expect(error.message).toMatch(/^the Redis metadata store at 127\.0\.0\.1:\d+ is unreachable \(no answer/);
        // The silent connection was given up: the next command does not wait another 5 s.
        expect((await within(REFUSED_WITHIN_MS, () => storeError(store.getHealth('lab')))).code).toBe('STORE_UNAVAILABLE');
      } finally {
        await redis.resume();
      }
      const deadline = Date.now() + 15_000;
      for (;;) {
        const health = await store.getHealth('lab').catch(() => undefined);
        if (health !== undefined) {
          expect(health).toEqual({ ok: true, at: 1 });
          break;
        }
        expect(Date.now(), 'the store did not recover within 15 s of Redis answering again').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await store.close();
    }
  });

  it('refuses to open with wrong credentials, saying so without the password', async () => {
    const url = redis.url(0).replace(encodeURIComponent(PASSWORD), `${PASSWORD}-wrong`);
    const error = await storeError(RedisMetadataStore.open(url));
    expect(error.code).toBe('STORE_ERROR');
    expect(error.message).toMatch(/^the Redis metadata store at 127\.0\.0\.1:\d+ refused tollgate \(WRONGPASS\); check the user, password and database in store\.metadata$/);
  });

  it('fails to open within ~5 s when something listens but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const error = await within(7_000, () => storeError(RedisMetadataStore.open(`redis://:${PASSWORD}@127.0.0.1:${port}/0`)));
      expect(error.code).toBe('STORE_UNAVAILABLE');
      expect(error.message).toBe(`cannot reach the Redis metadata store at 127.0.0.1:${port} (${error.message.match(/\((.+)\)/)![1]}); check store.metadata and that redis-server runs`);
      expect(error.message).toMatch(/\(no answer/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('starting a proxy while Redis is down', () => {
  let work: string;
  let port: number;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-redis-down-'));
    port = await freePort();
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const expected = () => new RegExp(`cannot reach the Redis metadata store at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); check store\\.metadata and that redis-server runs`);

  it('fails at once with one line naming host:port', async () => {
    const start = startProxy({ gate: allowListGate({}), upstreams: [{ name: 'lab', url: 'http://127.0.0.1:9', default: true }], extra: { store: { metadata: `redis://:${PASSWORD}@127.0.0.1:${port}/0` } } });
    const error = await within(REFUSED_WITHIN_MS, () => storeError(start));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toMatch(expected());
  });

  it('makes `tollgate proxy serve` exit with that line, and no password', async () => {
    const config = join(work, 'tollgate.yaml');
    await writeFile(config, `dataDir: ${join(work, 'data')}\nstore:\n  metadata: redis://:${PASSWORD}@127.0.0.1:${port}/0\ngate: allow-all\nupstreams:\n  - name: lab\n    url: http://127.0.0.1:9\n    default: true\n`);
    const result = await runCli(['proxy', 'serve', '--config', config, '--listen', '127.0.0.1:0']);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected());
    expect(result.stderr + result.stdout).not.toContain(PASSWORD);
  });
});
