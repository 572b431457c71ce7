/**
 * Policy rules name images as `<registry>/<repository>`. An upstream that mirrors Docker Hub (reached with
 * containerd's `ns=docker.io`, or any Hub alias) serves docker.io images whatever its own URL is: `docker.io/**`
 * rules must govern what it serves. Before, it was named by its URL's host, and with `default: allow` an unsigned
 * image went through a `docker.io/**` rule that required a signature.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, RegistryClient, signImage, type BuiltImage } from '@tollgate/core';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';

let registry: RunningRegistry;
let work: string;
const key = generateKeyPair('ecdsa-p256');
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tollgate-registry-naming-'));
  const pem = publicVerificationKey(key).pem;
  await writeFile(
    join(work, 'policy.yaml'),
    [
      'apiVersion: tollgate.dev/v1alpha1',
      'kind: ImagePolicy',
      'default: allow',
      'rules:',
      '  - name: hub-signed',
      '    images: ["docker.io/**"]',
      '    authorities:',
      '      - name: release',
      `        key: {pem: ${JSON.stringify(pem)}}`,
      '        transparencyLog: ignore',
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([...proxies.map((p) => p.stop()), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function pushImage(repo: string, sign: boolean): Promise<BuiltImage> {
  const layout = join(work, repo.replaceAll('/', '-'));
  const image = await buildImage(await OciLayoutWriter.create(layout), { tag: 'v1', layers: [{ files: [{ path: 'app/main', content: `${repo} ${sign}` }] }] });
  await pushOciLayout(layout, 'v1', registry.host, `${repo}:v1`);
  if (sign) await signImage(`${registry.host}/${repo}:v1`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });
  return image;
}

async function hubMirror(extra: Record<string, unknown>): Promise<RunningProxy> {
  const upstream = { name: 'hub', url: registry.url, prefix: 'hub', ...extra };
  const config = normalizeProxyConfig({ dataDir: work, upstreams: [upstream], gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
  const gate = (await loadGate(config.gate, config.upstreams))!;
  const proxy = await startProxy({ gate, upstreams: [upstream] });
  proxies.push(proxy);
  return proxy;
}

const manifest = (proxy: RunningProxy, path: string) => fetchAll(`${proxy.url}/v2/${path}`, { headers: { accept: MANIFEST_ACCEPT } });

describe('a Docker Hub mirror is named docker.io for policy rules', () => {
  it('ns: docker.io — an unsigned image is denied by the docker.io/** rule whichever Hub alias or route the client uses', async () => {
    await pushImage('library/unsigned', false);
    const signed = await pushImage('library/signed', true);
    const proxy = await hubMirror({ ns: 'docker.io' });
    for (const path of ['unsigned/manifests/v1?ns=docker.io', 'library/unsigned/manifests/v1?ns=index.docker.io', 'unsigned/manifests/v1?ns=registry-1.docker.io', 'hub/unsigned/manifests/v1']) {
      const denied = await manifest(proxy, path);
      expect(denied.status, path).toBe(403);
      expect(JSON.parse(denied.body.toString()).errors[0].detail.rule, path).toBe('hub-signed');
    }
    const allowed = await manifest(proxy, 'signed/manifests/v1?ns=registry.hub.docker.com');
    expect(allowed.status, allowed.body.toString()).toBe(200);
    expect(allowed.headers.get('docker-content-digest')).toBe(signed.descriptor.digest);
  });

  it('registry: docker.io names a prefix-only mirror the same way', async () => {
    await pushImage('library/unsigned2', false);
    const proxy = await hubMirror({ registry: 'docker.io' });
    const denied = await manifest(proxy, 'hub/unsigned2/manifests/v1');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body.toString()).errors[0].detail.rule).toBe('hub-signed');
  });

  it('without either, the mirror is its own registry (the rule does not apply, as the start-up warning says)', async () => {
    await pushImage('library/unsigned3', false);
    const proxy = await hubMirror({});
    expect((await manifest(proxy, 'hub/library/unsigned3/manifests/v1')).status).toBe(200);
  });
});
