/**
 * The floor under tollgate's cold-pull gap (issue 15): what does a cold 250 MiB blob cost through a minimal Node
 * proxy that does only what tollgate must do (hash every byte, hold the last one until the digest matched, keep a
 * copy), next to distribution's proxy, the upstream itself, and tollgate — all in one run, on one upstream.
 *
 * Servers, each sample on a fresh process with an empty cache, alternating (order rotated every run):
 *  - direct: curl straight from the upstream (a plain docker-registry): no proxy at all;
 *  - distribution: `docker-registry` with `proxy.remoteurl` (a pipe to the client, stored from a second fetch);
 *  - node:<variant>: bench/support/floor-proxy.ts, a bare node:http server (pipe, hash, hash-file, …: see there);
 *  - tollgate: `tollgate proxy serve` with `gate: {allowDigests}` (no signature work: only the blob path differs).
 * Each sample: the server first serves a small unrelated image (a running proxy meeting a new image, as in
 * proxy-bench), then curl fetches the manifest by tag and then the blob into /dev/null; the blob's wall time and
 * each process's CPU time (/proc/<pid>/stat, utime + stime) during it are recorded. Medians of RUNS.
 *
 * Run: pnpm exec tsx bench/node-floor-bench.ts   (after `pnpm build`; RUNS=n, default 7)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, RegistryClient } from '../packages/core/src/index.js';
import { cpuSeconds, freePort, median, stopChild, waitForRegistry } from './support/processes.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'floor');
const CLI = join(ROOT, 'packages/cli/bin/tollgate.js');
const FLOOR = join(import.meta.dirname, 'support', 'floor-proxy.ts');
const RUNS = Number(process.env.RUNS ?? 7);
const SIZE = 250 * 1024 * 1024;
const REPO = 'bench/floor';
const OTHER = 'bench/floor-other';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const VARIANTS = ['pipe', 'hash', 'hash-file', 'hash-file-sync', 'hash-http', 'hash-worker'] as const;
const KINDS = ['direct', 'distribution', ...VARIANTS.map((v) => `node:${v}`), 'tollgate'];

interface Server {
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `command` on a free port (`args(port, dir)`, `dir` a fresh temp dir removed on stop) and waits for it.
 * Only our own proxies' stderr is shown: docker-registry logs every 404 of a push, tollgate its start and stop.
 */
async function start(command: string, args: (port: number, dir: string) => string[], stderr: 'inherit' | 'ignore' = 'ignore'): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  const child = spawn(command, args(port, dir), { stdio: ['ignore', 'ignore', stderr] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForRegistry(url, child);
  } catch (error) {
    await stopChild(child, dir);
    throw error;
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child, dir) };
}

