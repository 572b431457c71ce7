/**
 * The tollgate proxy against distribution's own pull-through proxy (`docker-registry` with `proxy.remoteurl`), in
 * the same run, with the same upstream (a plain docker-registry) and the same clients:
 *  - cold pull-through of a real-sized image with skopeo (fresh caches every pull; tollgate verifies the signature
 *    and hashes every byte): by a proxy that already served another image, and as the first pull after start;
 *    median of RUNS, the two servers alternating;
 *  - the same image cold with a fast client: curl fetching the manifest by tag, then the big layer (skopeo and podman
 *    are slow consumers that hide the proxy's own cost); median of RUNS, alternating, with the proxy's CPU time;
 *  - a containerd-like cold pull: the manifest by tag, then three layers fetched in parallel by one curl;
 *  - warm-cache blob throughput: curl fetching the cached 200 MB blob five times per sample into /dev/null, median
 *    of WARM_SAMPLES interleaved samples;
 *  - manifest latency by tag with a cached verdict (p50, p99 of 500 sequential GETs);
 *  - peak RSS of the proxy process during 20 concurrent cold pulls of a 200 MB blob.
 *
 * tollgate runs as a user runs it (`tollgate proxy serve`, its own process) with `gate: {policy}`: every image must
 * carry a cosign signature by a key the bench generates, and the bench signs them with `tollgate sign`.
 *
 * Run: pnpm exec tsx bench/proxy-bench.ts   (after `pnpm build`; RUNS=n, WARM_SAMPLES=n; HOLD=1 pauses with both
 * servers warm, for profiling, until SIGUSR2; TOLLGATE_CLI=<other checkout>/packages/cli/bin/tollgate.js measures
 * another build, to compare two; TOLLGATE_NODE_FLAGS="…" passes flags to tollgate's node; CASES=skopeo,curl,parallel,
 * warm runs only some cases (default all; `warm` is throughput, latency and RSS); TOLLGATE_CLI_B=<bin> adds a third
 * server, another tollgate build, to every cold case: an A/B of two builds alternating in one run)
 * Image: bench/.work/validate/debian-layout (a debootstrapped Debian minbase rootfs, built by validate-bench) or, if
 * absent, one gzip layer of /usr/share built here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, OciLayoutWriter, RegistryClient } from '../packages/core/src/index.js';
import { cpuSeconds, freePort, median, statusMB, stopChild, waitForRegistry } from './support/processes.js';
// undici is a dependency of @tollgate/proxy, not of the repository root: its types are read from the same place
// its code is loaded from (createRequire below).
import type * as Undici from '../packages/proxy/node_modules/undici/index.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'proxy');
/** The tollgate to measure: this checkout's build, or another's (TOLLGATE_CLI=…/bin/tollgate.js) to compare two builds. */
const CLI = process.env.TOLLGATE_CLI ?? join(ROOT, 'packages/cli/bin/tollgate.js');
const RUNS = Number(process.env.RUNS ?? 9);
const WARM_SAMPLES = Number(process.env.WARM_SAMPLES ?? 7);
const WARM_GETS = 5;
const BIG = 200 * 1024 * 1024;
const require = createRequire(join(ROOT, 'packages/proxy/package.json'));
const undici = require('undici') as typeof Undici;

function sh(command: string): string {
  const result = spawnSync('bash', ['-c', `set -o pipefail; ${command}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}\n${result.stderr}`);
  return result.stdout;
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
  await waitForRegistry(url, child, () => '', 50);
  return { name, url, host: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child, dir) };
}

