import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy, LayerIndexStore, loadPolicy, OciLayoutWriter, buildImage, openImage, parseReference, policyImageFrom, type BuildImageOptions, type BuiltImage, type PolicyImage } from '@tollgate/core';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { buildUmociImage } from '../../../../test/support/umoci.js';
import { yaml } from './support.js';

let dir: string;
let writer: OciLayoutWriter;
let registry: RunningRegistry;
const built = new Map<string, BuiltImage>();

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n';
const base = { files: [{ path: 'etc/', type: 'dir' as const }, { path: 'etc/os-release', content: 'ID=test\n' }, { path: 'etc/passwd', content: PASSWD }, { path: 'usr/bin/passwd', content: 'bin', mode: 0o4755 }] };

const images: Record<string, Omit<BuildImageOptions, 'tag'>> = {
  good: { layers: [base, { files: [{ path: 'app/server', content: 'srv', mode: 0o755 }] }], config: { config: { User: 'app', Healthcheck: { Test: ['CMD', '/app/server', '--health'] } } } },
  root: { layers: [base, { files: [{ path: 'app/server', content: 'srv' }] }], config: { config: { User: '0:0' } } },
  nohealth: { layers: [base], config: { config: { User: 'app', Healthcheck: { Test: ['NONE'] } } } },
  setuid: { layers: [base, { files: [{ path: 'usr/local/bin/escalate', content: 'x', mode: 0o6755 }, { path: 'var/mail/', type: 'dir', mode: 0o2775 }] }], config: { config: { User: 'app' } } },
  secret: { layers: [base, { files: [{ path: 'app/.env', content: 'TOKEN=x' }, { path: 'root/.ssh/id_ed25519', content: 'k', mode: 0o600 }] }], config: { config: { User: 'app' } } },
  'deleted-secret': {
    layers: [base, { files: [{ path: 'build/id_rsa', content: 'k' }] }, { files: [{ path: 'build/.wh.id_rsa', content: '' }] }],
    config: { config: { User: 'app' } },
  },
  other: { layers: [{ files: [{ path: 'other', content: 'o' }] }, { files: [{ path: 'x', content: 'x' }] }], config: { config: { User: 'app' } } },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-checks-'));
  writer = await OciLayoutWriter.create(join(dir, 'layout'));
  for (const [tag, options] of Object.entries(images)) built.set(tag, await buildImage(writer, { ...options, tag }));
  registry = await startRegistry();
  await pushOciLayout(join(dir, 'layout'), 'good', registry.host, 'org/app:good');
  await pushOciLayout(join(dir, 'layout'), 'root', registry.host, 'org/app:root');
});
afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function local(tag: string, store?: LayerIndexStore): Promise<PolicyImage> {
  const opened = await openImage(`oci:${join(dir, 'layout')}:${tag}`);
  return policyImageFrom(opened, parseReference('ghcr.io/org/app'), { reference: tag, ...(store ? { store } : {}) });
}