/** docker-registry with filesystem storage under the fresh dir; a pull-through proxy of `remote` if given. */
function startDistribution(remote?: string, storage?: string): Promise<Server> {
  return start('docker-registry', (port, dir) => {
    const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${storage ?? join(dir, 'storage')}`, 'http:', `  addr: 127.0.0.1:${port}`];
    if (remote !== undefined) lines.push('proxy:', `  remoteurl: ${remote}`);
    writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
    return ['serve', join(dir, 'config.yml')];
  });
}

/** tollgate as a user runs it; the gate admits exactly the two manifests (JSON is YAML). */
function startTollgate(upstream: string, manifests: Record<string, string>): Promise<Server> {
  return start(process.execPath, (port, dir) => {
    const allowDigests = Object.fromEntries(Object.entries(manifests).map(([repo, digest]) => [`up/${repo}`, [digest]]));
    const config = { listen: `127.0.0.1:${port}`, dataDir: join(dir, 'data'), logLevel: 'warn', cache: { maxBytes: '20GiB', tagTtlSeconds: 3600 }, gate: { allowDigests }, upstreams: [{ name: 'up', url: upstream, default: true }] };
    writeFileSync(join(dir, 'tollgate.yaml'), JSON.stringify(config));
    return [CLI, 'proxy', 'serve', '--config', join(dir, 'tollgate.yaml')];
  });
}

/** Pushes `repository:v1`, one layer of `size` random bytes; returns the manifest and layer digests. */
async function pushRandomImage(host: string, repository: string, size: number): Promise<{ manifest: string; layer: string }> {
  const client = new RegistryClient(host);
  const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const bytes = randomBytes(size);
  const layer = digestOf(bytes);
  await client.pushBlob(repository, bytes, layer, bytes.length);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer] } }));
  await client.pushBlob(repository, config, digestOf(config), config.length);
  const body = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size }] };
  const manifest = await client.putManifest(repository, 'v1', Buffer.from(JSON.stringify(body)), MediaType.OciManifest);
  return { manifest, layer };
}

/** curl into /dev/null (no shell in between: its start-up would be timed too); returns the bytes received. */
function curl(...args: string[]): number {
  const result = spawnSync('curl', ['-sfS', '-o', '/dev/null', '-w', '%{size_download}', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`curl ${args.join(' ')}: ${result.status} ${result.stderr}`);
  return Number(result.stdout);
}

interface Sample {
  /** curl's wall time for the manifest by tag, and for the blob. */
  manifest: number;
  blob: number;
  /** CPU seconds during the blob: the server process's, and the upstream's. */
  cpu: number;
  upstreamCpu: number;
}

function uptime(): string {
  return spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('build first: pnpm build');
  mkdirSync(WORK, { recursive: true });
  const upstreamData = mkdtempSync(join(tmpdir(), 'bench-floor-upstream-'));
  const upstream = await startDistribution(undefined, upstreamData);
  try {
    const image = await pushRandomImage(upstream.host, REPO, SIZE);
    const other = await pushRandomImage(upstream.host, OTHER, 1024 * 1024);
    const manifests = { [REPO]: image.manifest, [OTHER]: other.manifest };
    const starters: Record<string, () => Promise<Server>> = {
      direct: async () => ({ ...upstream, stop: async () => undefined }),
      distribution: () => startDistribution(upstream.url),
      tollgate: () => startTollgate(upstream.url, manifests),
      ...Object.fromEntries(VARIANTS.map((v) => [`node:${v}`, () => start(process.execPath, (port, dir) => [FLOOR, v, String(port), upstream.url, dir], 'inherit')])),
    };
    console.error(`node ${process.version}; blob ${(SIZE / 1e6).toFixed(0)} MB random; RUNS=${RUNS}; before: ${uptime()}`);
    const samples: Record<string, Sample[]> = Object.fromEntries(KINDS.map((k) => [k, []]));
    for (let run = 0; run < RUNS; run++) {
      for (let i = 0; i < KINDS.length; i++) {
        const kind = KINDS[(i + run) % KINDS.length]!;
        const server = await starters[kind]!();
        try {
          curl('-H', `Accept: ${ACCEPT}`, `${server.url}/v2/${OTHER}/manifests/v1`);
          curl(`${server.url}/v2/${OTHER}/blobs/${other.layer}`);
          let t0 = performance.now();
          curl('-H', `Accept: ${ACCEPT}`, `${server.url}/v2/${REPO}/manifests/v1`);
          const manifest = (performance.now() - t0) / 1000;
          const [cpu0, up0] = [cpuSeconds(server.pid), cpuSeconds(upstream.pid)];
          t0 = performance.now();
          const bytes = curl(`${server.url}/v2/${REPO}/blobs/${image.layer}`);
          const blob = (performance.now() - t0) / 1000;
          const [cpu1, up1] = [cpuSeconds(server.pid), cpuSeconds(upstream.pid)];
          if (bytes !== SIZE) throw new Error(`${kind}: the blob came back with ${bytes} bytes`);
          samples[kind]!.push({ manifest, blob, cpu: cpu1 - cpu0, upstreamCpu: up1 - up0 });
        } finally {
          await server.stop();
        }
      }
    }
    const after = uptime();
    for (const kind of KINDS) console.error(`${kind}: blob ${samples[kind]!.map((s) => s.blob.toFixed(2)).join(', ')}; cpu ${samples[kind]!.map((s) => s.cpu.toFixed(2)).join(', ')}`);
    console.error(`after: ${after}`);
    const d = median(samples.distribution!.map((s) => s.blob));
    const rows = [
      `| server | blob wall, median of ${RUNS} | ratio to distribution | server CPU during the blob | upstream CPU | manifest by tag |`,
      '|---|---|---|---|---|---|',
      ...KINDS.map((kind) => {
        const s = samples[kind]!;
        const wall = median(s.map((x) => x.blob));
        const cpu = kind === 'direct' ? '(is the upstream)' : `${median(s.map((x) => x.cpu)).toFixed(2)} s`;
        return `| ${kind} | ${wall.toFixed(3)} s | ${(wall / d).toFixed(2)}× | ${cpu} | ${median(s.map((x) => x.upstreamCpu)).toFixed(2)} s | ${(median(s.map((x) => x.manifest)) * 1000).toFixed(0)} ms |`;
      }),
    ];
    console.log(rows.join('\n'));
    writeFileSync(join(WORK, 'last-result.md'), `${rows.join('\n')}\n`);
  } finally {
    await upstream.stop();
    rmSync(upstreamData, { recursive: true, force: true });
  }
}

await main();
