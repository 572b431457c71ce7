/**
 * The proxy as N replicas over a shared object store and Redis (issue 11), against the same proxy as one process on
 * its own disk, in the same run, on the same machine, with the same upstream (a plain docker-registry on loopback)
 * and the same image:
 *  1. cold pull, one replica on Ceph RGW + Redis against one proxy on the filesystem store + level: curl fetching the
 *     manifest by tag, then the 200 MB layer into /dev/null; every sample on a fresh process and an empty cache
 *     (fresh data directory; for RGW also an empty key prefix and an empty Redis) that first pulled a small unrelated
 *     image; the two alternating, median of RUNS, with each proxy's CPU time and the Ceph daemons' CPU time;
 *  2. warm throughput of the cached 200 MB blob (curl, WARM_GETS × 200 MB per sample, the two alternating, median of
 *     WARM_SAMPLES), with CPU per GB served;
 *  3. upstream GETs per blob: three replicas behind a round-robin balancer, CROWD concurrent cold pulls of a four-layer
 *     image (manifest by tag, then every blob, each checked against its digest), counted at a counting proxy in front
 *     of the upstream;
 *  4. peak RSS per replica while 20 clients (spread over the three replicas, one curl --parallel) pull the cold
 *     200 MB blob at once: VmRSS sampled every 25 ms, and VmHWM;
 *  5. Redis memory per cached image: `INFO memory` used_memory and the key count before and after the replicas pulled
 *     K distinct small images (one repository each: manifest, config, one 64 KiB layer), divided by K.
 *
 * The gate is the same digest allow-list (`gate: {allowDigests}`) for every proxy: this bench measures the stores, not
 * signature verification (bench/proxy-bench.ts measures that). tollgate runs as a user runs it (`tollgate proxy
 * serve`, its own process; the built CLI). Ceph RGW is the test harness's single node (a monitor, one memstore OSD,
 * radosgw; test/support/rgw.ts): its objects live in memory, the filesystem store's on this machine's disk.
 *
 * Run: pnpm exec tsx bench/scale-out-bench.ts   (after `pnpm build`; RUNS=n (7), WARM_SAMPLES=n (7), CROWD=n (10),
 * K=n (50); CASES=cold,warm,gets,rss,redis runs only some (default all; rss needs gets, which starts the replicas);
 * TOLLGATE_CLI=<other checkout>/packages/cli/bin/tollgate.js measures another build)
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { MediaType, RegistryClient } from '../packages/core/src/index.js';
import { startRgw, type RunningRgw } from '../test/support/rgw.js';
import { startRegistry, type RunningRegistry } from '../test/support/registry.js';
import { cpuSeconds, freePort, median, statusMB, waitForRegistry } from './support/processes.js';
import { startRedis, type RunningRedis } from '../test/proxy/support/redis.js';
import { startFaultProxy, type FaultProxy } from '../test/proxy/support/fault-proxy.js';
import { startRoundRobin, type RoundRobin } from '../test/proxy/support/round-robin.js';
// undici is a dependency of @tollgate/proxy, not of the repository root: its types are read from the same place
// its code is loaded from (createRequire below).
import type * as Undici from '../packages/proxy/node_modules/undici/index.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'scale-out');
const CLI = process.env.TOLLGATE_CLI ?? join(ROOT, 'packages/cli/bin/tollgate.js');
const RUNS = Number(process.env.RUNS ?? 7);
const WARM_SAMPLES = Number(process.env.WARM_SAMPLES ?? 7);
const WARM_GETS = 5;
const CROWD = Number(process.env.CROWD ?? 10);
const RSS_CLIENTS = 20;
const K = Number(process.env.K ?? 50);
const MiB = 1024 * 1024;
const BIG = 200 * MiB;
const CROWD_LAYERS = [32 * MiB, 8 * MiB, 2 * MiB, 512 * 1024];
const CASES = new Set((process.env.CASES ?? 'cold,warm,gets,rss,redis').split(',').map((c) => c.trim()));
const require = createRequire(join(ROOT, 'packages/proxy/package.json'));
const undici = require('undici') as typeof Undici;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const S3_ENV = { key: 'RGW_KEY', secret: 'RGW_SECRET' };

/** Runs a shell command without blocking the event loop (the balancer and the counting proxy live in this process). */
function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -o pipefail; ${command}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`failed (${code}): ${command.slice(0, 300)}\n${err}`))));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Processes: every one the bench starts is tracked and stopped in `cleanUp`, also on failure and on SIGINT/SIGTERM.