async function startTollgate(upstreamUrl: string, policy: string, dataDir: string, cli = CLI, name = 'tollgate'): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-tollgate-'));
  const config = join(dir, 'tollgate.yaml');
  writeFileSync(config, [`listen: 127.0.0.1:${port}`, `dataDir: ${dataDir}`, 'logLevel: warn', 'cache:', '  maxBytes: 20GiB', '  tagTtlSeconds: 3600', 'gate:', `  policy: ${policy}`, 'upstreams:', '  - name: up', `    url: ${upstreamUrl}`, '    default: true', ''].join('\n'));
  const nodeFlags = (process.env.TOLLGATE_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...nodeFlags, cli, 'proxy', 'serve', '--config', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitForRegistry(url, child, () => '', 50);
  return { name, url, host: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child, dir) };
}

/**
 * Signs both images in the upstream with a fresh cosign key (`tollgate sign`, as a release engineer would) and
 * writes the policy the proxy enforces: everything from the upstream must carry a signature by that key.
 */
function signAndWritePolicy(upstream: Server): string {
  const dir = join(WORK, 'keys');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, TOLLGATE_PASSWORD: '' };
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`tollgate ${args.join(' ')}: ${result.stderr}`);
  };
  run(['generate-key-pair', '--output-key-prefix', join(dir, 'cosign')]);
  for (const image of ['bench/image:v1', 'bench/big:v1', 'bench/other:v1', 'bench/multi:v1']) run(['sign', '--key', join(dir, 'cosign.key'), '--tlog-upload=false', `${upstream.host}/${image}`]);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    ['apiVersion: tollgate.dev/v1alpha1', 'kind: ImagePolicy', 'default: deny', 'rules:', '  - name: signed', `    images: ["${upstream.host}/bench/**"]`, '    authorities:', '      - name: bench-key', `        key: {file: ${join(dir, 'cosign.pub')}}`, '        transparencyLog: ignore', ''].join('\n'),
  );
  return policy;
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

/** Pushes `repository:v1` with one layer of random bytes per size; returns the manifest and layer digests. */
async function pushRandomImage(host: string, repository: string, ...sizes: number[]): Promise<{ digest: string; layer: string; layers: string[] }> {
  const client = new RegistryClient(host);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const layer = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await client.pushBlob(repository, bytes, layer, bytes.length);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await client.pushBlob(repository, config, configDigest, config.length);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers }));
  const digest = await client.putManifest(repository, 'v1', manifest, MediaType.OciManifest);
  return { digest, layer: layers[0]!.digest, layers: layers.map((l) => l.digest) };
}

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';

async function getManifest(dispatcher: Undici.Dispatcher, url: string): Promise<void> {
  const res = await undici.request(url, { dispatcher, headers: { accept: ACCEPT } });
  await res.body.dump({ limit: Infinity });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
}

/** Streams a blob and discards it; returns the byte count. */
async function getBlob(dispatcher: Undici.Dispatcher, url: string): Promise<number> {
  // undici (7 and 8) follows no redirects unless given its redirect interceptor (its old maxRedirections option is gone).
  const res = await undici.request(url, { dispatcher });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).length;
  return n;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Kind = 'distribution' | 'tollgate' | 'tollgate-b';
/** Servers in the warm cases; the cold cases add `tollgate-b` when TOLLGATE_CLI_B names another build. */
const KINDS: Kind[] = ['distribution', 'tollgate'];
const CLI_B = process.env.TOLLGATE_CLI_B;
const COLD_KINDS: Kind[] = CLI_B !== undefined ? ['distribution', 'tollgate', 'tollgate-b'] : KINDS;
const CASES = new Set((process.env.CASES ?? 'skopeo,curl,parallel,warm').split(',').map((c) => c.trim()));

interface Images {
  image: { digest: string; layers: string[] };
  big: { digest: string; layer: string };
  multi: { layers: string[]; sizes: number[] };
  /** A small unrelated image, pulled first so that the measured pull meets a running proxy. */
  other: { layer: string };
  policy: string;
}

function starter(kind: Kind, upstream: Server, images: Images): (dataDir: string) => Promise<Server> {
  return (dataDir) =>
    kind === 'tollgate'
      ? startTollgate(upstream.url, images.policy, dataDir)
      : kind === 'tollgate-b'
        ? startTollgate(upstream.url, images.policy, dataDir, CLI_B!, 'tollgate-b')
        : startDistribution('distribution', dataDir, upstream.url);
}

