/**
 * The proxy as N replicas: three `tollgate proxy serve` processes sharing a real Ceph RGW (blobs) and redis-server
 * (everything else), behind a round-robin balancer, in front of distribution's docker-registry through a counting
 * (and, when armed, faulty) proxy. What one process guarantees must hold across them: nothing unverified is served,
 * one upstream fetch per blob, a killed replica leaves nothing behind in S3, outages fail closed.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DeleteObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startRgw, type RunningRgw } from '../support/rgw.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, sha256, type PushedImage } from './support/raw-image.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startReplica, type Replica } from './support/replica.js';
import { startRoundRobin, type RoundRobin } from './support/round-robin.js';
import { skopeoPull } from './support/skopeo.js';

const execFileAsync = promisify(execFile);
const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));
const MiB = 1024 * 1024;
const PREFIX = 'scale';
const REPO = 'scale/app';

let rgw: RunningRgw;
let redis: RunningRedis;
let registry: RunningRegistry;
let faults: FaultProxy;
let work: string;
let bucket: string;
let lb: RoundRobin;
const replicas: (Replica | undefined)[] = [];
/** Every image the tests push, by tag; the gate admits exactly these digests (per config revision). */
const images = new Map<string, PushedImage>();

const keyOf = (digest: string) => `${PREFIX}/blobs/sha256/${digest.slice('sha256:'.length)}`;
// Parts go to S3 while downloads run whatever the core count (on two cores they would wait for the verified end):
// the harder path, the one a replica killed mid-download leaves a multipart upload behind on.
const s3Env = () => ({ RGW_KEY: rgw.accessKeyId, RGW_SECRET: rgw.secretAccessKey, TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD: '1' });

/** A proxy config admitting `allowed` (manifest digests of REPO at upstream `up`), as the replicas read it. */
async function writeConfig(name: string, allowed: string[], s3: Record<string, unknown> = {}): Promise<string> {
  const path = join(work, `${name}.yaml`);
  const config = {
    dataDir: join(work, 'unused'),
    logLevel: 'info',
    gate: { allowDigests: { [`up/${REPO}`]: allowed } },
    cache: { denyTtlSeconds: 0 },
    store: {
      metadata: redis.url(0),
      blobs: { s3: { endpoint: rgw.endpoint, bucket, region: 'us-east-1', prefix: PREFIX, forcePathStyle: true, credentials: { accessKeyIdEnv: 'RGW_KEY', secretAccessKeyEnv: 'RGW_SECRET' }, ...s3 } },
    },
    upstreams: [{ name: 'up', url: faults.url, default: true }],
  };
  // JSON is YAML: the loader reads it as any operator's file.
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

async function launch(index: number, configPath: string): Promise<Replica> {
  const dataDir = join(work, `replica-${index}`);
  await mkdir(dataDir, { recursive: true });
  const replica = await startReplica(configPath, { ...s3Env(), TOLLGATE_PROXY_DATA_DIR: dataDir });
  replicas[index] = replica;
  lb?.setBackend(index, replica.url);
  return replica;
}

async function push(tag: string, layerSizes: number[]): Promise<PushedImage> {
  const image = await pushRawImage(registry.host, REPO, tag, layerSizes);
  images.set(tag, image);
  return image;
}

function blobGets(digest: string): number {
  return faults.count((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`));
}

/** A pull as a client makes it: the manifest by tag, then every blob; each blob's bytes checked against its digest. */
async function pull(base: string, tag: string): Promise<{ status: number; blobs: { digest: string; ok: boolean; status: number }[] }> {
  const manifest = await fetchAll(`${base}/v2/${REPO}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } });
  if (manifest.status !== 200) return { status: manifest.status, blobs: [] };
  const parsed = JSON.parse(manifest.body.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const digests = [parsed.config.digest, ...parsed.layers.map((l) => l.digest)];
  const blobs = await Promise.all(
    digests.map(async (digest) => {
      const blob = await fetchAll(`${base}/v2/${REPO}/blobs/${digest}`);
      return { digest, status: blob.status, ok: blob.status === 200 && blob.error === undefined && sha256(blob.body) === digest };
    }),
  );
  return { status: 200, blobs };
}

async function objectExists(digest: string): Promise<boolean> {
  try {
    await rgw.client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(digest) }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

async function pendingUploads(digest: string): Promise<number> {
  const page = await rgw.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyOf(digest) }));
  return (page.Uploads ?? []).length;
}

