/**
 * `gate: {policy}` without a trustedRoot file takes the Sigstore root through TUF (cached under the data
 * directory), against a real signed TUF repository on loopback that distributes the mock Sigstore's root: a keyless
 * signature by that Sigstore is admitted, a tampered repository stops the proxy from starting, an unreachable one
 * falls back with a notice, and `offline` asks nobody.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, signImage, writeImageToLayout } from '@tollgate/core';
import { loadGate, normalizeProxyConfig, type RefreshingGate } from '../../packages/proxy/src/index.js';
import { TufRepo } from '../../packages/core/test/support/tuf-repo.js';
import { freePort, pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { startProxy } from '../proxy/support/start-proxy.js';

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let repo: TufRepo;
let work: string;
const upstreams = () => [{ name: 'up', url: registry.url, default: true }];

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  work = await mkdtemp(join(tmpdir(), 'tollgate-gate-tuf-'));
  repo = new TufRepo();
  repo.publish({ targetBytes: Buffer.from(sigstore.trustedRootJson), version: 1 });
  await repo.start();
  await writeFile(join(work, 'tuf-root.json'), repo.rootJson);
  await writeFile(
    join(work, 'policy.yaml'),
    `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: ci\n    images: ["**"]\n    authorities:\n      - name: ci\n        keyless: {issuer: ${JSON.stringify(sigstore.issuer)}, subject: alice@example.com}\n`,
  );
  const layout = join(work, 'layout');
  await writeImageToLayout(layout, { tag: 'img', layers: [{ files: [{ path: 'app/main', content: 'keyless' }] }], config: { config: { User: '1000' } } });
  await pushOciLayout(layout, 'img', registry.host, 'team/app:v1');
  const signing = { identityToken: sigstore.mintToken('alice@example.com'), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl };
  await signImage(`${registry.host}/team/app:v1`, signing, { client: new RegistryClient(registry.host, { retries: 0 }) });
}, 120_000);

afterAll(async () => {
  await Promise.all([repo?.stop(), registry?.stop(), sigstore?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** A gate built as `tollgate proxy serve` builds it, with `tuf` settings and a data directory. */
async function gateWith(tuf: Record<string, unknown>, dataDir: string, notices: string[] = []) {
  const config = normalizeProxyConfig({ dataDir, upstreams: upstreams(), gate: { policy: 'policy.yaml', tuf } }, { baseDir: work, env: {} });
  return loadGate(config.gate, config.upstreams, { dataDir: config.dataDir, notice: (line) => notices.push(line) });
}