interface Server {
  name: string;
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<Server>();
const cleanups: (() => Promise<void>)[] = [];

/** `tollgate proxy serve` with `config` (written as JSON, which is YAML), on a free port, logging warnings only. */
async function startProxy(name: string, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const path = join(dir, 'tollgate.yaml');
  writeFileSync(path, JSON.stringify({ listen: `127.0.0.1:${port}`, logLevel: 'warn', ...config }, null, 2));
  const child = spawn(process.execPath, [CLI, 'proxy', 'serve', '--config', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // The proxy's own tuning switches (TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD, TOLLGATE_HASH_THREAD) pass through, for A/B runs.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...Object.fromEntries(Object.entries(process.env).filter(([name]) => /^(TOLLGATE_(S3_UPLOAD|HASH_THREAD)|NODE_OPTIONS$|MALLOC_ARENA_MAX$)/.test(name))), ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const server: Server = {
    name,
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      running.delete(server);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  try {
    await waitForRegistry(url, child, () => stderr, 50);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const server of [...running]) await server.stop().catch(() => undefined);
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping everything the bench started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Images, configs, stores

interface Pushed {
  repository: string;
  digest: string;
  blobs: { digest: string; size: number }[];
  /** The layers only (config excluded), largest first. */
  layers: { digest: string; size: number }[];
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes `repository:v1` with one layer of random bytes per size. */
async function pushImage(host: string, repository: string, sizes: number[]): Promise<Pushed> {
  const client = new RegistryClient(host);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const digest = sha256(bytes);
    await client.pushBlob(repository, bytes, digest, size);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const configDigest = sha256(config);
  await client.pushBlob(repository, config, configDigest, config.length);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers }));
  const digest = await client.putManifest(repository, 'v1', manifest, MediaType.OciManifest);
  const blobs = [{ digest: configDigest, size: config.length }, ...layers.map(({ digest: d, size }) => ({ digest: d, size }))];
  return { repository, digest, blobs, layers: [...layers].sort((a, b) => b.size - a.size).map(({ digest: d, size }) => ({ digest: d, size })) };
}

interface Context {
  registry: RunningRegistry;
  rgw: RunningRgw;
  redis: RunningRedis;
  bucket: string;
  allow: Record<string, string[]>;
  /** The Ceph daemons' pids (monitor, OSD, radosgw) and their config file. */
  ceph: { pids: number[]; conf: string };
}

function baseConfig(ctx: Context, upstreamUrl: string, dataDir: string): Record<string, unknown> {
  return {
    dataDir,
    cache: { maxBytes: '20GiB', tagTtlSeconds: 3600 },
    gate: { allowDigests: ctx.allow },
    upstreams: [{ name: 'up', url: upstreamUrl, default: true }],
  };
}

function s3Config(ctx: Context, upstreamUrl: string, dataDir: string, prefix: string, db: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...baseConfig(ctx, upstreamUrl, dataDir),
    store: {
      metadata: ctx.redis.url(db),
      blobs: { s3: { endpoint: ctx.rgw.endpoint, bucket: ctx.bucket, region: 'us-east-1', prefix, forcePathStyle: true, credentials: { accessKeyIdEnv: S3_ENV.key, secretAccessKeyEnv: S3_ENV.secret }, ...extra } },
    },
  };
}

const s3Env = (ctx: Context) => ({ [S3_ENV.key]: ctx.rgw.accessKeyId, [S3_ENV.secret]: ctx.rgw.secretAccessKey });

/** The Ceph daemons behind `endpoint`: radosgw is found by its config file naming the port, the others by their pid files. */
function cephDaemons(endpoint: string): { pids: number[]; conf: string } {
  const port = new URL(endpoint).port;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('radosgw')) continue;
    const conf = argv[argv.indexOf('-c') + 1];
    if (conf === undefined || !existsSync(conf) || !readFileSync(conf, 'utf8').includes(`endpoint=127.0.0.1:${port}`)) continue;
    const run = join(dirname(conf), 'run');
    const pids = readdirSync(run)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => Number(readFileSync(join(run, f), 'utf8').trim()));
    return { pids, conf };
  }
  throw new Error(`no radosgw serving ${endpoint} found`);
}

const cephCpu = (ctx: Context) => ctx.ceph.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/**
 * Removes every object and pending upload under `prefix`, then has RGW reclaim the space at once: the OSD keeps its
 * objects in 1 GiB of memory, and RGW's garbage collector would otherwise free a deleted multipart object's parts
 * only hours later.
 */
async function emptyPrefix(ctx: Context, prefix: string): Promise<void> {
  const client = ctx.rgw.client;
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: `${prefix}/` }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key !== undefined ? [{ Key: o.Key }] : []));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: ctx.bucket, Delete: { Objects: keys } }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: ctx.bucket, Prefix: `${prefix}/` }));
  for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: u.Key, UploadId: u.UploadId }));
  await sh(`timeout 120 radosgw-admin -c '${ctx.ceph.conf}' gc process --include-all`);
}

