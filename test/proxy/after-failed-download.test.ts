/**
 * A download that fails verification stays in the proxy's table of downloads in flight while it removes its temp
 * file. A client that asks again at once (as curl --retry and containerd do, the moment their connection is cut)
 * must start a new download and get the whole blob, not join the failed one and get a status line and a cut body.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowAllGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, sha256, type PushedImage } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let registry: RunningRegistry;
let faults: FaultProxy;
let proxy: RunningProxy;
let image: PushedImage;
const repo = 'again/app';

beforeAll(async () => {
  registry = await startRegistry();
  faults = await startFaultProxy(registry.url);
  proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', url: faults.url, default: true }] });
  image = await pushRawImage(registry.host, repo, 'v1', [6 * 1024 * 1024 + 7]);
  expect((await fetchAll(`${proxy.url}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status).toBe(200);
});

afterAll(async () => {
  await proxy?.stop();
  await faults?.stop();
  await registry?.stop();
});

it('a request made the moment a download failed gets a new download and the whole blob', async () => {
  const layer = image.layers[0]!;
  const url = `${proxy.url}/v2/${repo}/blobs/${layer.digest}`;
  for (let round = 0; round < 5; round++) {
    faults.arm('flip', (r) => r.path.endsWith(`/blobs/${layer.digest}`), 1);
    const broken = await fetchAll(url);
    expect(broken.error, 'the altered download was cut').toBeDefined();
    const again = await fetchAll(url);
    expect(again.error, `round ${round}: the retry was cut`).toBeUndefined();
    expect(again.status).toBe(200);
    expect(sha256(again.body)).toBe(layer.digest);
    // The next round starts cold again.
    await Promise.allSettled([...proxy.proxy.core.blobFetches.values()].map((f) => f.done));
    await proxy.proxy.core.blobs.remove(layer.digest);
  }
});
