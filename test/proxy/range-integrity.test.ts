/**
 * A Range request is served from the download in flight like a full GET, and must keep the same promise: a client
 * never gets a complete answer (a clean 206) carrying bytes that then fail verification. The upstream here alters
 * one byte in the middle of the blob; every range around the in-memory window, the altered byte, the held byte and
 * the blob's end must come back broken (cut short against its Content-Length), with curl too, and nothing cached.
 * With the upstream honest again, the same ranges come back whole and right, from the download and from the cache.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const run = promisify(execFile);
/** BlobFetch keeps the latest 4 MiB in memory; the sweep straddles that window's edge. */
const WINDOW = 4 * 1024 * 1024;
const SIZE = WINDOW + 1024 * 1024 + 123;
const MIDDLE = Math.floor(SIZE / 2);

let registry: RunningRegistry;
let faults: FaultProxy;
let proxy: RunningProxy;
let image: PushedImage;
const repo = 'ranges/app';

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', url: faults.url, default: true }] });
  image = await pushRawImage(registry.host, repo, 'v1', [SIZE]);
  const manifest = await fetchAll(`${proxy.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
  expect(manifest.status).toBe(200);
});

afterAll(async () => {
  await proxy?.stop();
  await faults?.stop();
  await registry?.stop();
});

const blobUrl = () => `${proxy.url}/v2/${repo}/blobs/${image.layers[0]!.digest}`;
const isBlob = (r: { path: string }) => r.path.endsWith(`/blobs/${image.layers[0]!.digest}`);

/** Every (start, end) pair, start ≤ end, over offsets around the window edge, the altered byte and the blob's end. */
function sweep(): [number, number][] {
  const points = [...new Set([0, 1, WINDOW - 1, WINDOW, WINDOW + 1, MIDDLE - 1, MIDDLE, MIDDLE + 1, SIZE - 2, SIZE - 1])].sort((a, b) => a - b);
  const pairs: [number, number][] = [];
  for (const start of points) for (const end of points) if (start <= end) pairs.push([start, end]);
  return pairs;
}

async function settled(): Promise<void> {
  await Promise.allSettled([...proxy.proxy.core.blobFetches.values()].map((f) => f.done));
}

describe('ranges of a blob that fails verification', () => {
  it('no range is ever answered complete while the upstream alters a byte, and nothing is cached', async () => {
    faults.arm('flip', isBlob, 10_000);
    try {
      for (const [start, end] of sweep()) {
        const response = await fetchAll(blobUrl(), { headers: { range: `bytes=${start}-${end}` } });
        const complete = response.error === undefined && response.status === 206 && response.body.length === end - start + 1;
        expect(complete, `bytes=${start}-${end} came back ${response.status} with ${response.body.length} bytes and no error`).toBe(false);
        expect(response.body.length).toBeLessThan(end - start + 1);
      }
      // The same for a suffix range and an open-ended one.
      for (const range of [`bytes=-2`, `bytes=-1`, `bytes=${SIZE - 3}-`]) {
        const response = await fetchAll(blobUrl(), { headers: { range } });
        expect(response.error !== undefined || response.status >= 400, `${range} completed`).toBe(true);
      }
      await settled();
      const hex = image.layers[0]!.digest.slice('sha256:'.length);
      await expect(readdir(join(proxy.dataDir, 'blobs', 'sha256'))).resolves.not.toContain(hex);
      expect(await readdir(join(proxy.dataDir, 'tmp'))).toEqual([]);
    } finally {
      faults.disarm();
    }
  });

  for (const end of [MIDDLE + 10, SIZE - 2]) {
    it(`curl -r 0-${end === SIZE - 2 ? '<size-2>' : '<past the altered byte>'} through the proxy fails (exit non-zero) instead of saving altered bytes`, async () => {
      faults.arm('flip', isBlob, 1);
      try {
        const result = await run('curl', ['-sS', '-o', '/dev/null', '-r', `0-${end}`, blobUrl()]).then(
          () => 0,
          (error: { code?: number }) => error.code ?? -1,
        );
        expect(result).not.toBe(0);
      } finally {
        faults.disarm();
      }
    });
  }

  it('with an honest upstream the same ranges are whole and right, from the download and then from the cache', async () => {
    const bytes = image.layers[0]!.bytes;
    const pairs = sweep();
    // The first request starts the download; the rest join it or read the committed file.
    const first = await Promise.all(pairs.slice(0, 8).map(([start, end]) => fetchAll(blobUrl(), { headers: { range: `bytes=${start}-${end}` } })));
    for (const [i, response] of first.entries()) {
      const [start, end] = pairs[i]!;
      expect(response.error).toBeUndefined();
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(response.body.equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    await settled();
    for (const [start, end] of pairs) {
      const response = await fetchAll(blobUrl(), { headers: { range: `bytes=${start}-${end}` } });
      expect(response.error).toBeUndefined();
      expect(response.body.equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    expect(faults.count(isBlob)).toBeGreaterThan(0);
  });
});
