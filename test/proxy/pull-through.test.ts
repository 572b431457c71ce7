/**
 * End to end: skopeo pulls through the tollgate proxy from a real docker-registry (behind a counting reverse
 * proxy that only counts). Admitted images arrive byte-identical; denied ones fail with the reason; blobs are not
 * served across repositories; an unknown ns makes no outbound request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, layoutDigest, MANIFEST_ACCEPT, noise, pushTestImage } from './support/images.js';
import { skopeo, skopeoPull } from './support/skopeo.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let registry: RunningRegistry;
let counting: FaultProxy;
let proxy: RunningProxy;
let work: string;
let appDigest: string;
let evilDigest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-e2e-'));
  registry = await startRegistry();
  await pushTestImage(registry.host, 'team/app:1', { 'etc/app.conf': 'admitted\n', 'usr/share/blob.bin': noise(300_000) });
  await pushTestImage(registry.host, 'team/evil:1', { 'etc/evil.conf': 'not admitted\n' });
  appDigest = await skopeoInspectDigest(`${registry.host}/team/app:1`);
  evilDigest = await skopeoInspectDigest(`${registry.host}/team/evil:1`);
  counting = await startFaultProxy(registry.url);
  proxy = await startProxy({
    gate: allowListGate({ 'lab/team/app': [appDigest] }),
    upstreams: [{ name: 'lab', url: counting.url, prefix: 'lab', ns: 'registry.lab.example', default: true }],
  });
});

afterAll(async () => {
  await proxy?.stop();
  await counting?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('pull through the proxy with skopeo', () => {
  it('serves an admitted image with its digests unchanged (default route)', async () => {
    const dir = join(work, 'app-default');
    const result = await skopeoPull(`${proxy.host}/team/app:1`, dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await layoutDigest(dir)).toBe(appDigest);
    expect(await skopeoInspectDigest(`${proxy.host}/team/app:1`)).toBe(await skopeoInspectDigest(`${registry.host}/team/app:1`));
    // The copy is complete and valid: skopeo reads it back from the layout.
    const again = await skopeo(['inspect', '--format', '{{.Digest}}', `oci:${dir}:pulled`]);
    expect(again.stdout.trim()).toBe(appDigest);
  });

  it('serves the same image through the path prefix, from the cache', async () => {
    const before = counting.count((r) => r.path.includes('/blobs/'));
    const dir = join(work, 'app-prefix');
    const result = await skopeoPull(`${proxy.host}/lab/team/app@${appDigest}`, dir);
    expect(result.code).toBe(0);
    expect(await layoutDigest(dir)).toBe(appDigest);
    expect(counting.count((r) => r.path.includes('/blobs/'))).toBe(before);
  });

  it('refuses a denied image: skopeo fails and shows DENIED with the reason', async () => {
    const dir = join(work, 'evil');
    const result = await skopeoPull(`${proxy.host}/team/evil:1`, dir);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/denied/i);
    expect(result.stderr).toContain('no digests are allowed for lab/team/evil');
    const direct = await fetchAll(`${proxy.url}/v2/team/evil/manifests/${evilDigest}`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(direct.status).toBe(403);
    const body = JSON.parse(direct.body.toString()) as { errors: { code: string; message: string; detail: { rule: string; reasons: string[]; digest: string } }[] };
    expect(body.errors[0]!.code).toBe('DENIED');
    expect(body.errors[0]!.detail.rule).toBe('digest-pin');
    expect(body.errors[0]!.detail.digest).toBe(evilDigest);
    expect(body.errors[0]!.detail.reasons[0]).toContain('no digests are allowed');
  });

  it('does not serve a blob admitted in one repository to another', async () => {
    const manifest = JSON.parse((await fetchAll(`${proxy.url}/v2/team/app/manifests/1`, { headers: { accept: MANIFEST_ACCEPT } })).body.toString()) as {
      layers: { digest: string }[];
    };
    const layer = manifest.layers[0]!.digest;
    expect((await fetchAll(`${proxy.url}/v2/team/app/blobs/${layer}`)).status).toBe(200);
    const before = counting.requests.length;
    for (const repo of ['team/evil', 'team/other']) {
      const response = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${layer}`);
      expect(response.status).toBe(404);
      expect(JSON.parse(response.body.toString()).errors[0].code).toBe('BLOB_UNKNOWN');
      expect((await fetch(`${proxy.url}/v2/${repo}/blobs/${layer}`, { method: 'HEAD' })).status).toBe(404);
    }
    expect(counting.requests.length).toBe(before);
  });

  it('denies an unknown ns without any outbound request, and routes a known one', async () => {
    const before = counting.requests.length;
    const response = await fetchAll(`${proxy.url}/v2/team/app/manifests/1?ns=evil.example.com`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body.toString()).errors[0].code).toBe('DENIED');
    const blob = await fetchAll(`${proxy.url}/v2/team/app/blobs/${appDigest}?ns=evil.example.com`);
    expect(blob.status).toBe(403);
    expect(counting.requests.length).toBe(before);
    const known = await fetchAll(`${proxy.url}/v2/team/app/manifests/${appDigest}?ns=registry.lab.example`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(known.status).toBe(200);
    expect(known.headers.get('oci-namespace')).toBe('registry.lab.example');
    expect(known.headers.get('docker-content-digest')).toBe(appDigest);
  });

  it('answers push with UNSUPPORTED and the API version header everywhere', async () => {
    const post = await fetchAll(`${proxy.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body.toString()).errors[0].code).toBe('UNSUPPORTED');
    const put = await fetchAll(`${proxy.url}/v2/team/app/manifests/2`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: '{}' });
    expect(put.status).toBe(405);
    const del = await fetchAll(`${proxy.url}/v2/team/app/manifests/${appDigest}`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    const ping = await fetchAll(`${proxy.url}/v2/`);
    expect(ping.status).toBe(200);
    expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('exposes health, readiness and Prometheus metrics', async () => {
    expect((await fetchAll(`${proxy.url}/healthz`)).status).toBe(200);
    const ready = await fetchAll(`${proxy.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body.toString()).upstreams.lab).toBe(true);
    const metrics = (await fetchAll(`${proxy.url}/metrics`)).body.toString();
    for (const name of ['tollgate_proxy_requests_total', 'tollgate_proxy_gate_decisions_total', 'tollgate_proxy_cache_bytes', 'tollgate_proxy_upstream_requests_total', 'tollgate_proxy_denied_total']) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/tollgate_proxy_gate_decisions_total\{decision="deny"\} [1-9]/);
  });
});