/**
 * RGW does some work once, on first use (it creates the pools for multipart uploads, for one: ~2 s here), which
 * would land in the first cold sample: a put, a missing head, a two-part multipart upload and a read, thrown away.
 */
async function warmUpRgw(ctx: Context): Promise<void> {
  const { client } = ctx.rgw;
  const [Bucket, Key] = [ctx.bucket, 'warm-up/object'];
  await client.send(new HeadObjectCommand({ Bucket, Key })).catch(() => undefined);
  await client.send(new PutObjectCommand({ Bucket, Key: `${Key}-small`, Body: randomBytes(1024), ContentLength: 1024 }));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const first = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB), ContentLength: 5 * MiB }));
  const last = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: randomBytes(1024), ContentLength: 1024 }));
  await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.ETag }, { PartNumber: 2, ETag: last.ETag }] } }));
  const read = await client.send(new GetObjectCommand({ Bucket, Key }));
  await read.Body?.transformToByteArray();
  await emptyPrefix(ctx, 'warm-up');
}

/** curl: the manifest by tag, then `layers` one after another, into /dev/null; returns the layer bytes received. */
async function curlImage(server: Server, repository: string, layers: string[]): Promise<number> {
  await sh(`curl -sfS -H 'Accept: ${ACCEPT}' -o /dev/null '${server.url}/v2/${repository}/manifests/v1'`);
  const blobs = layers.map((l) => `-o /dev/null '${server.url}/v2/${repository}/blobs/${l}'`).join(' ');
  const out = await sh(`curl -sfS ${blobs} -w '%{size_download}\\n'`);
  return out.trim().split('\n').reduce((sum, line) => sum + Number(line), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. cold, 2. warm

type Kind = 'filesystem' | 'rgw';
const KINDS: Kind[] = ['filesystem', 'rgw'];

interface ColdSample {
  seconds: number;
  /** From the moment all but the last byte had arrived to the last byte: what the client waited for the store. */
  lastByteWait: number;
  /** The proxy's CPU seconds during the pull. */
  cpu: number;
  /** The Ceph daemons' CPU seconds during the pull (0 for the filesystem store). */
  store: number;
  /** From the start of the pull until the blob was in the store (the S3 object visible, the file renamed). */
  storedSeconds: number;
  /** The proxy's and the Ceph daemons' CPU seconds from the start of the pull until the blob was stored. */
  cpuStored: number;
  storeStored: number;
}

async function objectExists(ctx: Context, key: string): Promise<boolean> {
  try {
    await ctx.rgw.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The fast client, in this process (undici; nothing else runs here during the cold case): the manifest by tag, then
 * the big layer into nothing. Records when all but the last byte had arrived: every proxy holds a blob's last byte
 * back until the blob is verified and stored, so the gap is the store's commit as the client sees it.
 */
async function timedPull(server: Server, image: Pushed): Promise<{ seconds: number; lastByteWait: number }> {
  const agent = new undici.Agent({ connections: 1 });
  try {
    const t0 = performance.now();
    const manifest = await undici.request(`${server.url}/v2/${image.repository}/manifests/v1`, { dispatcher: agent, headers: { accept: ACCEPT } });
    await manifest.body.dump({ limit: Infinity });
    if (manifest.statusCode !== 200) throw new Error(`${server.name}: manifest ${manifest.statusCode}`);
    const layer = image.layers[0]!;
    const res = await undici.request(`${server.url}/v2/${image.repository}/blobs/${layer.digest}`, { dispatcher: agent });
    if (res.statusCode !== 200) throw new Error(`${server.name}: blob ${res.statusCode}`);
    let n = 0;
    let allButLast = 0;
    for await (const chunk of res.body) {
      n += (chunk as Buffer).length;
      if (n === layer.size - 1) allButLast = performance.now();
    }
    const end = performance.now();
    if (n !== layer.size) throw new Error(`${server.name}: cold pull came back with ${n} bytes, not ${layer.size}`);
    return { seconds: (end - t0) / 1000, lastByteWait: allButLast === 0 ? 0 : (end - allButLast) / 1000 };
  } finally {
    await agent.close();
  }
}

async function startSingle(ctx: Context, kind: Kind, dataDir: string, prefix: string, db: number): Promise<Server> {
  if (kind === 'filesystem') return startProxy('filesystem', baseConfig(ctx, ctx.registry.url, dataDir));
  await ctx.redis.cli(db, 'flushdb');
  return startProxy('rgw', s3Config(ctx, ctx.registry.url, dataDir, prefix, db), s3Env(ctx));
}

async function cold(ctx: Context, big: Pushed, other: Pushed): Promise<Record<Kind, ColdSample[]>> {
  const samples: Record<Kind, ColdSample[]> = { filesystem: [], rgw: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const kind of run % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const data = mkdtempSync(join(tmpdir(), `bench-scale-${kind}-`));
      const prefix = `cold-${run}`;
      const server = await startSingle(ctx, kind, data, prefix, 0);
      try {
        // A running proxy meeting a new image: the process first served a small unrelated one.
        await curlImage(server, other.repository, [other.layers[0]!.digest]);
        const [cpu0, store0] = [cpuSeconds(server.pid), cephCpu(ctx)];
        const t0 = performance.now();
        const pulled = await timedPull(server, big);
        const [cpu1, store1] = [cpuSeconds(server.pid), cephCpu(ctx)];
        // The client may have its last byte before the blob is stored (fsync and rename, the rest of the S3 upload).
        const layer = big.layers[0]!.digest;
        await waitUntil(`${kind}: ${layer} stored`, () => (kind === 'rgw' ? objectExists(ctx, `${prefix}/blobs/sha256/${layer.slice(7)}`) : Promise.resolve(existsSync(join(data, 'blobs', 'sha256', layer.slice(7))))));
        const sample: ColdSample = {
          ...pulled,
          cpu: cpu1 - cpu0,
          store: kind === 'rgw' ? store1 - store0 : 0,
          storedSeconds: (performance.now() - t0) / 1000,
          cpuStored: cpuSeconds(server.pid) - cpu0,
          storeStored: kind === 'rgw' ? cephCpu(ctx) - store0 : 0,
        };
        samples[kind].push(sample);
        console.error(
          `cold ${run + 1}/${RUNS} ${kind}: ${sample.seconds.toFixed(2)} s (last byte waited ${sample.lastByteWait.toFixed(2)} s; stored at ${sample.storedSeconds.toFixed(2)} s), proxy CPU ${sample.cpu.toFixed(2)} s (${sample.cpuStored.toFixed(2)} s until stored), Ceph CPU ${sample.store.toFixed(2)} s (${sample.storeStored.toFixed(2)} s); load ${loadavg()[0]!.toFixed(1)}`,
        );
      } finally {
        await server.stop();
        rmSync(data, { recursive: true, force: true });
        if (kind === 'rgw') await emptyPrefix(ctx, prefix);
      }
    }
  }
  return samples;
}

/** `rgw-local`: the same replica on RGW with `localCache` on, so reads after the first come from its verified copy. */
type WarmKind = Kind | 'rgw-local';
/** Its own Redis database (the replicas of cases 3–5 use REPLICA_DB). */
const WARM_LOCAL_DB = 3;
const WARM_KINDS: WarmKind[] = ['filesystem', 'rgw', 'rgw-local'];

interface WarmResult {
  rates: Record<WarmKind, number[]>;
  /** Proxy CPU seconds per GB served, per sample. */
  cpuPerGB: Record<WarmKind, number[]>;
  /** The Ceph daemons' CPU seconds per GB served, per sample. */
  cephPerGB: Record<WarmKind, number[]>;
}

async function startWarm(ctx: Context, kind: WarmKind, dataDir: string): Promise<Server> {
  if (kind !== 'rgw-local') return startSingle(ctx, kind, dataDir, 'warm', 1);
  await ctx.redis.cli(WARM_LOCAL_DB, 'flushdb');
  return startProxy('rgw-local', s3Config(ctx, ctx.registry.url, dataDir, 'warm-local', WARM_LOCAL_DB, { localCache: '1GiB' }), s3Env(ctx));
}

async function warm(ctx: Context, big: Pushed): Promise<WarmResult> {
  const servers = {} as Record<WarmKind, Server>;
  const dirs: string[] = [];
  const result: WarmResult = { rates: { filesystem: [], rgw: [], 'rgw-local': [] }, cpuPerGB: { filesystem: [], rgw: [], 'rgw-local': [] }, cephPerGB: { filesystem: [], rgw: [], 'rgw-local': [] } };
  const hex = big.layers[0]!.digest.slice('sha256:'.length);
  const stored: Record<WarmKind, (data: string) => Promise<boolean>> = {
    filesystem: async (data) => existsSync(join(data, 'blobs', 'sha256', hex)),
    rgw: () => objectExists(ctx, `warm/blobs/sha256/${hex}`),
    'rgw-local': async (data) => existsSync(join(data, 'local-cache', 'sha256', hex)),
  };
  try {
    for (const kind of WARM_KINDS) {
      const data = mkdtempSync(join(tmpdir(), `bench-scale-warm-${kind}-`));
      dirs.push(data);
      servers[kind] = await startWarm(ctx, kind, data);
      if ((await curlImage(servers[kind], big.repository, [big.layers[0]!.digest])) !== BIG) throw new Error(`${kind}: the warming pull came back short`);
      await waitUntil(`${kind}: the warm blob stored`, () => stored[kind](data));
    }
    for (let sample = 0; sample < WARM_SAMPLES; sample++) {
      for (const kind of sample % 2 === 0 ? WARM_KINDS : [...WARM_KINDS].reverse()) {
        const server = servers[kind];
        const url = `${server.url}/v2/${big.repository}/blobs/${big.layers[0]!.digest}`;
        const [cpu0, store0] = [cpuSeconds(server.pid), cephCpu(ctx)];
        const t0 = performance.now();
        const out = await sh(`curl -sf ${Array.from({ length: WARM_GETS }, () => `-o /dev/null '${url}'`).join(' ')} -w '%{size_download}\\n'`);
        const seconds = (performance.now() - t0) / 1000;
        const bytes = out.trim().split('\n').reduce((sum, line) => sum + Number(line), 0);
        if (bytes !== WARM_GETS * BIG) throw new Error(`${kind}: warm pull came back short (${bytes} bytes)`);
        const gb = bytes / 1e9;
        result.rates[kind].push(bytes / 1e6 / seconds);
        result.cpuPerGB[kind].push((cpuSeconds(server.pid) - cpu0) / gb);
        result.cephPerGB[kind].push((cephCpu(ctx) - store0) / gb);
      }
    }
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await emptyPrefix(ctx, 'warm');
    await emptyPrefix(ctx, 'warm-local');
    await ctx.redis.cli(1, 'flushdb');
    await ctx.redis.cli(WARM_LOCAL_DB, 'flushdb');
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. upstream GETs, 4. RSS, 5. Redis memory — three replicas

interface Replicas {
  servers: Server[];
  lb: RoundRobin;
  counter: FaultProxy;
  dirs: string[];
}

const REPLICA_DB = 2;

async function startReplicas(ctx: Context): Promise<Replicas> {
  await ctx.redis.cli(REPLICA_DB, 'flushdb');
  const counter = await startFaultProxy(ctx.registry.url);
  cleanups.push(() => counter.stop());
  const servers: Server[] = [];
  const dirs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const data = mkdtempSync(join(tmpdir(), `bench-scale-replica-${i}-`));
    dirs.push(data);
    cleanups.push(async () => rmSync(data, { recursive: true, force: true }));
    servers.push(await startProxy(`replica-${i}`, s3Config(ctx, counter.url, data, 'replicas', REPLICA_DB), s3Env(ctx)));
  }
  const lb = await startRoundRobin(servers.map((s) => s.url));
  cleanups.push(() => lb.stop());
  return { servers, lb, counter, dirs };
}

const upstreamGets = (counter: FaultProxy, digest: string) => counter.count((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`));

/** A pull as a client makes it: the manifest by tag, then every blob in turn, each checked against its digest. */
async function pullChecked(agent: Undici.Dispatcher, base: string, image: Pushed): Promise<void> {
  const manifest = await undici.request(`${base}/v2/${image.repository}/manifests/v1`, { dispatcher: agent, headers: { accept: ACCEPT } });
  const body = Buffer.from(await manifest.body.arrayBuffer());
  if (manifest.statusCode !== 200) throw new Error(`manifest of ${image.repository}: ${manifest.statusCode} ${body.toString().slice(0, 200)}`);
  for (const blob of image.blobs) {
    const res = await undici.request(`${base}/v2/${image.repository}/blobs/${blob.digest}`, { dispatcher: agent });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    if (res.statusCode !== 200 || n !== blob.size || `sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`blob ${blob.digest} of ${image.repository}: ${res.statusCode}, ${n} bytes, not the blob`);
  }
}

interface GetsResult {
  perBlob: number[];
  manifestGets: number;
  seconds: number;
  spread: number[];
}

async function upstreamGetsPerBlob(replicas: Replicas, crowd: Pushed): Promise<GetsResult> {
  const agent = new undici.Agent({ connections: 64 });
  const before = [...replicas.lb.served];
  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: CROWD }, () => pullChecked(agent, replicas.lb.url, crowd)));
  } finally {
    await agent.close();
  }
  return {
    perBlob: crowd.blobs.map((b) => upstreamGets(replicas.counter, b.digest)),
    manifestGets: replicas.counter.count((r) => r.method === 'GET' && r.path.includes(`/${crowd.repository}/manifests/`)),
    seconds: (performance.now() - t0) / 1000,
    spread: replicas.lb.served.map((n, i) => n - before[i]!),
  };
}

