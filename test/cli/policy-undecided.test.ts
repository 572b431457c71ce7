import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, RegistryClient, signImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// A registry that cannot list an image's signatures for now (5xx) has not shown that the image is unsigned:
// `policy check` says UNDECIDED and exits 2 (retry), not 1 (denied on the evidence).
let dir: string;
let registry: RunningRegistry;
let upstream: FaultProxy;
const key = generateKeyPair('ecdsa-p256');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-undecided-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'app', content: 'app' }] }] });
  registry = await startRegistry();
  await pushOciLayout(join(dir, 'layout'), 'v1', registry.host, 'team/app:v1');
  await signImage(`${registry.host}/team/app:v1`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });
  upstream = await startFaultProxy(registry.url);
  const pem = publicVerificationKey(key).pem;
  await writeFile(
    join(dir, 'policy.yaml'),
    `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: release\n        key: {pem: ${JSON.stringify(pem)}}\n        transparencyLog: ignore\n`,
  );
}, 60_000);

afterAll(async () => {
  await upstream?.stop();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

const check = () => runCli(['policy', 'check', `${upstream.host}/team/app:v1`, '--policy', join(dir, 'policy.yaml'), '--no-cache', '--json']);

describe('policy check while the registry cannot show the signatures', () => {
  it('is UNDECIDED, exit 2, while signature lookups answer 500; allowed (exit 0) once they work', async () => {
    upstream.arm('500', (r) => r.path.includes('/manifests/sha256-'), 1000);
    try {
      const undecided = await check();
      expect(undecided.code, undecided.stderr).toBe(2);
      const verdict = JSON.parse(undecided.stdout);
      expect(verdict).toMatchObject({ decision: 'deny', indeterminate: true });
      expect(verdict.summary).toMatch(/^undecided/);
      const text = await runCli(['policy', 'check', `${upstream.host}/team/app:v1`, '--policy', join(dir, 'policy.yaml'), '--no-cache']);
      expect(text.code).toBe(2);
      expect(text.stdout).toMatch(/^UNDECIDED: /m);
    } finally {
      upstream.disarm();
    }
    const allowed = await check();
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).decision).toBe('allow');
  });

  it('an image whose signature is gone (the registry answers, with nothing) is denied, exit 1', async () => {
    const client = new RegistryClient(registry.host, { retries: 0 });
    const tags = (await client.listTags('team/app')).tags.filter((t) => t.startsWith('sha256-'));
    for (const tag of tags) await client.deleteManifest('team/app', (await client.getManifest('team/app', tag)).digest);
    const denied = await check();
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout).indeterminate).toBeUndefined();
  });
});
