/**
 * podman pulling through the tollgate proxy (allow-list gate) from a real docker-registry, with a storage of its
 * own per test (vfs, temp --root/--runroot). The upstream registry sits behind a counting proxy that only counts:
 * that counting address is the "original location" podman's references name, so any request podman sends around
 * the tollgate proxy shows up there, while the tollgate proxy itself talks to the registry directly.
 *
 * - `podman pull --tls-verify=false <proxy>/<repo>:<tag>`: admitted arrives with the upstream's manifest digest;
 *   denied fails with DENIED and the gate's reason in podman's stderr.
 * - registries.conf `[[registry.mirror]]` pointed at the proxy: an admitted image comes from the mirror; a denied
 *   one makes podman fall back to the original location — the pull SUCCEEDS around the gate. A `location` remap
 *   has no fallback: the denied pull fails with DENIED and nothing reaches the original location.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { noise, pushTestImage } from './support/images.js';
import { isolatedPodman, podmanUnavailable, type IsolatedPodman } from './support/podman.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const unavailable = await podmanUnavailable();
if (unavailable !== undefined) console.warn(`[podman.test] SKIPPED: podman cannot run here: ${unavailable}`);

let registry: RunningRegistry;
let original: FaultProxy;
let proxy: RunningProxy;
let appDigest: string;
let evilDigest: string;
const podmen: IsolatedPodman[] = [];

async function podman(): Promise<IsolatedPodman> {
  const p = await isolatedPodman();
  podmen.push(p);
  return p;
}

/** `podman pull`, then the digest podman recorded for the image it stored (undefined if the pull failed). */
async function pull(p: IsolatedPodman, ref: string, options: { registriesConf?: string; flags?: string[] } = {}): Promise<{ code: number; stderr: string; digest?: string }> {
  const result = await p.run(['pull', '--signature-policy', p.policy, ...(options.flags ?? []), ref], options);
  if (result.code !== 0) return { code: result.code, stderr: result.stderr };
  const imageId = result.stdout.trim().split('\n').pop()!;
  const inspect = await p.run(['image', 'inspect', '--format', '{{.Digest}}', imageId]);
  expect(inspect.code, inspect.stderr).toBe(0);
  return { code: 0, stderr: result.stderr, digest: inspect.stdout.trim() };
}

/** Requests the original location (the counting proxy in front of the registry) has seen for a repository. */
const direct = (repo: string) => original.count((r) => r.path.startsWith(`/v2/${repo}/`));

