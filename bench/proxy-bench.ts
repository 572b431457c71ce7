/**
 * The tollgate proxy against distribution's own pull-through proxy (`docker-registry` with `proxy.remoteurl`), in
 * the same run, with the same upstream (a plain docker-registry) and the same clients:
 *  - cold pull-through of a real-sized image with skopeo (fresh caches; tollgate verifies every byte and asks the
 *    gate), best of RUNS;
 *  - warm-cache blob throughput: undici GETs of a 200 MB blob, streamed and discarded;
 *  - manifest latency by tag with a cached verdict (p50, p99 of sequential GETs);
 *  - peak RSS of the proxy process during 20 concurrent cold pulls of a 200 MB blob.
 *
 * tollgate runs as a user runs it (`tollgate proxy serve`, its own process) with the allow-list gate pinned to the
 * images' digests (the policy-backed gate is not wired in yet).
 *
 * Run: pnpm exec tsx bench/proxy-bench.ts   (after `pnpm build`; RUNS=n for best-of-n)
 * Image: bench/.work/validate/debian-layout (a debootstrapped Debian minbase rootfs, built by validate-bench) or, if
 * absent, one gzip layer of /usr/share built here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, OciLayoutWriter, RegistryClient } from '../packages/core/src/index.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'proxy');
const CLI = join(ROOT, 'packages/cli/bin/tollgate.js');
const RUNS = Number(process.env.RUNS ?? 3);
const BIG = 200 * 1024 * 1024;
const require = createRequire(join(ROOT, 'packages/proxy/package.json'));
const undici = require('undici') as typeof import('undici');

function sh(command: string): string {
  const result = spawnSync('bash', ['-c', `set -o pipefail; ${command}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}\n${result.stderr}`);
  return result.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not ready`);
}

interface Server {
  name: string;
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

async function startDistribution(name: string, storage: string, proxyUrl?: string): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-registry-'));
  const config = join(dir, 'config.yml');
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, 'http:', `  addr: 127.0.0.1:${port}`];
  if (proxyUrl !== undefined) lines.push('proxy:', `  remoteurl: ${proxyUrl}`);
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url, child);
  return { name, url, host: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child, dir) };
}

async function startTollgate(upstreamUrl: string, pins: Record<string, string[]>, dataDir: string): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-tollgate-'));
  const config = join(dir, 'tollgate.yaml');
  const allow = Object.entries(pins).map(([k, v]) => `    ${JSON.stringify(k)}: [${v.map((d) => JSON.stringify(d)).join(', ')}]`);
  writeFileSync(config, [`listen: 127.0.0.1:${port}`, `dataDir: ${dataDir}`, 'logLevel: warn', 'cache:', '  maxBytes: 20GiB', '  tagTtlSeconds: 3600', 'gate:', '  allowDigests:', ...allow, 'upstreams:', '  - name: up', `    url: ${upstreamUrl}`, '    default: true', ''].join('\n'));
  const child = spawn(process.execPath, [CLI, 'proxy', 'serve', '--config', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url, child);
  return { name: 'tollgate', url, host: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child, dir) };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

function rssMB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The Debian (or /usr/share) image as an OCI layout; returns `oci:<dir>:v1`. */
async function benchImage(): Promise<{ ref: string; label: string }> {
  const validate = join(import.meta.dirname, '.work', 'validate', 'debian-layout');
  if (existsSync(join(validate, 'index.json'))) return { ref: `oci:${validate}:v1`, label: 'debian (debootstrap minbase, 1 gzip layer)' };
  const gz = join(WORK, 'usr-share.tar.gz');
  if (!existsSync(gz)) sh(`tar -C / -cf - usr/share 2>/dev/null | gzip -6 > '${gz}.tmp' && mv '${gz}.tmp' '${gz}'`);
  const diffID = `sha256:${sh(`gzip -dc '${gz}' | sha256sum`).split(' ')[0]}`;
  const dir = join(WORK, 'usr-share-layout');
  if (!existsSync(join(dir, 'index.json'))) {
    const writer = await OciLayoutWriter.create(dir);
    const layer = await writer.writeBlob(readFileSync(gz));
    const config = await writer.writeBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffID] } })));
    const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size }, layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }] };
    await writer.writeManifest(Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest, 'v1');
  }
  return { ref: `oci:${dir}:v1`, label: 'usr/share (1 gzip layer; no debootstrapped rootfs found)' };
}

/** Pushes a one-layer image whose layer is 200 MB of random bytes; returns manifest and layer digests. */
async function pushBigImage(host: string): Promise<{ digest: string; layer: string }> {
  const client = new RegistryClient(host);
  const bytes = randomBytes(BIG);
  const layer = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await client.pushBlob('bench/big', bytes, layer, bytes.length);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await client.pushBlob('bench/big', config, configDigest, config.length);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: bytes.length }] }),
  );
  const digest = await client.putManifest('bench/big', 'v1', manifest, MediaType.OciManifest);
  return { digest, layer };
}

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';

async function getManifest(dispatcher: import('undici').Dispatcher, url: string): Promise<void> {
  const res = await undici.request(url, { dispatcher, headers: { accept: ACCEPT } });
  await res.body.dump({ limit: Infinity });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
}