async function verdictFor(checks: string, tag: string) {
  const policy = await loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    checks: ${checks}\n`));
  return evaluatePolicy(await local(tag), policy);
}

describe('checks on real images', () => {
  it('nonRootUser: allows a named user, denies root (0:0)', async () => {
    expect((await verdictFor('{nonRootUser: true}', 'good')).decision).toBe('allow');
    const denied = await verdictFor('{nonRootUser: true}', 'root');
    expect(denied.decision).toBe('deny');
    expect(denied.summary).toMatch(/runs as root: its config has User "0:0"/);
  });

  it('healthcheck: allows a HEALTHCHECK, denies NONE and none', async () => {
    expect((await verdictFor('{healthcheck: true}', 'good')).decision).toBe('allow');
    expect((await verdictFor('{healthcheck: true}', 'nohealth')).summary).toMatch(/disables its HEALTHCHECK/);
    expect((await verdictFor('{healthcheck: true}', 'root')).summary).toMatch(/no HEALTHCHECK/);
  });

  it('noSetuid: denies setuid/setgid files outside the allow-list, not setgid directories', async () => {
    const denied = await verdictFor('{noSetuid: {allow: [/usr/bin/passwd]}}', 'setuid');
    expect(denied.decision).toBe('deny');
    expect(denied.summary).toContain('/usr/local/bin/escalate (setuid+setgid, mode 6755)');
    expect(denied.summary).not.toContain('var/mail');
    expect((await verdictFor('{noSetuid: {allow: [/usr/bin/passwd]}}', 'good')).decision).toBe('allow');
    expect((await verdictFor('{noSetuid: true}', 'good')).summary).toContain('/usr/bin/passwd');
  });

  it('noSecrets: denies private keys and .env files, also when a later layer deletes them; honours the allow-list', async () => {
    const denied = await verdictFor('{noSecrets: true}', 'secret');
    expect(denied.decision).toBe('deny');
    expect(denied.summary).toContain('/app/.env');
    expect(denied.summary).toContain('/root/.ssh/id_ed25519');
    const hidden = await verdictFor('{noSecrets: true}', 'deleted-secret');
    expect(hidden.decision).toBe('deny');
    expect(hidden.summary).toMatch(/\/build\/id_rsa \(layer 2, removed or replaced later but still in the layer blob\)/);
    expect((await verdictFor('{noSecrets: {allow: ["app/.env", "root/.ssh/**"]}}', 'secret')).decision).toBe('allow');
    expect((await verdictFor('{noSecrets: {patterns: ["**/server"]}}', 'good')).decision).toBe('deny');
    expect((await verdictFor('{noSecrets: true}', 'good')).decision).toBe('allow');
  });

  it('maxSize and maxLayers both ways', async () => {
    const size = built.get('good')!.layers.reduce((s, l) => s + l.size, 0);
    expect((await verdictFor(`{maxSize: ${size}, maxLayers: 2}`, 'good')).decision).toBe('allow');
    expect((await verdictFor(`{maxSize: ${size - 1}}`, 'good')).summary).toMatch(/over the limit/);
    expect((await verdictFor('{maxSize: 1KiB}', 'good')).decision).toBe('allow');
    expect((await verdictFor('{maxLayers: 1}', 'good')).summary).toMatch(/2 layers, over the limit of 1/);
  });

  it('baseImages: allows images whose first layers are an allowed base, denies others', async () => {
    const baseDiff = built.get('good')!.layers[0]!.diffId;
    const checks = `{baseImages: [{name: testbase, digest: "sha256:${'0'.repeat(64)}", diffIDs: ["${baseDiff}"]}]}`;
    const allowed = await verdictFor(checks, 'good');
    expect(allowed.decision).toBe('allow');
    expect(allowed.findings.at(-1)!.reason).toMatch(/built on the allowed base testbase/);
    expect((await verdictFor(checks, 'other')).decision).toBe('deny');
  });

  it('reads file indexes through the layer index store, and evaluates an image served by a real registry', async () => {
    const store = await LayerIndexStore.open(join(dir, 'data'));
    try {
      const policy = await loadPolicy(yaml('rules:\n  - name: app\n    images: [127.0.0.1:*/org/*]\n    checks: {nonRootUser: true, noSecrets: true, noSetuid: {allow: [usr/bin/passwd]}}\n'));
      for (const [tag, decision] of [['good', 'allow'], ['root', 'deny']] as const) {
        const ref = `${registry.host}/org/app:${tag}`;
        const opened = await openImage(ref);
        const image = await policyImageFrom(opened, parseReference(ref), { reference: ref, store });
        expect((await evaluatePolicy(image, policy)).decision).toBe(decision);
        expect((await image.layerIndexes()).length).toBe(2);
        await opened.source.close?.();
      }
      const again = await local('good', store);
      expect((await again.layerIndexes()).every((l) => l.fromCache)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('evaluates an image built by umoci (independent writer)', async () => {
    const { chmod, mkdir, writeFile } = await import('node:fs/promises');
    const layout = join(dir, 'umoci');
    await buildUmociImage(layout, 'v1', [
      async (rootfs) => {
        await mkdir(join(rootfs, 'usr/bin'), { recursive: true });
        await writeFile(join(rootfs, 'usr/bin/su'), 'su');
        await chmod(join(rootfs, 'usr/bin/su'), 0o4755);
        await mkdir(join(rootfs, 'etc'), { recursive: true });
        await writeFile(join(rootfs, 'etc/passwd'), PASSWD);
      },
    ], { config: { user: 'app' } });
    const opened = await openImage(`oci:${layout}:v1`);
    const image = await policyImageFrom(opened, parseReference('ghcr.io/org/app'));
    const policy = (allow: string) => loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/app]\n    checks: {nonRootUser: true, noSetuid: {allow: [${allow}]}}\n`));
    expect((await evaluatePolicy(image, await policy('usr/bin/su'))).decision).toBe('allow');
    expect((await evaluatePolicy(image, await policy('usr/bin/sudo'))).decision).toBe('deny');
  });
});