interface Sample {
  seconds: number;
  /** The proxy's CPU seconds during the pull. */
  cpu: number;
}

/**
 * A cold case with a fast client: every sample on a fresh process and cache that first served a small unrelated image
 * (a running proxy meeting a new image, as in the skopeo case), the servers alternating (order rotated every run).
 * `pull` runs the measured client and returns the bytes it received, checked against `expected`.
 */
async function coldFast(upstream: Server, images: Images, expected: number, pull: (server: Server) => number): Promise<Record<Kind, Sample[]>> {
  const samples = Object.fromEntries(COLD_KINDS.map((k) => [k, [] as Sample[]])) as Record<Kind, Sample[]>;
  for (let run = 0; run < RUNS; run++) {
    const order = COLD_KINDS.map((_, i) => COLD_KINDS[(i + run) % COLD_KINDS.length]!);
    for (const kind of run % 2 === 0 ? order : order.reverse()) {
      const data = mkdtempSync(join(tmpdir(), `bench-${kind}-data-`));
      const server = await starter(kind, upstream, images)(data);
      try {
        curlImage(server, 'bench/other', [images.other.layer]);
        const cpu0 = cpuSeconds(server.pid);
        const t0 = performance.now();
        const bytes = pull(server);
        const seconds = (performance.now() - t0) / 1000;
        if (bytes !== expected) throw new Error(`${kind}: cold pull came back with ${bytes} bytes, not ${expected}`);
        samples[kind].push({ seconds, cpu: cpuSeconds(server.pid) - cpu0 });
      } finally {
        await server.stop();
        rmSync(data, { recursive: true, force: true });
      }
    }
  }
  return samples;
}

/**
 * curl: the manifest by tag, then `layers` one after another over the same connection (or all at once with
 * `parallel`, as containerd fetches layers), into /dev/null; returns the layer bytes received.
 */
function curlImage(server: Server, repository: string, layers: string[], parallel = false): number {
  const manifest = `-H 'Accept: ${ACCEPT}' -o /dev/null '${server.url}/v2/${repository}/manifests/v1'`;
  const blobs = layers.map((l) => `-o /dev/null '${server.url}/v2/${repository}/blobs/${l}'`).join(' ');
  sh(`curl -sfS ${manifest}`);
  const out = sh(`curl -sfS ${parallel ? `--parallel --parallel-max ${layers.length}` : ''} ${blobs} -w '%{size_download}\\n'`);
  return out.trim().split('\n').reduce((sum, line) => sum + Number(line), 0);
}

interface ColdTimes {
  /** Pulls by a proxy that had already served another image: a running proxy meeting a new image. */
  running: number[];
  /** Pulls that were the process's first: they also pay for loading and compiling code on first use. */
  first: number[];
}

/**
 * Cold pull-through with skopeo, fresh caches every time; the two servers alternate (and swap order every run).
 * Each run measures two pulls per server, each on a fresh process and cache: one right after start, and one after
 * the process has pulled a small unrelated image (what a proxy in service sees when a new image arrives).
 */