/** Looks until `check` holds (bounded): for conditions another process brings about. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

let revision1: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-scale-out-'));
  [rgw, redis, registry] = await Promise.all([startRgw(), startRedis(), startRegistry()]);
  bucket = await rgw.createBucket();
  faults = await startFaultProxy(registry.url);
  for (const [tag, sizes] of [
    ['skopeo', [3 * MiB, 1 * MiB]],
    ['crowd', [1 * MiB, 2 * MiB, 512 * 1024, 1 * MiB]],
    ['killed', [24 * MiB]],
    ['flip', [20 * MiB]],
    ['truncate', [20 * MiB]],
    ['reset', [20 * MiB]],
    ['corrupt', [1 * MiB]],
    ['vanished', [1 * MiB]],
    ['redirect', [1 * MiB]],
    ['local', [2 * MiB]],
    ['local-peer', [2 * MiB]],
    ['local-altered', [2 * MiB]],
    ['local-waited', [8 * MiB]],
    ['gc-old', [1 * MiB]],
    ['gc-new', [1 * MiB]],
    ['redis', [1 * MiB]],
    ['next', [1 * MiB]],
    ['cold', [1 * MiB]],
  ] as const) {
    await push(tag, [...sizes]);
  }
  const everything = [...images.entries()].filter(([tag]) => tag !== 'next').map(([, image]) => image.digest);
  revision1 = await writeConfig('revision-1', everything);
  for (let i = 0; i < 3; i++) await launch(i, revision1);
  lb = await startRoundRobin(replicas.map((r) => r!.url));
}, 240_000);

afterAll(async () => {
  await lb?.stop();
  await Promise.all(replicas.map((r) => r?.stop('SIGKILL')));
  await faults?.stop();
  await registry?.stop();
  await redis?.stop();
  await rgw?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('three replicas over Ceph RGW and Redis', () => {
  it('skopeo pulls through the balancer; every blob lands in S3 once, verified', async () => {
    const image = images.get('skopeo')!;
    const out = join(work, 'skopeo-layout');
    const result = await skopeoPull(`${lb.host}/${REPO}:skopeo`, out);
    expect(result.code, result.stderr).toBe(0);
    for (const blob of [image.config, ...image.layers]) {
      expect(blobGets(blob.digest)).toBe(1);
      // The client has its last byte once the digest matched; the upload's completion follows.
      await eventually(`${blob.digest} to be committed`, () => objectExists(blob.digest));
    }
    // The balancer spread skopeo's requests over the replicas.
    expect(lb.served.filter((n) => n > 0).length).toBeGreaterThan(1);
  }, 120_000);

  it('50 concurrent cold pulls across the three: exactly one upstream GET per blob, every byte verified', async () => {
    const image = images.get('crowd')!;
    const results = await Promise.all(Array.from({ length: 50 }, () => pull(lb.url, 'crowd')));
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(result.blobs.every((b) => b.ok)).toBe(true);
    }
    for (const blob of [image.config, ...image.layers]) expect(blobGets(blob.digest)).toBe(1);
    // One evaluation of the digest across the replicas: one verdict event that did not come from the cache.
    const events = await auditEvents();
    expect(events.filter((e) => e.type === 'verdict' && e.digest === image.digest && e.cached === false)).toHaveLength(1);
  }, 120_000);

  it('kill -9 of the replica downloading a blob: no object, no multipart upload left, the pull completes through another', async () => {
    const layer = images.get('killed')!.layers[0]!;
    expect(await manifestStatus(lb.url, 'killed')).toBe(200);
    faults.arm('stall', (r) => r.path.endsWith(`/blobs/${layer.digest}`));
    const stalled = new Promise((resolve) => faults.events.once('stalled', resolve));
    const victim = replicas[0]!;
    const response = await fetch(`${victim.url}/v2/${REPO}/blobs/${layer.digest}`);
    expect(response.status).toBe(200);
    await stalled;
    // Half the blob has arrived: the replica has uploaded its first part and holds the blob's lock.
    await eventually('the stalled download to have a multipart upload in S3', async () => (await pendingUploads(layer.digest)) === 1);
    lb.setBackend(0, undefined);
    await victim.stop('SIGKILL');
    await response.body?.cancel().catch(() => undefined);
    expect(await objectExists(layer.digest)).toBe(false);

    // Another replica waits out the dead holder's lock (≤ 15 s), aborts what it left and downloads the blob whole.
    const again = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${layer.digest}`);
    expect(again.status).toBe(200);
    expect(sha256(again.body)).toBe(layer.digest);
    expect(blobGets(layer.digest)).toBe(2);
    await eventually('the blob to be committed', () => objectExists(layer.digest));
    expect(await pendingUploads(layer.digest)).toBe(0);
    await launch(0, revision1);
  }, 120_000);

  it('flipped, truncated and reset upstream bytes: nothing committed to S3, no upload left, the next pull is whole', async () => {
    for (const fault of ['flip', 'truncate', 'reset'] as const) {
      const layer = images.get(fault)!.layers[0]!;
      expect(await manifestStatus(lb.url, fault)).toBe(200);
      faults.arm(fault, (r) => r.path.endsWith(`/blobs/${layer.digest}`));
      const bad = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${layer.digest}`).catch(() => ({ status: 0, body: Buffer.alloc(0) }));
      // Whatever the client got (a cut body, a closed connection), never the whole blob: the last byte waits for the digest.
      expect(bad.status !== 200 || bad.body.length < layer.size, `${fault}: the client received ${bad.body.length} bytes`).toBe(true);
      await eventually(`${fault}: the failed download's upload to be aborted`, async () => (await pendingUploads(layer.digest)) === 0);
      expect(await objectExists(layer.digest), fault).toBe(false);

      const good = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${layer.digest}`);
      expect(good.status).toBe(200);
      expect(sha256(good.body), fault).toBe(layer.digest);
      await eventually(`${fault}: the good download to be committed`, () => objectExists(layer.digest));
    }
    const integrity = (await auditEvents()).filter((e) => e.type === 'blob-integrity' && e.digest === images.get('flip')!.layers[0]!.digest);
    expect(integrity.length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('an object altered in S3 is never served: the read is cut, the object dropped, the next pull fetches it again', async () => {
    const layer = images.get('corrupt')!.layers[0]!;
    expect((await pull(lb.url, 'corrupt')).blobs.every((b) => b.ok)).toBe(true);
    await eventually('the blob to be committed', () => objectExists(layer.digest));
    // Same size, other bytes: only hashing on the way out can tell.
    await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(layer.digest), Body: randomBytes(layer.size) }));
    const bad = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${layer.digest}`).catch(() => ({ status: 0, body: Buffer.alloc(0) }));
    expect(bad.status !== 200 || bad.body.length < layer.size).toBe(true);
    await eventually('the altered object to be removed', async () => !(await objectExists(layer.digest)));
    const good = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${layer.digest}`);
    expect(good.status).toBe(200);
    expect(sha256(good.body)).toBe(layer.digest);
    expect(blobGets(layer.digest)).toBe(2);
    expect((await auditEvents()).some((e) => e.type === 'blob-integrity' && e.digest === layer.digest)).toBe(true);
  }, 120_000);

  it('an object Redis knows but S3 lost is fetched again whole, never a short read', async () => {
    const layer = images.get('vanished')!.layers[0]!;
    expect((await pull(lb.url, 'vanished')).blobs.every((b) => b.ok)).toBe(true);
    await eventually('the blob to be committed', () => objectExists(layer.digest));
    await rgw.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(layer.digest) }));
    for (const replica of replicas) {
      const again = await fetchAll(`${replica!.url}/v2/${REPO}/blobs/${layer.digest}`);
      expect(again.status).toBe(200);
      expect(sha256(again.body)).toBe(layer.digest);
    }
    expect(blobGets(layer.digest)).toBe(2);
  }, 120_000);

  it('redirect: true answers a committed, admitted blob with a presigned S3 URL; anything else is streamed or refused', async () => {
    const layer = images.get('redirect')!.layers[0]!;
    const config = await writeConfig('redirect', [...images.values()].map((i) => i.digest), { redirect: true, redirectSeconds: 60 });
    const dataDir = join(work, 'replica-redirect');
    await mkdir(dataDir, { recursive: true });
    const redirecting = await startReplica(config, { ...s3Env(), TOLLGATE_PROXY_DATA_DIR: dataDir });
    try {
      // A blob of no admitted manifest: refused before any URL is made.
      const unknown = await fetch(`${redirecting.url}/v2/${REPO}/blobs/${layer.digest}`, { redirect: 'manual' });
      expect(unknown.status).toBe(404);
      expect(await manifestStatus(redirecting.url, 'redirect')).toBe(200);
      // Not in the store yet: downloaded and streamed as usual.
      const first = await fetchAll(`${redirecting.url}/v2/${REPO}/blobs/${layer.digest}`, { redirect: 'manual' });
      expect(first.status).toBe(200);
      expect(sha256(first.body)).toBe(layer.digest);
      await eventually('the blob to be committed', () => objectExists(layer.digest));
      const second = await fetch(`${redirecting.url}/v2/${REPO}/blobs/${layer.digest}`, { redirect: 'manual' });
      expect(second.status).toBe(307);
      const location = second.headers.get('location')!;
      expect(location.startsWith(`${rgw.endpoint}/${bucket}/${keyOf(layer.digest)}?`)).toBe(true);
      expect(location).toMatch(/X-Amz-Expires=60\b/);
      const followed = await fetchAll(location);
      expect(followed.status).toBe(200);
      expect(sha256(followed.body)).toBe(layer.digest);
      // HEAD is answered by the proxy itself.
      const head = await fetch(`${redirecting.url}/v2/${REPO}/blobs/${layer.digest}`, { method: 'HEAD', redirect: 'manual' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(layer.size));
    } finally {
      await redirecting.stop();
    }
  }, 120_000);

  it('localCache: one shared read of S3 per replica for a crowd, kept as a verified copy; the altered object in S3 never reaches a client', async () => {
    const own = images.get('local')!.layers[0]!;
    const peerBlob = images.get('local-peer')!.layers[0]!;
    const altered = images.get('local-altered')!.layers[0]!;
    // This replica reaches RGW through a counting proxy (the client's Host kept: SigV4 signs it).
    const rgwCounter = await startFaultProxy(rgw.endpoint, { preserveHost: true });
    const s3Gets = (digest: string) => rgwCounter.count((r) => r.method === 'GET' && r.path.includes(keyOf(digest)));
    const config = await writeConfig('local-cache', [...images.values()].map((i) => i.digest), { localCache: '64MiB', endpoint: rgwCounter.url });
    const dataDir = join(work, 'replica-local');
    await mkdir(dataDir, { recursive: true });
    const local = await startReplica(config, { ...s3Env(), TOLLGATE_PROXY_DATA_DIR: dataDir });
    const copyOf = (digest: string) => join(dataDir, 'local-cache', 'sha256', digest.slice('sha256:'.length));
    try {
      // Downloaded by this replica: its verified temp file becomes the copy once the last reader is done.
      expect((await pull(local.url, 'local')).blobs.every((b) => b.ok)).toBe(true);
      await eventually('the downloaded blob to become a copy', async () => existsSync(copyOf(own.digest)));
      // Downloaded by a peer; then a crowd of this replica's clients at once: one read of S3, every byte verified.
      expect((await pull(replicas[0]!.url, 'local-peer')).blobs.every((b) => b.ok)).toBe(true);
      await eventually('the blob to be committed', () => objectExists(peerBlob.digest));
      expect(await manifestStatus(local.url, 'local-peer')).toBe(200);
      const crowd = await Promise.all(Array.from({ length: 12 }, () => fetchAll(`${local.url}/v2/${REPO}/blobs/${peerBlob.digest}`)));
      for (const answer of crowd) {
        expect(answer.status).toBe(200);
        expect(sha256(answer.body)).toBe(peerBlob.digest);
      }
      expect(s3Gets(peerBlob.digest)).toBe(1);
      await eventually("the peer's blob to become a copy", async () => existsSync(copyOf(peerBlob.digest)));
      // Same size, other bytes in S3: the copies were verified when kept, so the replica sends the right blobs.
      for (const layer of [own, peerBlob]) await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(layer.digest), Body: randomBytes(layer.size) }));
      for (const layer of [own, peerBlob]) {
        const again = await fetchAll(`${local.url}/v2/${REPO}/blobs/${layer.digest}`);
        expect(again.status).toBe(200);
        expect(sha256(again.body)).toBe(layer.digest);
      }
      const range = await fetchAll(`${local.url}/v2/${REPO}/blobs/${own.digest}`, { headers: { range: 'bytes=10-19' } });
      expect(range.status).toBe(206);
      expect(range.body.length).toBe(10);
      expect(s3Gets(peerBlob.digest)).toBe(1);
      expect(blobGets(own.digest)).toBe(1);
      expect(blobGets(peerBlob.digest)).toBe(1);
      // A crowd that arrives while a peer still downloads: it waits for the peer's object, then shares one S3 read.
      const waited = images.get('local-waited')!.layers[0]!;
      expect(await manifestStatus(replicas[0]!.url, 'local-waited')).toBe(200);
      expect(await manifestStatus(local.url, 'local-waited')).toBe(200);
      faults.arm('hold', (r) => r.path.endsWith(`/blobs/${waited.digest}`));
      const held = new Promise((resolve) => faults.events.once('held', resolve));
      const peerPull = fetchAll(`${replicas[0]!.url}/v2/${REPO}/blobs/${waited.digest}`);
      await held;
      const waiting = Promise.all(Array.from({ length: 6 }, () => fetchAll(`${local.url}/v2/${REPO}/blobs/${waited.digest}`)));
      faults.release();
      for (const answer of [await peerPull, ...(await waiting)]) {
        expect(answer.status).toBe(200);
        expect(sha256(answer.body)).toBe(waited.digest);
      }
      expect(blobGets(waited.digest)).toBe(1);
      expect(s3Gets(waited.digest)).toBe(1);
      await eventually('the waited-for blob to become a copy', async () => existsSync(copyOf(waited.digest)));
      // Operators see the copies in the replica's metrics: what its local-cache directory holds.
      const onDisk = await readdir(join(dataDir, 'local-cache', 'sha256'));
      const diskBytes = (await Promise.all(onDisk.map((name) => stat(join(dataDir, 'local-cache', 'sha256', name))))).reduce((sum, info) => sum + info.size, 0);
      expect(onDisk.length).toBeGreaterThanOrEqual(3);
      const metrics = (await fetchAll(`${local.url}/metrics`)).body.toString();
      expect(Number(/^tollgate_proxy_local_copies (\d+)$/m.exec(metrics)?.[1])).toBe(onDisk.length);
      expect(Number(/^tollgate_proxy_local_copies_bytes (\d+)$/m.exec(metrics)?.[1])).toBe(diskBytes);
      // Altered in S3 before this replica read it: cut for every client, no copy kept, the object dropped and audited.
      expect((await pull(replicas[0]!.url, 'local-altered')).blobs.every((b) => b.ok)).toBe(true);
      await eventually('the blob to be committed', () => objectExists(altered.digest));
      await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(altered.digest), Body: randomBytes(altered.size) }));
      expect(await manifestStatus(local.url, 'local-altered')).toBe(200);
      const cut = await Promise.all(Array.from({ length: 3 }, () => fetchAll(`${local.url}/v2/${REPO}/blobs/${altered.digest}`).catch(() => ({ status: 0, body: Buffer.alloc(0) }))));
      for (const answer of cut) expect(answer.status !== 200 || answer.body.length < altered.size).toBe(true);
      await eventually('the altered object to be removed', async () => !(await objectExists(altered.digest)));
      expect(existsSync(copyOf(altered.digest))).toBe(false);
      expect((await auditEvents()).some((e) => e.type === 'blob-integrity' && e.digest === altered.digest)).toBe(true);
      const refetched = await fetchAll(`${local.url}/v2/${REPO}/blobs/${altered.digest}`);
      expect(refetched.status).toBe(200);
      expect(sha256(refetched.body)).toBe(altered.digest);
    } finally {
      await local.stop();
      await rgwCounter.stop();
      for (const layer of [own, peerBlob, altered, images.get('local-waited')!.layers[0]!]) await rgw.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(layer.digest) }));
    }
  }, 120_000);

  it('Redis restarted mid-run: clear 503s while it is gone, then recovery; blobs in S3 are served again without refetching', async () => {
    const crowd = images.get('crowd')!;
    await redis.shutdown();
    const manifest = await fetchAll(`${lb.url}/v2/${REPO}/manifests/redis`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(manifest.status).toBe(503);
    expect((JSON.parse(manifest.body.toString()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
    const blob = await fetchAll(`${lb.url}/v2/${REPO}/blobs/${crowd.layers[0]!.digest}`);
    expect(blob.status).toBe(503);
    expect(blobGets(images.get('redis')!.layers[0]!.digest)).toBe(0);

    // An empty Redis: every replica reconnects by itself, the gate decides again, S3 still has the verified blobs.
    await redis.start();
    for (const replica of replicas) await eventually('a replica to answer again', async () => (await manifestStatus(replica!.url, 'redis')) === 200);
    const again = await pull(lb.url, 'redis');
    expect(again.blobs.every((b) => b.ok)).toBe(true);
    const crowdAgain = await pull(lb.url, 'crowd');
    expect(crowdAgain.blobs.every((b) => b.ok)).toBe(true);
    for (const b of [crowd.config, ...crowd.layers]) expect(blobGets(b.digest)).toBe(1);
  }, 120_000);

  it('a policy change rolled out one replica at a time: each replica serves only under its own revision', async () => {
    const next = images.get('next')!;
    const revision2 = await writeConfig('revision-2', [...images.entries()].filter(([tag]) => tag !== 'crowd').map(([, i]) => i.digest));
    lb.setBackend(0, undefined);
    await replicas[0]!.stop();
    await launch(0, revision2);
    expect(await manifestStatus(replicas[0]!.url, 'crowd')).toBe(403);
    expect(await manifestStatus(replicas[0]!.url, 'next')).toBe(200);
    // The old revision's admissions are not the new one's: crowd's blobs (in S3) are refused by the new replica.
    expect((await fetchAll(`${replicas[0]!.url}/v2/${REPO}/blobs/${images.get('crowd')!.layers[0]!.digest}`)).status).toBe(404);
    for (const old of [replicas[1]!, replicas[2]!]) {
      expect(await manifestStatus(old.url, 'crowd')).toBe(200);
      expect(await manifestStatus(old.url, 'next')).toBe(403);
    }
    for (const index of [1, 2]) {
      lb.setBackend(index, undefined);
      await replicas[index]!.stop();
      await launch(index, revision2);
    }
    for (const replica of replicas) {
      expect(await manifestStatus(replica!.url, 'crowd')).toBe(403);
      expect(await manifestStatus(replica!.url, 'next')).toBe(200);
    }
    expect((await pull(lb.url, 'next')).blobs.every((b) => b.ok)).toBe(true);
    expect(blobGets(next.layers[0]!.digest)).toBe(1);
  }, 120_000);

  it('proxy gc while replicas serve: a download in flight on the same data directory survives and commits', async () => {
    const old = images.get('gc-old')!;
    const fresh = images.get('gc-new')!;
    const layer = fresh.layers[0]!;
    expect((await pull(lb.url, 'gc-old')).blobs.every((b) => b.ok)).toBe(true);
    expect(await manifestStatus(lb.url, 'gc-new')).toBe(200);
    faults.arm('hold', (r) => r.path.endsWith(`/blobs/${layer.digest}`));
    const held = new Promise((resolve) => faults.events.once('held', resolve));
    const downloading = fetchAll(`${replicas[1]!.url}/v2/${REPO}/blobs/${layer.digest}`);
    await held;
    // gc on replica 1's own data directory, emptying the cache, while its download waits for the upstream.
    const config = await writeConfig('gc', [old.digest, fresh.digest]);
    const report = JSON.parse(await cli(['proxy', 'gc', '--config', config, '--data', join(work, 'replica-1'), '--max-bytes', '0', '--json'])) as { blobsEvicted: number; tempFilesRemoved: number };
    expect(report.blobsEvicted).toBeGreaterThan(0);
    expect(report.tempFilesRemoved).toBe(0);
    faults.release();
    const served = await downloading;
    expect(served.status).toBe(200);
    expect(sha256(served.body)).toBe(layer.digest);
    await eventually('the held download to commit', () => objectExists(layer.digest));
    // Evicted blobs come back from the upstream, verified.
    expect((await pull(lb.url, 'gc-old')).blobs.every((b) => b.ok)).toBe(true);
    expect(blobGets(old.layers[0]!.digest)).toBe(2);
  }, 120_000);

  it('RGW stopped: a blob nothing cached fails closed with 503 on every replica, audited, no upstream fetch', async () => {
    const cold = images.get('cold')!;
    const layer = cold.layers[0]!;
    expect(await manifestStatus(lb.url, 'cold')).toBe(200);
    await rgw.stop();
    for (const replica of replicas) {
      const response = await fetchAll(`${replica!.url}/v2/${REPO}/blobs/${layer.digest}`);
      expect(response.status).toBe(503);
      expect((JSON.parse(response.body.toString()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
    }
    expect(blobGets(layer.digest)).toBe(0);
    const outages = (await auditEvents()).filter((e) => e.rule === 'store-unavailable' && e.digest === layer.digest);
    expect(outages.length).toBeGreaterThanOrEqual(1);
    expect(outages[0]).toMatchObject({ verdict: 'indeterminate' });
  }, 120_000);
});

async function manifestStatus(base: string, tag: string): Promise<number> {
  return (await fetchAll(`${base}/v2/${REPO}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } })).status;
}

async function auditEvents(): Promise<{ type: string; digest?: string; rule?: string; verdict?: string; cached?: boolean }[]> {
  return JSON.parse(await cli(['audit', '--config', revision1, '--json'])) as { type: string; digest?: string; rule?: string; verdict?: string; cached?: boolean }[];
}

async function cli(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s3Env() }, maxBuffer: 16 * MiB });
  return stdout;
}
