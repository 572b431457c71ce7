/**
 * containerd 1.6 (Debian's) pulling through the tollgate proxy (allow-list gate) from a real docker-registry, a
 * private daemon per test (test/support/containerd.ts) and `ctr --hosts-dir`. The registry sits behind a counting
 * proxy that only counts: that counting address is the registry the image names use, so any request containerd
 * sends around the tollgate proxy shows up there, while the tollgate proxy itself talks to the registry directly.
 * The proxy routes on containerd's ?ns=<registry> (its upstream has `ns:` = the counting address).
 *
 * - The forcing hosts.toml, exactly as `tollgate proxy client-config containerd` prints it (`server` = the proxy and
 *   a `[host]` table for it): a denied image fails with `403 Forbidden` and nothing reaches the registry; an admitted
 *   one arrives with the upstream's digest, again with nothing at the registry.
 * - The mirror form (`server` = the registry, `[host]` = the proxy): containerd takes the proxy's 403 as "try the
 *   next host" and pulls the denied image from the registry, exit 0 — the documented fall-back, pinned here.
 * - `server` = the proxy without a `[host]` table: containerd 1.6 rejects the file ("invalid host tree",
 *   containerd#10027) and ignores it, so the denied image comes straight from the registry.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { containerdUnavailable, startContainerd, type PrivateContainerd } from '../support/containerd.js';
import { skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { noise, pushTestImage } from './support/images.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const unavailable = await containerdUnavailable();

let registry: RunningRegistry;
let original: FaultProxy;
let proxy: RunningProxy;
let work: string;
let appDigest: string;
let evilDigest: string;
const daemons: PrivateContainerd[] = [];

async function containerd(): Promise<PrivateContainerd> {
  const daemon = await startContainerd();
  daemons.push(daemon);
  return daemon;
}

/** A hosts directory holding `hosts.toml` for the original registry's host. */
async function hostsDir(name: string, toml: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, original.host), { recursive: true });
  await writeFile(join(dir, original.host, 'hosts.toml'), toml);
  return dir;
}

/** The forcing hosts.toml, as the CLI prints it for this proxy and registry. */
async function forcingToml(): Promise<string> {
  const result = await runCli(['proxy', 'client-config', 'containerd', '--proxy', proxy.url, '--registry', original.host]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

const denied = async () => (await proxy.proxy.core.metrics.denied.get()).values.reduce((n, v) => n + v.value, 0);

describe('containerd pull through the proxy', skipWhen(unavailable), () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-containerd-hosts-'));
    registry = await startRegistry();
    await Promise.all([
      pushTestImage(registry.host, 'team/app:1', { 'etc/app.conf': 'admitted\n', 'usr/share/blob.bin': noise(200_000) }),
      pushTestImage(registry.host, 'team/evil:1', { 'etc/evil.conf': 'not admitted\n' }),
    ]);
    [appDigest, evilDigest] = await Promise.all([skopeoInspectDigest(`${registry.host}/team/app:1`), skopeoInspectDigest(`${registry.host}/team/evil:1`)]);
    original = await startFaultProxy(registry.url);
    proxy = await startProxy({ gate: allowListGate({ 'up/team/app': [appDigest] }), upstreams: [{ name: 'up', url: registry.url, ns: original.host, prefix: 'up' }] });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });

  afterAll(async () => {
    await proxy?.stop();
    await original?.stop();
    await registry?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('client-config containerd prints server = the proxy AND a [host] table for it', async () => {
    const toml = await forcingToml();
    expect(toml).toContain(`server = "${proxy.url}"\n\n[host."${proxy.url}"]\n  capabilities = ["pull", "resolve"]\n`);
    expect(toml).toContain(`/etc/containerd/certs.d/${original.host}/hosts.toml`);
  });

  it('forcing hosts.toml: a denied image fails with 403 Forbidden and no request reaches the registry', async () => {
    const ctr = await containerd();
    const before = { registry: original.requests.length, denied: await denied() };
    const result = await ctr.pull(`${original.host}/team/evil:1`, await hostsDir('forcing', await forcingToml()));
    expect(result.code).not.toBe(0);
    // containerd shows the status only: the reason is in the proxy's audit trail.
    expect(result.stderr).toContain(`ctr: failed to resolve reference "${original.host}/team/evil:1": pulling from host ${proxy.host} failed with status code [manifests 1]: 403 Forbidden`);
    expect(result.stderr).not.toMatch(/digest-pin|no digests are allowed/);
    expect(await denied()).toBeGreaterThan(before.denied);
    expect(original.requests.slice(before.registry)).toEqual([]);
    const images = await ctr.ctr(['images', 'ls', '-q']);
    expect(images.stdout.trim()).toBe('');
  });

  it('forcing hosts.toml: an admitted image arrives from the proxy under the upstream digest, nothing from the registry', async () => {
    const ctr = await containerd();
    const before = original.requests.length;
    const result = await ctr.pull(`${original.host}/team/app:1`, await hostsDir('forcing', await forcingToml()));
    expect(result.code, result.stderr).toBe(0);
    expect(result.digest).toBe(appDigest);
    expect(original.requests.slice(before)).toEqual([]);
  });

  it('mirror form (server = registry, [host] = proxy): the proxy refuses, containerd pulls the denied image from the registry and exits 0', async () => {
    const ctr = await containerd();
    const mirror = `server = "${original.url}"\n\n[host."${proxy.url}"]\n  capabilities = ["pull", "resolve"]\n`;
    const before = { registry: original.count((r) => r.path.startsWith('/v2/team/evil/')), denied: await denied() };
    const result = await ctr.pull(`${original.host}/team/evil:1`, await hostsDir('mirror', mirror));
    expect(await denied()).toBeGreaterThan(before.denied);
    expect(result.code, result.stderr).toBe(0);
    expect(result.digest).toBe(evilDigest);
    expect(original.count((r) => r.path.startsWith('/v2/team/evil/'))).toBeGreaterThan(before.registry);
  });

  it('server = proxy without a [host] table: containerd 1.6 ignores the file and pulls the denied image from the registry', async () => {
    const ctr = await containerd();
    const before = { registry: original.count((r) => r.path.startsWith('/v2/team/evil/')), denied: await denied() };
    const result = await ctr.pull(`${original.host}/team/evil:1`, await hostsDir('server-only', `server = "${proxy.url}"\n`));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('failed to decode hosts.toml" error="invalid `host` tree"');
    expect(result.digest).toBe(evilDigest);
    expect(await denied()).toBe(before.denied);
    expect(original.count((r) => r.path.startsWith('/v2/team/evil/'))).toBeGreaterThan(before.registry);
  });
});