async function coldPulls(upstream: Server, images: Images): Promise<Record<Kind, ColdTimes>> {
  const times = Object.fromEntries(COLD_KINDS.map((k) => [k, { running: [], first: [] }])) as unknown as Record<Kind, ColdTimes>;
  const pull = (server: Server, image: string, out: string) => sh(`skopeo --insecure-policy copy --src-tls-verify=false docker://${server.host}/${image} dir:${out}`);
  for (let run = 0; run < RUNS; run++) {
    const order = COLD_KINDS.map((_, i) => COLD_KINDS[(i + run) % COLD_KINDS.length]!);
    for (const kind of run % 2 === 0 ? order : order.reverse()) {
      for (const warmFirst of [false, true]) {
        const data = mkdtempSync(join(tmpdir(), `bench-${kind}-data-`));
        const server = await starter(kind, upstream, images)(data);
        const out = mkdtempSync(join(tmpdir(), 'bench-pull-'));
        if (warmFirst) pull(server, 'bench/other:v1', join(out, 'other'));
        const t0 = performance.now();
        pull(server, 'bench/image:v1', join(out, 'image'));
        times[kind][warmFirst ? 'running' : 'first'].push((performance.now() - t0) / 1000);
        rmSync(out, { recursive: true, force: true });
        await server.stop();
        rmSync(data, { recursive: true, force: true });
      }
    }
  }
  return times;
}

/** Peak RSS of the proxy process while 20 clients pull the same cold 200 MB blob at once; leaves the blob warm. */
async function concurrentColdPulls(server: Server, images: Images): Promise<number> {
  const agent = new undici.Agent({ connections: 32, pipelining: 1 });
  await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
  let rss = statusMB(server.pid, 'VmRSS');
  const sampler = setInterval(() => (rss = Math.max(rss, statusMB(server.pid, 'VmRSS'))), 25);
  const sizes = await Promise.all(Array.from({ length: 20 }, () => getBlob(agent, `${server.url}/v2/bench/big/blobs/${images.big.layer}`)));
  clearInterval(sampler);
  await agent.close();
  if (sizes.some((s) => s !== BIG)) throw new Error(`${server.name}: a concurrent pull came back short`);
  return rss;
}

/**
 * Warm-cache throughput in MB/s, one sample per server in turn (the order swapped every sample): curl fetches the
 * cached 200 MB blob WARM_GETS times over one connection into /dev/null. A sample of 1 GB rather than 200 MB and the
 * median of several interleaved samples keep one scheduling hiccup from deciding the figure.
 */
async function warmThroughput(servers: Record<Kind, Server>, images: Images): Promise<Record<Kind, number[]>> {
  const rates: Record<Kind, number[]> = { distribution: [], tollgate: [], 'tollgate-b': [] };
  for (let sample = 0; sample < WARM_SAMPLES; sample++) {
    for (const kind of sample % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const url = `${servers[kind].url}/v2/bench/big/blobs/${images.big.layer}`;
      const t0 = performance.now();
      const again = sh(`curl -sf ${Array.from({ length: WARM_GETS }, () => `-o /dev/null '${url}'`).join(' ')} -w '%{size_download}\\n'`);
      const seconds = (performance.now() - t0) / 1000;
      const bytes = again.trim().split('\n').reduce((sum, line) => sum + Number(line), 0);
      if (bytes !== WARM_GETS * BIG) throw new Error(`${kind}: warm pull came back short`);
      rates[kind].push(bytes / 1e6 / seconds);
    }
  }
  return rates;
}

/** Manifest latency by tag with a cached verdict (and a cached tag resolution): sorted times in ms. */
async function manifestLatency(server: Server): Promise<number[]> {
  const agent = new undici.Agent({ connections: 1, pipelining: 1 });
  await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await getManifest(agent, `${server.url}/v2/bench/big/manifests/v1`);
    times.push(performance.now() - t0);
  }
  await agent.close();
  return times.sort((a, b) => a - b);
}

/** Sizes of the containerd-like image's three layers (fetched in parallel). */
const MULTI = [120 * 1024 * 1024, 80 * 1024 * 1024, 40 * 1024 * 1024];

type Row = string[];

