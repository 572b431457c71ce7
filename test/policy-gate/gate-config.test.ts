import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateFromConfig, loadGate, normalizeProxyConfig, registryOf, type UpstreamConfig } from '../../packages/proxy/src/index.js';

let dir: string;
const POLICY = 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: all\n    images: ["**"]\n    checks: {maxLayers: 10}\n';
const upstreams = [{ name: 'up', oci: '/tmp', default: true }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-gate-config-'));
  await writeFile(join(dir, 'policy.yaml'), POLICY);
  await writeFile(join(dir, 'broken.yaml'), `${POLICY}    unknownKey: 1\n`);
  await writeFile(join(dir, 'root.json'), '{"mediaType": "nope"}');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const normalize = (gate: unknown) => normalizeProxyConfig({ dataDir: dir, upstreams, gate }, { baseDir: dir, env: {} });

describe('gate: {policy, trustedRoot?}', () => {
  it('normalises to absolute paths and refuses unknown keys, empty and non-string values', () => {
    expect(normalize({ policy: 'policy.yaml', trustedRoot: 'root.json' }).gate).toEqual({ kind: 'policy', policy: join(dir, 'policy.yaml'), trustedRoot: join(dir, 'root.json') });
    expect(() => normalize({ policy: 'policy.yaml', allowDigests: {} })).toThrow(/gate.*allowDigests/);
    expect(() => normalize({ policy: '' })).toThrow(/gate\.policy must be a non-empty string/);
    expect(() => normalize({ policy: 42 })).toThrow(/gate\.policy/);
    expect(() => normalize({ policy: 'p.yaml', trustedRoot: ['x'] })).toThrow(/gate\.trustedRoot/);
    expect(() => normalize('policy.yaml')).toThrow(/must be \{policy: <policy file>/);
  });

  it('loads the policy (revision = policy revision) and fails to start on a bad policy, a missing file or a bad trusted root', async () => {
    const config = normalize({ policy: 'policy.yaml' });
    const gate = (await loadGate(config.gate, config.upstreams))!;
    expect(gate.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(loadGate(normalize({ policy: 'broken.yaml' }).gate, config.upstreams)).rejects.toMatchObject({ code: 'INVALID_POLICY' });
    await expect(loadGate(normalize({ policy: 'missing.yaml' }).gate, config.upstreams)).rejects.toThrow(/missing\.yaml/);
    await expect(loadGate(normalize({ policy: 'policy.yaml', trustedRoot: 'nope.json' }).gate, config.upstreams)).rejects.toThrow(/cannot read the trusted root/);
    await expect(loadGate(normalize({ policy: 'policy.yaml', trustedRoot: 'root.json' }).gate, config.upstreams)).rejects.toThrow(/trusted root/);
    expect(() => gateFromConfig(config.gate)).toThrow(/loadGate/);
  });

  it('names upstreams as rules see them: the registry host (docker.io for Docker Hub), <name>.oci for a layout', () => {
    const u = (over: Partial<UpstreamConfig>) => ({ name: 'x', default: false, insecure: false, timeoutSeconds: 30, ...over }) as UpstreamConfig;
    expect(registryOf(u({ url: 'https://registry-1.docker.io' }))).toBe('docker.io');
    expect(registryOf(u({ url: 'https://GHCR.io' }))).toBe('ghcr.io');
    expect(registryOf(u({ url: 'http://127.0.0.1:5000' }))).toBe('127.0.0.1:5000');
    expect(registryOf(u({ name: 'demo', oci: '/srv/layout' }))).toBe('demo.oci');
    expect(registryOf(u({ url: 'https://registry.hub.docker.com' }))).toBe('docker.io');
  });

  it('names a mirror by what it mirrors: registry:, else ns, else the URL host', () => {
    const config = (extra: Record<string, unknown>) => normalizeProxyConfig({ dataDir: dir, upstreams: [{ name: 'm', url: 'https://mirror.example.com', default: true, ...extra }] }, { env: {} }).upstreams[0]!;
    expect(registryOf(config({}))).toBe('mirror.example.com');
    expect(registryOf(config({ ns: 'docker.io' }))).toBe('docker.io');
    expect(registryOf(config({ ns: 'index.docker.io' }))).toBe('docker.io');
    expect(registryOf(config({ registry: 'index.docker.io' }))).toBe('docker.io');
    expect(registryOf(config({ registry: 'GHCR.io' }))).toBe('ghcr.io');
    expect(registryOf(config({ registry: 'registry.local:5000', ns: 'docker.io' }))).toBe('registry.local:5000');
    expect(registryOf(config({ registry: 'localhost' }))).toBe('localhost');
    for (const bad of ['', 'myreg', 'Foo', 'ghcr.io/org', 'a@b.io', 'ghcr.io ', 'x'.repeat(300), 42, ['ghcr.io'], 'ghcr.io:99999x', 'https://ghcr.io']) {
      expect(() => config({ registry: bad }), JSON.stringify(bad)).toThrow(/upstreams\[0\]\.registry/);
    }
  });

  it('warns at start-up of a rule that no upstream can ever match', async () => {
    await writeFile(join(dir, 'hub.yaml'), 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\ndefault: allow\nrules:\n  - name: hub-signed\n    images: ["docker.io/**"]\n    checks: {maxLayers: 10}\n  - name: any\n    images: ["**"]\n    checks: {maxLayers: 99}\n');
    const notices = async (extra: Record<string, unknown>) => {
      const config = normalizeProxyConfig({ dataDir: dir, upstreams: [{ name: 'm', url: 'https://mirror.example.com', default: true, ...extra }], gate: { policy: 'hub.yaml' } }, { baseDir: dir, env: {} });
      const lines: string[] = [];
      await loadGate(config.gate, config.upstreams, { notice: (line) => lines.push(line) });
      return lines;
    };
    const lines = await notices({});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/policy rule "hub-signed" \(images: docker\.io\/\*\*\) matches no registry of the configured upstreams \(mirror\.example\.com\).*upstreams\[\]\.registry/);
    expect(await notices({ ns: 'docker.io' })).toEqual([]);
    expect(await notices({ registry: 'docker.io' })).toEqual([]);
  });
});
