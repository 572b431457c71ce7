/**
 * A policy whose checks read the image (the config for nonRootUser, the layers for noSetuid) reads it through the
 * proxy's blob cache: the upstream sends each blob once, whether the gate or a client asks first.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter, type BuiltImage } from '@tollgate/core';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';

let registry: RunningRegistry;
let counting: FaultProxy;
let proxy: RunningProxy;
let work: string;
let image: BuiltImage;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-gate-cache-'));
  registry = await startRegistry();
  counting = await startFaultProxy(registry.url);
  const layout = join(work, 'layout');
  image = await buildImage(await OciLayoutWriter.create(layout), {
    tag: 'v1',
    layers: [{ files: [{ path: 'etc/', type: 'dir' }, { path: 'etc/passwd', content: 'app:x:1000:1000::/app:/bin/sh\n' }] }, { files: [{ path: 'app/server.js', content: 'console.log(1)\n'.repeat(2000) }] }],
    config: { config: { User: '1000' } },
  });
  await pushOciLayout(layout, 'v1', registry.host, 'team/app:v1');
  await writeFile(
    join(work, 'policy.yaml'),
    'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: checked\n    images: ["**"]\n    checks:\n      nonRootUser: true\n      noSetuid: {allow: []}\n',
  );
  const upstreams = [{ name: 'up', url: counting.url, default: true }];
  const config = normalizeProxyConfig({ dataDir: work, upstreams, gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
  proxy = await startProxy({ gate: (await loadGate(config.gate, config.upstreams))!, upstreams });
}, 60_000);

afterAll(async () => {
  await Promise.all([proxy?.stop(), counting?.stop(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const upstreamGets = (digest: string) => counting.count((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`));
const cachedFile = (digest: string) => join(proxy.dataDir, 'blobs', 'sha256', digest.slice('sha256:'.length));

describe('the gate reads blobs through the cache', () => {
  it('keeps what the checks read, so clients are served from the store and the upstream sends each blob once', async () => {
    const manifest = await fetchAll(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(manifest.status, manifest.body.toString()).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.descriptor.digest);
    await Promise.allSettled([...proxy.proxy.core.blobFetches.values()].map((f) => f.done));
    const layoutBlob = (digest: string) => readFile(join(work, 'layout', 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const blobs = await Promise.all([image.manifest.config.digest, ...image.layers.map((l) => l.digest)].map(async (digest) => ({ digest, bytes: await layoutBlob(digest) })));
    expect(blobs).toHaveLength(3);
    for (const blob of blobs) {
      // Read by the gate (config for nonRootUser, layers for noSetuid): verified and already in the store.
      expect((await readFile(cachedFile(blob.digest))).equals(blob.bytes)).toBe(true);
      const served = await fetchAll(`${proxy.url}/v2/team/app/blobs/${blob.digest}`);
      expect(served.status).toBe(200);
      expect(served.body.equals(blob.bytes)).toBe(true);
      expect(upstreamGets(blob.digest)).toBe(1);
    }
  });
});