describe.skipIf(unavailable !== undefined)('podman pull through the proxy', () => {
  beforeAll(async () => {
    registry = await startRegistry();
    await Promise.all([
      pushTestImage(registry.host, 'team/app:1', { 'etc/app.conf': 'admitted\n', 'usr/share/blob.bin': noise(300_000) }),
      pushTestImage(registry.host, 'team/evil:1', { 'etc/evil.conf': 'not admitted\n' }),
    ]);
    [appDigest, evilDigest] = await Promise.all([skopeoInspectDigest(`${registry.host}/team/app:1`), skopeoInspectDigest(`${registry.host}/team/evil:1`)]);
    original = await startFaultProxy(registry.url);
    proxy = await startProxy({ gate: allowListGate({ 'up/team/app': [appDigest] }), upstreams: [{ name: 'up', url: registry.url, default: true }] });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(podmen.splice(0).map((p) => p.cleanup()));
  });

  afterAll(async () => {
    await proxy?.stop();
    await original?.stop();
    await registry?.stop();
  });

  it('admits an image: podman stores it under the upstream manifest digest', async () => {
    const result = await pull(await podman(), `${proxy.host}/team/app:1`, { flags: ['--tls-verify=false'] });
    expect(result.code, result.stderr).toBe(0);
    expect(result.digest).toBe(appDigest);
  });

  it('pulls by digest through the proxy too', async () => {
    const result = await pull(await podman(), `${proxy.host}/team/app@${appDigest}`, { flags: ['--tls-verify=false'] });
    expect(result.code, result.stderr).toBe(0);
    expect(result.digest).toBe(appDigest);
  });

  it('denies an image: podman fails and its stderr shows DENIED with the gate\'s reason; nothing is stored', async () => {
    const p = await podman();
    const result = await pull(p, `${proxy.host}/team/evil:1`, { flags: ['--tls-verify=false'] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('denied: denied by tollgate policy (rule digest-pin): no digests are allowed for up/team/evil');
    const images = await p.run(['images', '--noheading', '--format', '{{.Digest}}']);
    expect(images.code, images.stderr).toBe(0);
    expect(images.stdout.trim()).toBe('');
  });

  describe('registries.conf', () => {
    const mirrorConf = () => `unqualified-search-registries = []

[[registry]]
location = "${original.host}"
insecure = true

[[registry.mirror]]
location = "${proxy.host}"
insecure = true
`;
    const remapConf = () => `unqualified-search-registries = []

[[registry]]
prefix = "${original.host}"
location = "${proxy.host}"
insecure = true
`;

    it('[[registry.mirror]]: an admitted image comes from the mirror, nothing from the original location', async () => {
      const p = await podman();
      const before = direct('team/app');
      const result = await pull(p, `${original.host}/team/app:1`, { registriesConf: await p.writeRegistriesConf('mirror.conf', mirrorConf()) });
      expect(result.code, result.stderr).toBe(0);
      expect(result.digest).toBe(appDigest);
      expect(direct('team/app')).toBe(before);
    });

    it('[[registry.mirror]]: a denied image makes podman fall back to the original location, and the pull succeeds around the gate', async () => {
      const p = await podman();
      const deniedBefore = (await proxy.proxy.core.metrics.denied.get()).values.reduce((n, v) => n + v.value, 0);
      const before = direct('team/evil');
      const result = await pull(p, `${original.host}/team/evil:1`, { registriesConf: await p.writeRegistriesConf('mirror.conf', mirrorConf()) });
      // The mirror said DENIED (the proxy counted it) …
      const deniedAfter = (await proxy.proxy.core.metrics.denied.get()).values.reduce((n, v) => n + v.value, 0);
      expect(deniedAfter).toBeGreaterThan(deniedBefore);
      // … and podman went to the original location and got the image anyway: exit 0, and at the default log level
      // not a word about the denial on stderr.
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/denied/i);
      expect(result.digest).toBe(evilDigest);
      expect(direct('team/evil')).toBeGreaterThan(before);
      expect(original.requests.some((r) => r.path === `/v2/team/evil/manifests/1`)).toBe(true);
    });

    it('location remap: a denied image fails with DENIED and nothing reaches the original location', async () => {
      const p = await podman();
      const before = direct('team/evil');
      const result = await pull(p, `${original.host}/team/evil:1`, { registriesConf: await p.writeRegistriesConf('remap.conf', remapConf()) });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/denied/i);
      expect(result.stderr).toContain('no digests are allowed for up/team/evil');
      expect(direct('team/evil')).toBe(before);
    });

    it('`tollgate proxy client-config podman` prints the location remap: a denied image fails, nothing reaches the original location', async () => {
      const printed = await runCli(['proxy', 'client-config', 'podman', '--proxy', proxy.url, '--registry', original.host]);
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toContain(`[[registry]]\nprefix = "${original.host}"\nlocation = "${proxy.host}"\ninsecure = true\n`);
      const p = await podman();
      const conf = await p.writeRegistriesConf('client-config.conf', `unqualified-search-registries = []\n\n${printed.stdout}`);
      const before = direct('team/evil');
      const evil = await pull(p, `${original.host}/team/evil:1`, { registriesConf: conf });
      expect(evil.code).not.toBe(0);
      expect(evil.stderr).toContain('no digests are allowed for up/team/evil');
      expect(direct('team/evil')).toBe(before);
      const app = await pull(p, `${original.host}/team/app:1`, { registriesConf: conf });
      expect(app.code, app.stderr).toBe(0);
      expect(app.digest).toBe(appDigest);
    });

    it('location remap: an admitted image comes from the proxy under its upstream digest', async () => {
      const p = await podman();
      const before = direct('team/app');
      const result = await pull(p, `${original.host}/team/app:1`, { registriesConf: await p.writeRegistriesConf('remap.conf', remapConf()) });
      expect(result.code, result.stderr).toBe(0);
      expect(result.digest).toBe(appDigest);
      expect(direct('team/app')).toBe(before);
    });
  });
});
