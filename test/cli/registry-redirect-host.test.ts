import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter, type BuiltImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// A registry may only send the CLI to public addresses (or its own kind of address) unless the user lists the host:
// --registry-redirect-host / TOLLGATE_REGISTRY_REDIRECT_HOSTS is the CLI's form of the proxy's redirectHosts.
// 0.0.0.0 stands for "an address the registry may not send us to" (unspecified: never followed unless listed).
let dir: string;
let registry: RunningRegistry;
let upstream: FaultProxy;
let storage: FaultProxy;
let image: BuiltImage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-redirect-host-'));
  image = await buildImage(await OciLayoutWriter.create(join(dir, 'layout')), { tag: 'v1', layers: [{ files: [{ path: 'f', content: 'redirected' }] }] });
  registry = await startRegistry();
  await pushOciLayout(join(dir, 'layout'), 'v1', registry.host, 'team/app:v1');
  upstream = await startFaultProxy(registry.url);
  // "Object storage": the same registry, reached under another address.
  storage = await startFaultProxy(registry.url);
}, 60_000);

afterAll(async () => {
  await Promise.all([upstream?.stop(), storage?.stop(), registry?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('--registry-redirect-host', () => {
  const layerPath = () => `/v2/team/app/blobs/${image.layers[0]!.digest}`;
  const storagePort = () => storage.host.split(':')[1]!;

  it('refuses a redirect to an address the registry may not send us to, naming the flag; follows it once listed', async () => {
    upstream.arm('redirect', (r) => r.method === 'GET' && r.path === layerPath(), 100);
    upstream.redirectTo(`http://0.0.0.0:${storagePort()}${layerPath()}`);
    try {
      const refused = await runCli(['validate', `${upstream.host}/team/app:v1`, '--no-cache']);
      // validate reports a blob it could not read as a problem of the image (exit 1), with the reason.
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/refusing the redirect to 0\.0\.0\.0.*--registry-redirect-host/);
      expect(storage.count((r) => r.path === layerPath())).toBe(0);

      const listed = await runCli(['validate', `${upstream.host}/team/app:v1`, '--no-cache', '--registry-redirect-host', '0.0.0.0', '--allow-insecure-registry']);
      expect(listed.code, listed.stdout + listed.stderr).toBe(0);
      expect(storage.count((r) => r.path === layerPath())).toBe(1);

      // (0.0.0.0 is not loopback by name: plain HTTP to it needs --allow-insecure-registry as any such host does.)
      const byEnv = await runCli(['validate', `${upstream.host}/team/app:v1`, '--no-cache', '--allow-insecure-registry'], { env: { TOLLGATE_REGISTRY_REDIRECT_HOSTS: 'other.example, 0.0.0.0' } });
      expect(byEnv.code, byEnv.stderr).toBe(0);
    } finally {
      upstream.disarm();
    }
  });

  it('rejects a value that is not a host, with a clear error (exit 2)', async () => {
    const bad = await runCli(['validate', `${upstream.host}/team/app:v1`, '--no-cache', '--registry-redirect-host', 'http://evil/x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/http:\/\/evil\/x/);
  });
});