interface RssResult {
  /** Peak VmRSS sampled during the pulls, per replica (MB). */
  peak: number[];
  /** VmHWM after the pulls, per replica (MB): the process's peak since start. */
  hwm: number[];
  /** VmRSS before the pulls. */
  before: number[];
  seconds: number;
  upstreamGets: number;
}

async function concurrentColdRss(replicas: Replicas, big: Pushed): Promise<RssResult> {
  const { servers } = replicas;
  const layer = big.layers[0]!.digest;
  // Each client's manifest first (through its replica): the blob is admitted everywhere, nothing of it is cached.
  for (const server of servers) await sh(`curl -sfS -H 'Accept: ${ACCEPT}' -o /dev/null '${server.url}/v2/${big.repository}/manifests/v1'`);
  const before = servers.map((s) => statusMB(s.pid, 'VmRSS'));
  const peak = [...before];
  const sampler = setInterval(() => servers.forEach((s, i) => (peak[i] = Math.max(peak[i]!, statusMB(s.pid, 'VmRSS')))), 25);
  const urls = Array.from({ length: RSS_CLIENTS }, (_, i) => `-o /dev/null '${servers[i % servers.length]!.url}/v2/${big.repository}/blobs/${layer}'`);
  const t0 = performance.now();
  let out: string;
  try {
    out = await sh(`curl -sfS --parallel --parallel-immediate --parallel-max ${RSS_CLIENTS} ${urls.join(' ')} -w '%{size_download}\\n'`);
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const sizes = out.trim().split('\n').map(Number);
  if (sizes.length !== RSS_CLIENTS || sizes.some((s) => s !== BIG)) throw new Error(`a concurrent pull came back short: ${sizes.join(', ')}`);
  return { peak, hwm: servers.map((s) => statusMB(s.pid, 'VmHWM')), before, seconds, upstreamGets: upstreamGets(replicas.counter, layer) };
}

interface RedisResult {
  bytesPerImage: number;
  keysPerImage: number;
  /** Per table (`tollgate:<table>`): new keys per image and MEMORY USAGE bytes per image (new keys and growth of old ones). */
  byTable: { table: string; keys: number; bytes: number }[];
  usedBefore: number;
  usedAfter: number;
}

async function usedMemory(ctx: Context): Promise<number> {
  const info = await ctx.redis.cli(0, 'info', 'memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** MEMORY USAGE of every key of the replicas' database (one redis-cli reading the commands from stdin). */
async function keyUsage(ctx: Context): Promise<Map<string, number>> {
  const keys = (await ctx.redis.cli(REPLICA_DB, '--scan')).split('\n').filter((k) => k !== '');
  if (keys.some((k) => k.includes("'"))) throw new Error('a key with a single quote: cannot quote it for redis-cli');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(ctx.redis.port), '-n', String(REPLICA_DB)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`redis-cli exited ${code}`))));
    child.stdin.end(keys.map((k) => `MEMORY USAGE '${k}' SAMPLES 0\n`).join(''));
  });
  const sizes = out.trim().split('\n').map(Number);
  if (sizes.length !== keys.length) throw new Error(`MEMORY USAGE answered ${sizes.length} lines for ${keys.length} keys`);
  return new Map(keys.map((k, i) => [k, sizes[i]!]));
}