/** Streams a blob and discards it; returns the byte count. */
async function getBlob(dispatcher: import('undici').Dispatcher, url: string): Promise<number> {
  const res = await undici.request(url, { dispatcher, maxRedirections: 0 } as never);
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).length;
  return n;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Result {
  cold: number;
  warmMBs: number;
  p50: number;
  p99: number;
  rss: number;
}

async function measure(kind: 'tollgate' | 'distribution', upstream: Server, image: { digest: string }, big: { digest: string; layer: string }): Promise<Result> {
  const start = async (dataDir: string) =>
    kind === 'tollgate' ? startTollgate(upstream.url, { 'up/bench/image': [image.digest], 'up/bench/big': [big.digest] }, dataDir) : startDistribution('distribution', dataDir, upstream.url);
  const fresh = () => mkdtempSync(join(tmpdir(), `bench-${kind}-data-`));

  // Cold pull-through of the real-sized image: fresh cache, skopeo as the client.
  let cold = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const data = fresh();
    const server = await start(data);
    const out = mkdtempSync(join(tmpdir(), 'bench-pull-'));
    const t0 = performance.now();
    sh(`skopeo --insecure-policy copy --src-tls-verify=false docker://${server.host}/bench/image:v1 dir:${out}`);
    cold = Math.min(cold, (performance.now() - t0) / 1000);
    rmSync(out, { recursive: true, force: true });
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }

  // 20 concurrent cold pulls of the 200 MB blob: peak RSS of the proxy process.
  const data = fresh();
  const server = await start(data);
  const agent = new undici.Agent({ connections: 32, pipelining: 1 });
  await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
  let rss = rssMB(server.pid);
  const sampler = setInterval(() => (rss = Math.max(rss, rssMB(server.pid))), 25);
  const sizes = await Promise.all(Array.from({ length: 20 }, () => getBlob(agent, `${server.url}/v2/bench/big/blobs/${big.layer}`)));
  clearInterval(sampler);
  if (sizes.some((s) => s !== BIG)) throw new Error(`${kind}: a concurrent pull came back short`);

  // Warm-cache throughput: the cached 200 MB blob, one client, streamed and discarded.
  let warmMBs = 0;
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const n = await getBlob(agent, `${server.url}/v2/bench/big/blobs/${big.layer}`);
    warmMBs = Math.max(warmMBs, n / 1e6 / ((performance.now() - t0) / 1000));
  }

  // Manifest latency by tag with a cached verdict (and a cached tag resolution).
  await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  await agent.close();
  await server.stop();
  rmSync(data, { recursive: true, force: true });
  return { cold, warmMBs, p50: percentile(times, 50), p99: percentile(times, 99), rss };
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(CLI)) throw new Error('build first: pnpm build');
  const { ref, label } = await benchImage();
  const upstreamData = mkdtempSync(join(tmpdir(), 'bench-upstream-'));
  const upstream = await startDistribution('upstream', upstreamData);
  try {
    sh(`skopeo --insecure-policy copy --dest-tls-verify=false ${ref} docker://${upstream.host}/bench/image:v1`);
    const digest = sh(`skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://${upstream.host}/bench/image:v1`).trim();
    const size = Number(sh(`skopeo inspect --tls-verify=false --raw docker://${upstream.host}/bench/image:v1 | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))'`).trim());
    const big = await pushBigImage(upstream.host);
    console.error(`image ${label}: ${(size / 1e6).toFixed(0)} MB compressed; 200 MB random blob for throughput and memory`);
    const d = await measure('distribution', upstream, { digest }, big);
    const t = await measure('tollgate', upstream, { digest }, big);
    const rows = [
      ['measure', 'distribution proxy', 'tollgate', 'ratio', 'target'],
      [`cold pull-through, skopeo (${(size / 1e6).toFixed(0)} MB)`, `${d.cold.toFixed(2)} s`, `${t.cold.toFixed(2)} s`, `${(t.cold / d.cold).toFixed(2)}× the time`, '≤ 1.15×'],
      ['warm blob throughput (200 MB, 1 client)', `${d.warmMBs.toFixed(0)} MB/s`, `${t.warmMBs.toFixed(0)} MB/s`, `${(t.warmMBs / d.warmMBs).toFixed(2)}×`, '≥ 1.0×'],
      ['manifest by tag, cached verdict, p50', `${d.p50.toFixed(2)} ms`, `${t.p50.toFixed(2)} ms`, `${(t.p50 / d.p50).toFixed(2)}× the time`, ''],
      ['manifest by tag, cached verdict, p99', `${d.p99.toFixed(2)} ms`, `${t.p99.toFixed(2)} ms`, `${(t.p99 / d.p99).toFixed(2)}× the time`, ''],
      ['peak RSS, 20 concurrent cold 200 MB pulls', `${d.rss.toFixed(0)} MB`, `${t.rss.toFixed(0)} MB`, '', 'tollgate < 300 MB'],
    ];
    const table = rows.map((r) => `| ${r.join(' | ')} |`);
    table.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);
    console.log(table.join('\n'));
    writeFileSync(join(WORK, 'last-result.md'), `${table.join('\n')}\n`);
  } finally {
    await upstream.stop();
    rmSync(upstreamData, { recursive: true, force: true });
  }
}

await main();
