/**
 * Tag mutation against a real docker-registry: a re-pushed tag is detected, re-verified and recorded with its old
 * and new digests; with pinTags it is denied until the gate verifies the new digest (a signature — `verified` — or
 * an explicit digest pin). Warn mode serves what enforce would deny and records it as `warn`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate, allowListGate, type Gate, type Verdict } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage } from './support/raw-image.js';
import { skopeo } from './support/skopeo.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let registry: RunningRegistry;
let work: string;
const running: RunningProxy[] = [];
let counter = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-pin-'));
  registry = await startRegistry();
});

afterAll(async () => {
  for (const p of running) await p.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function proxyWith(gate: Gate, extra: Record<string, unknown>, upstreams?: Record<string, unknown>[]): Promise<RunningProxy> {
  const proxy = await startProxy({
    gate,
    upstreams: upstreams ?? [{ name: 'lab', url: registry.url, default: true }],
    cache: { tagTtlSeconds: 0 },
    extra,
  });
  running.push(proxy);
  return proxy;
}

function getManifest(proxy: RunningProxy, name: string, reference: string) {
  return fetchAll(`${proxy.url}/v2/${name}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
}

function errorOf(body: Buffer) {
  return (JSON.parse(body.toString()) as { errors: { code: string; message: string; detail: { rule: string; reasons: string[]; tagMove?: unknown } }[] }).errors[0]!;
}

const freshRepo = () => `team/pin-${++counter}`;

describe('pinTags', () => {
  it('denies a moved tag with "tag moved from A to B" until the new digest is verified; digest pulls are unaffected', async () => {
    const proxy = await proxyWith(allowAllGate, { pinTags: true });
    const repo = freshRepo();
    const first = await pushRawImage(registry.host, repo, 'v1', [1024]);
    expect((await getManifest(proxy, repo, 'v1')).status).toBe(200);
    const second = await pushRawImage(registry.host, repo, 'v1', [2048]);
    const moved = await getManifest(proxy, repo, 'v1');
    expect(moved.status).toBe(403);
    const error = errorOf(moved.body);
    expect(error.code).toBe('DENIED');
    expect(error.detail.rule).toBe('pin-tags');
    expect(error.detail.reasons[0]).toBe(`tag moved from ${first.digest} to ${second.digest}`);
    expect(error.detail.tagMove).toEqual({ tag: 'v1', from: first.digest, to: second.digest });
    // Still denied on the next pull (the tag stays pinned at the digest it was accepted at) …
    expect((await getManifest(proxy, repo, 'v1')).status).toBe(403);
    // … and skopeo shows why.
    const pulled = await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${proxy.host}/${repo}:v1`, `oci:${join(work, repo.replace('/', '-'))}:x`]);
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toContain('tag moved from');
    // The digest itself is the gate's business, not the tag pin's.
    expect((await getManifest(proxy, repo, second.digest)).status).toBe(200);
    const events = await proxy.proxy.core.meta.listAudit(50);
    const mutation = events.find((e) => e.type === 'tag-mutation' && e.repository === repo);
    expect(mutation).toMatchObject({ tag: 'v1', oldDigest: first.digest, newDigest: second.digest });
    const denied = events.find((e) => e.type === 'verdict' && e.repository === repo && e.verdict === 'deny');
    expect(denied).toMatchObject({ rule: 'pin-tags', digest: second.digest, tagMove: { tag: 'v1', from: first.digest, to: second.digest } });
    // Moving the tag back to the accepted digest serves it again.
    const back = await pushRawImage(registry.host, repo, 'v1', [1024]);
    expect(back.digest).not.toBe(first.digest); // a new random layer: still a move away from the accepted digest
    expect((await getManifest(proxy, repo, 'v1')).status).toBe(403);
  });

  it('admits a moved tag when the new digest is explicitly pinned (allow-list gate), recording the move', async () => {
    const repo = freshRepo();
    const first = await pushRawImage(registry.host, repo, 'v1', [1024]);
    const second = await pushRawImage(registry.host, repo, 'v1', [2048]);
    const unpinned = await pushRawImage(registry.host, repo, 'v1', [1024]);
    // The proxy last accepted v1 at the first digest (as if it had served it before the pushes).
    const gate = allowListGate({ [`lab/${repo}`]: [first.digest, second.digest] });
    const proxy = await proxyWith(gate, { pinTags: true });
    await proxy.proxy.core.meta.putTag('lab', repo, 'v1', { digest: first.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', resolvedAt: 0 });
    // v1 now points at a third, unpinned digest: denied by the gate (digest-pin), not admitted by the tag pin.
    const third = await getManifest(proxy, repo, 'v1');
    expect(third.status).toBe(403);
    expect(third.headers.get('docker-content-digest')).toBeNull();
    expect(errorOf(third.body).detail.rule).toBe('pin-tags');
    expect(errorOf(third.body).detail.reasons[0]).toBe(`tag moved from ${first.digest} to ${unpinned.digest}`);
    // Re-point v1 at the pinned second digest: a verified move is admitted, and accepted from then on.
    await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: new Uint8Array(second.manifest) });
    const ok = await getManifest(proxy, repo, 'v1');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-content-digest')).toBe(second.digest);
    expect((await proxy.proxy.core.meta.getTag('lab', repo, 'v1'))?.accepted).toBeUndefined();
    const events = await proxy.proxy.core.meta.listAudit(20);
    expect(events.find((e) => e.type === 'verdict' && e.verdict === 'allow' && e.repository === repo)).toMatchObject({ tagMove: { tag: 'v1', from: first.digest, to: second.digest } });
  });

  it('counts only an allow that says verified: a policy allow without a signature does not release a moved tag', async () => {
    const repo = freshRepo();
    const first = await pushRawImage(registry.host, repo, 'v1', [1024]);
    let signed = new Set<string>();
    const policyGate: Gate = {
      revision: 'test-policy',
      evaluate: (request) =>
        Promise.resolve<Verdict>(
          signed.has(request.digest)
            ? { decision: 'allow', rule: 'signed-by-ci', reasons: ['signature verified'], policyRevision: 'test-policy', verified: true }
            : { decision: 'allow', rule: 'default', reasons: ['no rule requires a signature'], policyRevision: 'test-policy' },
        ),
    };
    const proxy = await proxyWith(policyGate, { pinTags: true });
    expect((await getManifest(proxy, repo, 'v1')).status).toBe(200);
    const second = await pushRawImage(registry.host, repo, 'v1', [2048]);
    expect((await getManifest(proxy, repo, 'v1')).status).toBe(403);
    // "Signing" the new digest: a fresh proxy (verdicts are cached per revision) over the same data directory.
    await proxy.close();
    signed = new Set([second.digest]);
    const again = await startProxy({ gate: { ...policyGate, revision: 'test-policy-2' }, upstreams: [{ name: 'lab', url: registry.url, default: true }], cache: { tagTtlSeconds: 0 }, dataDir: proxy.dataDir, extra: { pinTags: true } });
    running.push(again);
    const released = await getManifest(again, repo, 'v1');
    expect(released.status).toBe(200);
    expect(released.headers.get('docker-content-digest')).toBe(second.digest);
    expect(first.digest).not.toBe(second.digest);
  });

  it('is per upstream: an upstream with pinTags: false serves the moved tag (and still records the move)', async () => {
    const repo = freshRepo();
    const proxy = await proxyWith(allowAllGate, { pinTags: true }, [
      { name: 'pinned', url: registry.url, prefix: 'p' },
      { name: 'loose', url: registry.url, prefix: 'l', pinTags: false },
    ]);
    await pushRawImage(registry.host, repo, 'v1', [1024]);
    expect((await getManifest(proxy, `p/${repo}`, 'v1')).status).toBe(200);
    expect((await getManifest(proxy, `l/${repo}`, 'v1')).status).toBe(200);
    const second = await pushRawImage(registry.host, repo, 'v1', [2048]);
    expect((await getManifest(proxy, `p/${repo}`, 'v1')).status).toBe(403);
    const loose = await getManifest(proxy, `l/${repo}`, 'v1');
    expect(loose.status).toBe(200);
    expect(loose.headers.get('docker-content-digest')).toBe(second.digest);
    const events = await proxy.proxy.core.meta.listAudit(20);
    expect(events.some((e) => e.type === 'tag-mutation' && e.upstream === 'loose' && e.newDigest === second.digest)).toBe(true);
  });
});

describe('mode: warn', () => {
  it('serves what enforce would deny, with a warning header, a warn audit event and a metric; blobs are servable', async () => {
    const repo = freshRepo();
    const image = await pushRawImage(registry.host, repo, 'v1', [4096]);
    const proxy = await proxyWith(allowListGate({}), { mode: 'warn' });
    const response = await getManifest(proxy, repo, 'v1');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-warning')).toContain('would be denied');
    const blob = await fetchAll(`${proxy.url}/v2/${repo}/blobs/${image.layers[0]!.digest}`);
    expect(blob.status).toBe(200);
    expect(blob.body.equals(image.layers[0]!.bytes)).toBe(true);
    const pulled = await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${proxy.host}/${repo}:v1`, `oci:${join(work, `warn-${counter}`)}:x`]);
    expect(pulled.code).toBe(0);
    const events = await proxy.proxy.core.meta.listAudit(20);
    expect(events.find((e) => e.type === 'verdict' && e.repository === repo)).toMatchObject({ verdict: 'warn', mode: 'warn', rule: 'digest-pin', digest: image.digest });
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_proxy_warn_mode_served_total\{upstream="lab"\} [1-9]/);
  });

  it('switching back to enforce denies again, blobs included (warn admissions do not carry over)', async () => {
    const repo = freshRepo();
    const image = await pushRawImage(registry.host, repo, 'v1', [1024]);
    const warn = await proxyWith(allowListGate({}), { mode: 'warn' });
    expect((await getManifest(warn, repo, 'v1')).status).toBe(200);
    await warn.close();
    const enforce = await startProxy({ gate: allowListGate({}), upstreams: [{ name: 'lab', url: registry.url, default: true }], dataDir: warn.dataDir });
    running.push(enforce);
    expect((await getManifest(enforce, repo, 'v1')).status).toBe(403);
    expect((await fetchAll(`${enforce.url}/v2/${repo}/blobs/${image.layers[0]!.digest}`)).status).toBe(404);
  });

  it('is per upstream: an upstream in enforce under a global warn still denies; warn also covers moved tags', async () => {
    const repo = freshRepo();
    await pushRawImage(registry.host, repo, 'v1', [1024]);
    const proxy = await proxyWith(allowAllGate, { mode: 'warn', pinTags: true }, [
      { name: 'soft', url: registry.url, prefix: 's' },
      { name: 'strict', url: registry.url, prefix: 'x', mode: 'enforce' },
    ]);
    expect((await getManifest(proxy, `s/${repo}`, 'v1')).status).toBe(200);
    expect((await getManifest(proxy, `x/${repo}`, 'v1')).status).toBe(200);
    await pushRawImage(registry.host, repo, 'v1', [2048]);
    const soft = await getManifest(proxy, `s/${repo}`, 'v1');
    expect(soft.status).toBe(200);
    expect(soft.headers.get('x-tollgate-warning')).toContain('would be denied: tag moved from');
    expect((await getManifest(proxy, `x/${repo}`, 'v1')).status).toBe(403);
    // Warn never advances a pinned tag: it keeps warning.
    expect((await proxy.proxy.core.meta.getTag('soft', repo, 'v1'))?.accepted).toBeDefined();
  });
});