const tableOf = (key: string) => /^tollgate:([^:]+):/.exec(key)?.[1] ?? /^tollgate:([^:]+)$/.exec(key)?.[1] ?? key.slice(0, 40);

async function redisPerImage(ctx: Context, replicas: Replicas, smalls: Pushed[]): Promise<RedisResult> {
  // Quiet: nothing in flight, background writes of earlier pulls done.
  await new Promise((r) => setTimeout(r, 2000));
  const [usedBefore, before] = [await usedMemory(ctx), await keyUsage(ctx)];
  const agent = new undici.Agent({ connections: 8 });
  try {
    for (const image of smalls) await pullChecked(agent, replicas.lb.url, image);
  } finally {
    await agent.close();
  }
  await new Promise((r) => setTimeout(r, 2000));
  const [usedAfter, after] = [await usedMemory(ctx), await keyUsage(ctx)];
  const tables = new Map<string, { keys: number; bytes: number }>();
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const entry = tables.get(tableOf(key)) ?? { keys: 0, bytes: 0 };
    entry.keys += (after.has(key) ? 1 : 0) - (before.has(key) ? 1 : 0);
    entry.bytes += (after.get(key) ?? 0) - (before.get(key) ?? 0);
    tables.set(tableOf(key), entry);
  }
  const k = smalls.length;
  const byTable = [...tables].filter(([, v]) => v.keys !== 0 || v.bytes !== 0).map(([table, v]) => ({ table, keys: v.keys / k, bytes: v.bytes / k }));
  return { bytesPerImage: (usedAfter - usedBefore) / k, keysPerImage: byTable.reduce((sum, t) => sum + t.keys, 0), byTable, usedBefore, usedAfter };
}

