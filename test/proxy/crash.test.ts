/**
 * kill -9 in the middle of a pull, then a restart on the same data directory: the interrupted download is removed,
 * nothing partial is ever served, and the blob is fetched again whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowAllGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, sha256 } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const CHILD = fileURLToPath(new URL('./support/proxy-child.ts', import.meta.url));

let registry: RunningRegistry;
let faults: FaultProxy;
let dataDir: string;
let child: ChildProcess | undefined;
let restarted: RunningProxy | undefined;

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-proxy-crash-'));
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await restarted?.close();
  await faults?.stop();
  await registry?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function startChild(config: object): Promise<{ process: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--conditions=tollgate-source', '--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => resolve({ process: proc, url: (JSON.parse(line) as { url: string }).url }));
    proc.once('exit', (code) => reject(new Error(`proxy child exited (${code}) before listening: ${stderr}`)));
  });
}

it('kill -9 mid-pull leaves nothing servable, and a restart cleans up and serves the blob whole', async () => {
  const image = await pushRawImage(registry.host, 'crash/app', 'v1', [1024 * 1024]);
  const layer = image.layers[0]!;
  const config = { listen: '127.0.0.1:0', dataDir, logLevel: 'silent', upstreams: [{ name: 'up', url: faults.url, default: true }] };
  const started = await startChild(config);
  child = started.process;
  const manifest = await fetchAll(`${started.url}/v2/crash/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
  expect(manifest.status).toBe(200);

  faults.arm('stall', (r) => r.path.endsWith(`/blobs/${layer.digest}`));
  const response = await fetch(`${started.url}/v2/crash/app/blobs/${layer.digest}`);
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  // The proxy has written part of the blob to a temp file when it is killed.
  expect((await readdir(join(dataDir, 'tmp'))).length).toBe(1);
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  let received = first.value!.length;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      received += next.value.length;
    }
  } catch {
    // the connection died with the proxy
  }
  expect(received).toBeLessThan(layer.size);
  const hex = layer.digest.slice('sha256:'.length);
  await expect(readFile(join(dataDir, 'blobs', 'sha256', hex))).rejects.toThrow();

  restarted = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', url: faults.url, default: true }], dataDir });
  expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
  // Metadata survived the crash: the manifest and its admissions are still there.
  const blob = await fetchAll(`${restarted.url}/v2/crash/app/blobs/${layer.digest}`);
  expect(blob.status).toBe(200);
  expect(sha256(blob.body)).toBe(layer.digest);
  // The client has its last byte once the digest matched; storing the blob follows.
  await restarted.proxy.core.idle();
  expect((await readFile(join(dataDir, 'blobs', 'sha256', hex))).length).toBe(layer.size);
});