async function pullStatus(gate: NonNullable<Awaited<ReturnType<typeof gateWith>>>): Promise<number> {
  const proxy = await startProxy({ gate, upstreams: upstreams() });
  try {
    return (await fetchAll(`${proxy.url}/v2/team/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).status;
  } finally {
    await proxy.stop();
  }
}

describe('the proxy gate takes the Sigstore trusted root through TUF', () => {
  it('admits a keyless signature by the Sigstore the TUF repository distributes, then works offline from the cache', async () => {
    const dataDir = await mkdtemp(join(work, 'data-'));
    const notices: string[] = [];
    const gate = (await gateWith({ mirror: repo.url, root: 'tuf-root.json' }, dataDir, notices))!;
    expect(notices).toEqual([]);
    expect(gate.revision).toMatch(/\+root:[0-9a-f]{16}$/);
    expect(await pullStatus(gate)).toBe(200);

    const asked = repo.requests.length;
    const offline = (await gateWith({ mirror: repo.url, root: 'tuf-root.json', offline: true }, dataDir, notices))!;
    expect(repo.requests.length).toBe(asked);
    expect(offline.revision).toBe(gate.revision);
    expect(await pullStatus(offline)).toBe(200);
  });

  it('refuses to start when the TUF repository serves a target its metadata does not sign', async () => {
    const tampered = new TufRepo();
    const root = Buffer.from(sigstore.trustedRootJson);
    tampered.publish({ targetBytes: root, version: 1, tamperTarget: Buffer.from(root.toString().replace('"tlogs"', '"tlogz"')) });
    await tampered.start();
    try {
      await writeFile(join(work, 'tampered-root.json'), tampered.rootJson);
      await expect(gateWith({ mirror: tampered.url, root: 'tampered-root.json' }, await mkdtemp(join(work, 'data-')))).rejects.toMatchObject({ code: 'TUF_VERIFICATION_FAILED' });
    } finally {
      await tampered.stop();
    }
  });

  it('falls back to the embedded root with a notice when the mirror cannot be reached (and that root does not trust the mock Sigstore)', async () => {
    const notices: string[] = [];
    const gate = (await gateWith({ mirror: `http://127.0.0.1:${await freePort()}`  /* bound and released: nothing listens */, root: 'tuf-root.json' }, await mkdtemp(join(work, 'data-')), notices))!;
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/could not be reached.*embedded/);
    expect(await pullStatus(gate)).toBe(403);
  });

  it('fetches the root again while running: a new root is a new revision, an unreachable or tampered mirror keeps the current one', async () => {
    const other = await startSigstoreMock();
    const live = new TufRepo();
    live.publish({ targetBytes: Buffer.from(sigstore.trustedRootJson), version: 1 });
    await live.start();
    try {
      await writeFile(join(work, 'live-root.json'), live.rootJson);
      const notices: string[] = [];
      const gate = (await gateWith({ mirror: live.url, root: 'live-root.json', refreshHours: 0 }, await mkdtemp(join(work, 'data-')), notices)) as RefreshingGate;
      const started = gate.revision;
      expect(await pullStatus(gate)).toBe(200);
      expect(await gate.refresh()).toBe(false);
      expect(gate.revision).toBe(started);

      // Sigstore rotated: the mirror now signs another root, which does not trust the first Sigstore's certificates.
      live.publish({ targetBytes: Buffer.from(other.trustedRootJson), version: 2 });
      expect(await gate.refresh()).toBe(true);
      expect(gate.revision).not.toBe(started);
      expect(notices.at(-1)).toMatch(/trusted root changed through TUF/);
      expect(await pullStatus(gate)).toBe(403);
      const rotated = gate.revision;

      // A tampered mirror, then an unreachable one: the current root stays (never the cache or the embedded root).
      live.publish({ targetBytes: Buffer.from(sigstore.trustedRootJson), version: 3, tamperTarget: Buffer.from(other.trustedRootJson) });
      expect(await gate.refresh()).toBe(false);
      expect(notices.at(-1)).toMatch(/refreshing the Sigstore trusted root failed; keeping the current one/);
      await live.stop();
      expect(await gate.refresh()).toBe(false);
      expect(notices.at(-1)).toMatch(/could not be reached/);
      expect(gate.revision).toBe(rotated);
      gate.close?.();
    } finally {
      await Promise.all([live.stop(), other.stop()]);
    }
  });

  it('rejects gate.tuf settings that are wrong, before anything is fetched', () => {
    const config = (gate: Record<string, unknown>) => () => normalizeProxyConfig({ dataDir: work, upstreams: upstreams(), gate: { policy: 'policy.yaml', ...gate } }, { baseDir: work, env: {} });
    expect(config({ tuf: {}, trustedRoot: 'root.json' })).toThrow(/gate\.tuf.*cannot be combined with gate\.trustedRoot/);
    expect(config({ tuf: { mirror: 'ftp://mirror.example' } })).toThrow(/gate\.tuf\.mirror.*http or https/);
    expect(config({ tuf: { mirror: 'https://user:pw@mirror.example' } })).toThrow(/must not carry credentials/);
    expect(config({ tuf: { mirror: 'not a url' } })).toThrow(/is not a URL/);
    expect(config({ tuf: { mirorr: 'https://mirror.example' } })).toThrow(/gate\.tuf\.mirorr/);
    expect(config({ tuf: { offline: 'yes' } })).toThrow(/gate\.tuf\.offline/);
    expect(config({ tuf: { refreshHours: -1 } })).toThrow(/gate\.tuf\.refreshHours/);
  });
});