// ---------------------------------------------------------------------------------------------------------------

type Row = string[];
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(CLI)) throw new Error('build first: pnpm build');
  const started = performance.now();
  const load0 = loadavg()[0]!;
  console.error(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting RGW, Redis and the upstream`);
  const [rgw, redis, registry] = await Promise.all([startRgw(), startRedis(), startRegistry()]);
  cleanups.push(() => rgw.stop(), () => redis.stop(), () => registry.stop());
  const rows: Row[] = [['measure', 'filesystem + level', 'RGW + Redis', 'ratio', 'target']];
  const notes: string[] = [];
  try {
    const bucket = await rgw.createBucket('bench-scale-out');
    const allow: Record<string, string[]> = {};
    const ctx: Context = { registry, rgw, redis, bucket, allow, ceph: cephDaemons(rgw.endpoint) };
    console.error(`RGW up in ${(rgw.startMs / 1000).toFixed(1)} s (${ctx.ceph.pids.length} daemons); pushing the images`);
    await warmUpRgw(ctx);
    const push = async (repository: string, sizes: number[]) => {
      const image = await pushImage(registry.host, repository, sizes);
      allow[`up/${repository}`] = [image.digest];
      return image;
    };
    const big = await push('bench/big', [BIG]);
    const other = await push('bench/other', [MiB]);
    const crowd = await push('bench/crowd', CROWD_LAYERS);
    const smalls: Pushed[] = [];
    if (CASES.has('redis')) for (let i = 0; i < K; i++) smalls.push(await push(`bench/small-${i}`, [64 * 1024]));

    if (CASES.has('cold')) {
      const samples = await cold(ctx, big, other);
      for (const kind of KINDS) console.error(`cold ${kind}: seconds ${samples[kind].map((s) => s.seconds.toFixed(2)).join(', ')}; last byte ${samples[kind].map((s) => s.lastByteWait.toFixed(2)).join(', ')}; stored ${samples[kind].map((s) => s.storedSeconds.toFixed(2)).join(', ')}; proxy cpu ${samples[kind].map((s) => s.cpu.toFixed(2)).join(', ')}${kind === 'rgw' ? `; ceph cpu ${samples.rgw.map((s) => s.store.toFixed(2)).join(', ')}` : ''}`);
      const [f, r] = [median(samples.filesystem.map((s) => s.seconds)), median(samples.rgw.map((s) => s.seconds))];
      const [fc, rc] = [median(samples.filesystem.map((s) => s.cpu)), median(samples.rgw.map((s) => s.cpu))];
      const cc = median(samples.rgw.map((s) => s.store));
      const [fw, rw] = [median(samples.filesystem.map((s) => s.lastByteWait)), median(samples.rgw.map((s) => s.lastByteWait))];
      rows.push(
        [`1. cold pull (undici: manifest by tag, then the 200 MB layer), median of ${RUNS}`, `${f.toFixed(2)} s`, `${r.toFixed(2)} s`, `${(r / f).toFixed(2)}× the time`, `≤ 1.3× — ${verdict(r / f <= 1.3)}`],
        ['   … of which the last byte waited (held back until verified)', `${fw.toFixed(2)} s`, `${rw.toFixed(2)} s`, '', ''],
        ['   … until the blob was stored (file renamed / S3 object visible), from the start of the pull', `${median(samples.filesystem.map((s) => s.storedSeconds)).toFixed(2)} s`, `${median(samples.rgw.map((s) => s.storedSeconds)).toFixed(2)} s`, `${(median(samples.rgw.map((s) => s.storedSeconds)) / median(samples.filesystem.map((s) => s.storedSeconds))).toFixed(2)}×`, ''],
        ['   … the proxy\'s CPU time during the pull', `${fc.toFixed(2)} s`, `${rc.toFixed(2)} s`, `${(rc / fc).toFixed(2)}×`, ''],
        ['   … the Ceph daemons\' CPU time during the pull', '', `${cc.toFixed(2)} s`, '', ''],
        ['   … CPU until the blob was stored: proxy; Ceph daemons', `${median(samples.filesystem.map((s) => s.cpuStored)).toFixed(2)} s`, `${median(samples.rgw.map((s) => s.cpuStored)).toFixed(2)} s; ${median(samples.rgw.map((s) => s.storeStored)).toFixed(2)} s`, '', ''],
      );
    }
    if (CASES.has('warm')) {
      const w = await warm(ctx, big);
      for (const kind of WARM_KINDS) console.error(`warm ${kind}: MB/s ${w.rates[kind].map((v) => v.toFixed(0)).join(', ')}; proxy cpu s/GB ${w.cpuPerGB[kind].map((v) => v.toFixed(2)).join(', ')}`);
      const [f, r, l] = [median(w.rates.filesystem), median(w.rates.rgw), median(w.rates['rgw-local'])];
      rows.push(
        [`2. warm blob throughput (${WARM_GETS} × 200 MB, curl), median of ${WARM_SAMPLES}: streamed from RGW, hashed`, `${f.toFixed(0)} MB/s`, `${r.toFixed(0)} MB/s`, `${(r / f).toFixed(2)}×`, `≥ 0.5× — ${verdict(r / f >= 0.5)}`],
        ['   … the proxy\'s CPU per GB served', `${median(w.cpuPerGB.filesystem).toFixed(2)} s`, `${median(w.cpuPerGB.rgw).toFixed(2)} s`, '', ''],
        ['   … the Ceph daemons\' CPU per GB served', '', `${median(w.cephPerGB.rgw).toFixed(2)} s`, '', ''],
        [`2b. the same with \`localCache\` (reads after the first from the replica's verified copy)`, `${f.toFixed(0)} MB/s`, `${l.toFixed(0)} MB/s`, `${(l / f).toFixed(2)}×`, `≥ 0.5× — ${verdict(l / f >= 0.5)}`],
        ['   … the proxy\'s CPU per GB served; Ceph\'s', '', `${median(w.cpuPerGB['rgw-local']).toFixed(2)} s; ${median(w.cephPerGB['rgw-local']).toFixed(2)} s`, '', ''],
      );
    }
    if (CASES.has('gets') || CASES.has('rss') || CASES.has('redis')) {
      const replicas = await startReplicas(ctx);
      if (CASES.has('gets')) {
        const g = await upstreamGetsPerBlob(replicas, crowd);
        const max = Math.max(...g.perBlob);
        console.error(`upstream GETs per blob (config, ${CROWD_LAYERS.map((l) => `${(l / MiB).toString()} MiB`).join(', ')}): ${g.perBlob.join(', ')}; manifest GETs ${g.manifestGets}; requests per replica ${g.spread.join(', ')}; ${g.seconds.toFixed(2)} s`);
        rows.push([`3. upstream GETs per blob, 3 replicas behind a round-robin balancer, ${CROWD} concurrent cold pulls of ${crowd.blobs.length} blobs`, '', `max ${max}, mean ${(g.perBlob.reduce((a, b) => a + b, 0) / g.perBlob.length).toFixed(2)}`, '', `= 1 — ${verdict(max === 1 && Math.min(...g.perBlob) === 1)}`]);
        notes.push(`manifest GETs upstream for the ${CROWD} pulls: ${g.manifestGets}; requests per replica: ${g.spread.join(', ')}`);
      }
      if (CASES.has('rss')) {
        const r = await concurrentColdRss(replicas, big);
        console.error(`RSS MB per replica: before ${r.before.map((v) => v.toFixed(0)).join(', ')}; peak ${r.peak.map((v) => v.toFixed(0)).join(', ')}; VmHWM ${r.hwm.map((v) => v.toFixed(0)).join(', ')}; ${r.seconds.toFixed(2)} s; upstream GETs of the blob ${r.upstreamGets}`);
        const worst = Math.max(...r.peak, ...r.hwm);
        rows.push(
          [`4. peak RSS per replica, ${RSS_CLIENTS} concurrent cold 200 MB pulls over 3 replicas (VmRSS every 25 ms / VmHWM)`, '', `${r.peak.map((v) => v.toFixed(0)).join(' / ')} MB (HWM ${r.hwm.map((v) => v.toFixed(0)).join(' / ')})`, '', `< 300 MB — ${verdict(worst < 300)}`],
          ['   … wall time of the 20 pulls; upstream GETs of the blob', '', `${r.seconds.toFixed(2)} s; ${r.upstreamGets}`, '', ''],
        );
      }
      if (CASES.has('redis')) {
        const m = await redisPerImage(ctx, replicas, smalls);
        const tables = m.byTable.map((t) => `${t.table} ${t.keys.toFixed(1)} key(s), ${(t.bytes / 1024).toFixed(2)} KiB`).join('; ');
        console.error(`Redis: used_memory ${m.usedBefore} → ${m.usedAfter}; per image by table: ${tables}`);
        rows.push(
          [`5. Redis memory per cached image (used_memory delta over ${K} images: manifest, config, one 64 KiB layer; one repository each)`, '', `${(m.bytesPerImage / 1024).toFixed(1)} KiB`, '', ''],
          ['   … keys per image, and MEMORY USAGE per image by table', '', `${m.keysPerImage.toFixed(1)} keys (${tables})`, '', ''],
        );
      }
    }
    const table = rows.map((r) => `| ${r.join(' | ')} |`);
    table.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);
    const footer = `machine: ${cpus().length} cores, load average at start ${load0.toFixed(2)}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${((performance.now() - started) / 1000).toFixed(0)} s in all${notes.length > 0 ? `\n${notes.join('\n')}` : ''}`;
    console.log(`${table.join('\n')}\n\n${footer}`);
    writeFileSync(join(WORK, 'last-result.md'), `${table.join('\n')}\n\n${footer}\n`);
  } finally {
    await cleanUp();
  }
}

await main();