/** Rows for one cold case: each tollgate build against distribution, with the proxies' CPU time beside. */
function coldRows(what: string, samples: Record<Kind, Sample[]>, target: string): Row[] {
  const d = median(samples.distribution.map((s) => s.seconds));
  const dc = median(samples.distribution.map((s) => s.cpu));
  const rows: Row[] = [];
  for (const kind of COLD_KINDS.filter((k) => k !== 'distribution')) {
    const t = median(samples[kind].map((s) => s.seconds));
    const tc = median(samples[kind].map((s) => s.cpu));
    const label = kind === 'tollgate-b' ? `${what} (build B)` : what;
    rows.push([label, `${d.toFixed(2)} s`, `${t.toFixed(2)} s`, `${(t / d).toFixed(2)}× the time`, kind === 'tollgate' ? target : '']);
    rows.push([`${label}: proxy CPU time`, `${dc.toFixed(2)} s`, `${tc.toFixed(2)} s`, `${(tc / dc).toFixed(2)}×`, '']);
  }
  return rows;
}

function printSamples(what: string, samples: Record<Kind, Sample[]>): void {
  for (const kind of COLD_KINDS) {
    console.error(`${what}, ${kind}: seconds ${samples[kind].map((s) => s.seconds.toFixed(2)).join(', ')}; cpu ${samples[kind].map((s) => s.cpu.toFixed(2)).join(', ')}`);
  }
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(CLI)) throw new Error('build first: pnpm build');
  if (CLI_B !== undefined && !existsSync(CLI_B)) throw new Error(`TOLLGATE_CLI_B: ${CLI_B} does not exist`);
  const { ref, label } = await benchImage();
  const upstreamData = mkdtempSync(join(tmpdir(), 'bench-upstream-'));
  const upstream = await startDistribution('upstream', upstreamData);
  const rows: Row[] = [['measure', 'distribution proxy', 'tollgate', 'ratio', 'target']];
  const servers = {} as Record<Kind, Server>;
  const dataDirs: string[] = [];
  try {
    sh(`skopeo --insecure-policy copy --dest-tls-verify=false ${ref} docker://${upstream.host}/bench/image:v1`);
    const digest = sh(`skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://${upstream.host}/bench/image:v1`).trim();
    const raw = JSON.parse(sh(`skopeo inspect --tls-verify=false --raw docker://${upstream.host}/bench/image:v1`)) as { layers: { digest: string; size: number }[] };
    const size = raw.layers.reduce((sum, l) => sum + l.size, 0);
    const largest = [...raw.layers].sort((a, b) => b.size - a.size)[0]!;
    const big = await pushRandomImage(upstream.host, 'bench/big', BIG);
    const other = await pushRandomImage(upstream.host, 'bench/other', 1024 * 1024);
    const multi = await pushRandomImage(upstream.host, 'bench/multi', ...MULTI);
    const images: Images = { image: { digest, layers: raw.layers.map((l) => l.digest) }, big, multi: { layers: multi.layers, sizes: MULTI }, other: { layer: other.layer }, policy: signAndWritePolicy(upstream) };
    console.error(`image ${label}: ${(size / 1e6).toFixed(0)} MB compressed, largest layer ${(largest.size / 1e6).toFixed(0)} MB; 200 MB random blob for throughput and memory${CLI_B !== undefined ? `; build B: ${CLI_B}` : ''}`);

    if (CASES.has('curl')) {
      const samples = await coldFast(upstream, images, largest.size, (server) => curlImage(server, 'bench/image', [largest.digest]));
      printSamples('cold curl', samples);
      rows.push(...coldRows(`cold, curl: manifest by tag then the ${(largest.size / 1e6).toFixed(0)} MB layer, median of ${RUNS}`, samples, '≤ 1.10×'));
    }
    if (CASES.has('parallel')) {
      const total = MULTI.reduce((a, b) => a + b, 0);
      const samples = await coldFast(upstream, images, total, (server) => curlImage(server, 'bench/multi', images.multi.layers, true));
      printSamples('cold parallel', samples);
      rows.push(...coldRows(`cold, containerd-like: manifest by tag then ${MULTI.map((m) => (m / 1048576).toFixed(0)).join(' + ')} MiB layers in parallel (curl), median of ${RUNS}`, samples, '≤ 1.10×'));
    }
    if (CASES.has('skopeo')) {
      const cold = await coldPulls(upstream, images);
      const fmt = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
      for (const kind of COLD_KINDS) console.error(`cold skopeo, ${kind}: running ${fmt(cold[kind].running)}; first ${fmt(cold[kind].first)}`);
      const [dc, df] = [median(cold.distribution.running), median(cold.distribution.first)];
      for (const kind of COLD_KINDS.filter((k) => k !== 'distribution')) {
        const [tc, tf] = [median(cold[kind].running), median(cold[kind].first)];
        const b = kind === 'tollgate-b' ? ' (build B)' : '';
        rows.push([`cold pull-through, skopeo (${(size / 1e6).toFixed(0)} MB), running proxy, median of ${RUNS}${b}`, `${dc.toFixed(2)} s`, `${tc.toFixed(2)} s`, `${(tc / dc).toFixed(2)}× the time`, b === '' ? '≤ 1.15×' : '']);
        rows.push([`the same, first pull after the proxy started, median of ${RUNS}${b}`, `${df.toFixed(2)} s`, `${tf.toFixed(2)} s`, `${(tf / df).toFixed(2)}× the time`, '']);
      }
    }
    if (CASES.has('warm')) {
      const rss = {} as Record<Kind, number>;
      const latency = {} as Record<Kind, number[]>;
      for (const kind of KINDS) {
        const data = mkdtempSync(join(tmpdir(), `bench-${kind}-data-`));
        dataDirs.push(data);
        servers[kind] = await starter(kind, upstream, images)(data);
        rss[kind] = await concurrentColdPulls(servers[kind], images);
      }
      if (process.env.HOLD) {
        console.error(`holding (kill -USR2 ${process.pid}): ${servers.tollgate.url} pid ${servers.tollgate.pid}, ${servers.distribution.url} pid ${servers.distribution.pid}, blob ${images.big.layer}`);
        await new Promise((r) => process.once('SIGUSR2', r));
      }
      const warm = await warmThroughput(servers, images);
      for (const kind of KINDS) latency[kind] = await manifestLatency(servers[kind]);
      console.error(`warm MB/s: distribution ${warm.distribution.map((v) => v.toFixed(0)).join(', ')}; tollgate ${warm.tollgate.map((v) => v.toFixed(0)).join(', ')}`);
      const [dw, tw] = [median(warm.distribution), median(warm.tollgate)];
      const [d, t] = [latency.distribution, latency.tollgate];
      rows.push(
        [`warm blob throughput (${WARM_GETS} × 200 MB, curl), median of ${WARM_SAMPLES}`, `${dw.toFixed(0)} MB/s`, `${tw.toFixed(0)} MB/s`, `${(tw / dw).toFixed(2)}×`, '≥ 1.0×'],
        ['manifest by tag, cached verdict, p50', `${percentile(d, 50).toFixed(2)} ms`, `${percentile(t, 50).toFixed(2)} ms`, `${(percentile(t, 50) / percentile(d, 50)).toFixed(2)}× the time`, ''],
        ['manifest by tag, cached verdict, p99', `${percentile(d, 99).toFixed(2)} ms`, `${percentile(t, 99).toFixed(2)} ms`, `${(percentile(t, 99) / percentile(d, 99)).toFixed(2)}× the time`, ''],
        ['peak RSS, 20 concurrent cold 200 MB pulls', `${rss.distribution.toFixed(0)} MB`, `${rss.tollgate.toFixed(0)} MB`, '', 'tollgate < 300 MB'],
      );
    }
    const table = rows.map((r) => `| ${r.join(' | ')} |`);
    table.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);
    console.log(table.join('\n'));
    writeFileSync(join(WORK, 'last-result.md'), `${table.join('\n')}\n`);
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    await upstream.stop();
    rmSync(upstreamData, { recursive: true, force: true });
  }
}

await main();
