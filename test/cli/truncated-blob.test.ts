import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter, type BuiltImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// A registry that closes the connection in the middle of a blob: the error names the blob, the registry and
// repository, how far it got, and what to do — not undici's bare "other side closed" (issue 10, item 13).
let dir: string;
let registry: RunningRegistry;
let upstream: FaultProxy;
let image: BuiltImage;

/** Incompressible bytes, so the gzip layer is big enough to be cut in the middle of. */
function noise(bytes: number): Uint8Array {
  const out = Buffer.alloc(bytes);
  for (let offset = 0, i = 0; offset < bytes; offset += 32, i++) createHash('sha256').update(String(i)).digest().copy(out, offset);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-truncated-blob-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  image = await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'data.bin', content: noise(256 * 1024) }] }] });
  registry = await startRegistry();
  await pushOciLayout(join(dir, 'layout'), 'v1', registry.host, 'team/app:v1');
  upstream = await startFaultProxy(registry.url);
}, 60_000);

afterAll(async () => {
  await upstream?.stop();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a blob cut short by the registry', () => {
  it('validate says which blob, where, after how many bytes, and what to do (exit 2)', async () => {
    const layer = image.layers[0]!;
    upstream.arm('reset', (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`));
    const result = await runCli(['validate', `${upstream.host}/team/app:v1`, '--no-cache']);
    expect(upstream.count((r) => r.path.endsWith(`/blobs/${layer.digest}`))).toBe(1);
    expect(result.code).toBe(2);
    const line = result.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).not.toMatch(/^Error: other side closed$/);
    expect(line).toContain(`${upstream.host}/team/app@${layer.digest}`);
    expect(line).toMatch(new RegExp(`closed the connection after \\d+ of ${layer.size} bytes`));
    expect(line).toMatch(/retry/);
  });

  it('policy check, reading the config, says the same (and allows nothing)', async () => {
    await import('node:fs/promises').then(({ writeFile }) =>
      writeFile(join(dir, 'policy.yaml'), 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\ndefault: allow\nrules: []\n'),
    );
    const config = image.manifest.config;
    upstream.arm('reset', (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${config.digest}`));
    const result = await runCli(['policy', 'check', `${upstream.host}/team/app:v1`, '--policy', join(dir, 'policy.yaml'), '--no-cache']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${upstream.host}/team/app@${config.digest}`);
    expect(result.stderr).toMatch(new RegExp(`closed the connection after \\d+ of ${config.size} bytes`));
  });

  it('a broken connection core does not name (a manifest cut short) still says what it is and what to do', async () => {
    upstream.arm('reset', (r) => r.method === 'GET' && r.path.endsWith('/manifests/v1'));
    const result = await runCli(['inspect', `${upstream.host}/team/app:v1`]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('Error: a network connection broke (other side closed, UND_ERR_SOCKET); retry, or check the network and the registry');
  });
});
