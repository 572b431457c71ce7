/**
 * The admission webhook against a real docker-registry and an in-process proxy, AdmissionReview JSON over HTTPS:
 * images are resolved, evaluated by the proxy's gate (one admitted, one denied per repository) and pinned to the
 * proxy by digest; the validating webhook refuses anything else; hostile bodies are refused; a held upstream runs
 * out the time budget, a dead one refuses what no cached verdict covers; every decision is audited.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '@tollgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate, startWebhook, type AuditRecord, type WebhookServer } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from '../proxy/support/fault-proxy.js';
import { pushRawImage, type PushedImage } from '../proxy/support/raw-image.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { makeCert, type TestCert } from './support/certs.js';
import { admit, applyPatch, pod, POD, review, send } from './support/review.js';

let work: string;
let registry: RunningRegistry;
let fault: FaultProxy;
let proxy: RunningProxy;
let webhook: WebhookServer;
let cert: TestCert;
let app: PushedImage;
let bad: PushedImage;
let nginx: PushedImage;
let flaky: PushedImage;
let slow: PushedImage;
const many: PushedImage[] = [];

/** The proxy's name for an image: what the mutating webhook writes. */
const onProxy = (path: string, digest: string) => `${proxy.host}/${path}@${digest}`;
const mutate = (r: ReturnType<typeof review>, query = '') => admit(`${webhook.url}/mutate${query}`, cert.pem, r);
const validate = (r: ReturnType<typeof review>) => admit(`${webhook.url}/validate`, cert.pem, r);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-webhook-'));
  registry = await startRegistry();
  fault = await startFaultProxy(registry.url);
  app = await pushRawImage(registry.host, 'team/app', '1');
  bad = await pushRawImage(registry.host, 'team/bad', '1');
  nginx = await pushRawImage(registry.host, 'library/nginx', '1.25');
  flaky = await pushRawImage(registry.host, 'team/flaky', '1');
  slow = await pushRawImage(registry.host, 'team/slow', '1');
  await pushRawImage(registry.host, 'team/never', '1');
  for (let batch = 0; batch < 100; batch += 10) {
    many.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => pushRawImage(registry.host, 'many/app', `t${batch + i}`, [512])))));
  }
  proxy = await startProxy({
    gate: allowListGate({
      'lab/team/app': [app.digest],
      'hub/library/nginx': [nginx.digest],
      'faulty/team/flaky': [flaky.digest],
      'faulty/team/slow': [slow.digest],
      'faulty/team/never': [],
      'lab/many/app': many.map((m) => m.digest),
    }),
    upstreams: [
      // Images named 127.0.0.1:<registry port>/… (the registry's own host).
      { name: 'lab', url: registry.url, prefix: 'lab' },
      // The same registry standing in for Docker Hub: `nginx` normalises to docker.io/library/nginx.
      { name: 'hub', url: registry.url, prefix: 'hub', registry: 'docker.io' },
      { name: 'warned', url: registry.url, prefix: 'warned', registry: 'warned.example:5000', mode: 'warn' },
      { name: 'faulty', url: fault.url, prefix: 'faulty', registry: 'faulty.example:5000' },
    ],
    // Every tag is asked of the upstream again, so an outage meets the cached-resolution path.
    cache: { tagTtlSeconds: 0 },
  });
  cert = await makeCert(work, 'webhook');
  webhook = await startWebhook(proxy.proxy.core, { proxyHost: proxy.host, listen: { host: '127.0.0.1', port: 0 }, tls: { cert: cert.cert, key: cert.key } });
});

afterAll(async () => {
  fault?.release();
  await webhook?.close();
  await proxy?.stop();
  await fault?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function admissionEvent(uid: string): Promise<AuditRecord> {
  const events = await proxy.proxy.core.meta.listAudit(500);
  const event = events.find((e) => e.type === 'admission' && e.uid === uid);
  if (event === undefined) throw new Error(`no admission event for ${uid}`);
  return event;
}

describe('mutating', () => {
  it('pins a Pod image to the proxy by digest; the validating webhook admits the result and the node pulls it', async () => {
    const object = pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:1` }] });
    const answer = await mutate(review({ kind: POD, object }));
    expect(answer.allowed).toBe(true);
    expect(answer.patchType).toBe('JSONPatch');
    expect(answer.ops).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: onProxy('lab/team/app', app.digest) }]);
    const checked = await validate(review({ kind: POD, object: applyPatch(object, answer.ops) }));
    expect(checked.allowed).toBe(true);
    expect(checked.patch).toBeUndefined();
    const pulled = await fetch(`${proxy.url}/v2/lab/team/app/manifests/${app.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(app.manifest)).toBe(true);
  });

  const TEMPLATE = ['spec', 'template', 'spec'];
  it.each([
    ['apps', 'Deployment', TEMPLATE],
    ['apps', 'ReplicaSet', TEMPLATE],
    ['apps', 'StatefulSet', TEMPLATE],
    ['apps', 'DaemonSet', TEMPLATE],
    ['batch', 'Job', TEMPLATE],
    ['', 'ReplicationController', TEMPLATE],
    ['batch', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  ])('%s/%s: the pod template is pinned', async (group, kind, path) => {
    let object: Record<string, unknown> = { containers: [{ name: 'app', image: `${registry.host}/team/app:1` }], initContainers: [{ name: 'init', image: 'nginx:1.25' }] };
    for (const key of [...path].reverse()) object = { [key]: object };
    object = { apiVersion: group === '' ? 'v1' : `${group}/v1`, kind, metadata: { name: 'web' }, ...object };
    const answer = await mutate(review({ kind: { group, version: 'v1', kind }, object }));
    expect(answer.allowed).toBe(true);
    const base = `/${path.join('/')}`;
    expect(answer.ops).toEqual([
      { op: 'replace', path: `${base}/containers/0/image`, value: onProxy('lab/team/app', app.digest) },
      { op: 'replace', path: `${base}/initContainers/0/image`, value: onProxy('hub/library/nginx', nginx.digest) },
    ]);
    expect((await validate(review({ kind: { group, version: 'v1', kind }, object: applyPatch(object, answer.ops) }))).allowed).toBe(true);
    // The same kind with a denied image is refused.
    const denied = structuredClone(object);
    let spec: Record<string, unknown> = denied;
    for (const key of path) spec = spec[key] as Record<string, unknown>;
    (spec.containers as { image: string }[])[0]!.image = `${registry.host}/team/bad:1`;
    const refused = await mutate(review({ kind: { group, version: 'v1', kind }, object: denied }));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('team/bad');
  });

  it('pins containers, initContainers and ephemeralContainers alike', async () => {
    const object = pod({
      containers: [{ name: 'app', image: `${registry.host}/team/app:1` }],
      initContainers: [{ name: 'init', image: 'nginx:1.25' }],
      ephemeralContainers: [{ name: 'debug', image: 'docker.io/library/nginx:1.25' }],
    });
    const answer = await mutate(review({ kind: POD, object }));
    expect(answer.allowed).toBe(true);
    expect(answer.ops.map((op) => [op.path, op.value])).toEqual([
      ['/spec/containers/0/image', onProxy('lab/team/app', app.digest)],
      ['/spec/initContainers/0/image', onProxy('hub/library/nginx', nginx.digest)],
      ['/spec/ephemeralContainers/0/image', onProxy('hub/library/nginx', nginx.digest)],
    ]);
  });

  it('normalises Docker Hub names as Docker does: nginx, library/nginx, docker.io/…, index.docker.io/…', async () => {
    const names = ['nginx:1.25', 'library/nginx:1.25', 'docker.io/library/nginx:1.25', 'index.docker.io/library/nginx:1.25', 'docker.io/nginx:1.25'];
    const answer = await mutate(review({ kind: POD, object: pod({ containers: names.map((image, i) => ({ name: `c${i}`, image })) }) }));
    expect(answer.allowed).toBe(true);
    expect(answer.ops.map((op) => op.value)).toEqual(names.map(() => onProxy('hub/library/nginx', nginx.digest)));
  });

  it('keeps the digest of an image already pinned (to another registry, with a tag too, or to the proxy) and still evaluates it', async () => {
    const object = pod({
      containers: [
        { name: 'a', image: `${registry.host}/team/app@${app.digest}` },
        { name: 'b', image: `nginx:1.0@${nginx.digest}` },
        { name: 'c', image: onProxy('lab/team/app', app.digest) },
      ],
    });
    const answer = await mutate(review({ kind: POD, object }));
    expect(answer.allowed).toBe(true);
    // The proxy-pinned image needs no change: a reinvocation of the webhook leaves its own output alone.
    expect(answer.ops).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: onProxy('lab/team/app', app.digest) },
      { op: 'replace', path: '/spec/containers/1/image', value: onProxy('hub/library/nginx', nginx.digest) },
    ]);
    const pinnedDenied = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: `${registry.host}/team/bad@${bad.digest}` }] }) }));
    expect(pinnedDenied.allowed).toBe(false);
    expect(pinnedDenied.status?.message).toContain('rule digest-pin');
  });

  it('refuses an otherwise admitted pod whose init container the gate denies, naming it, the rule and the reasons', async () => {
    const r = review({
      kind: POD,
      object: pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:1` }], initContainers: [{ name: 'setup', image: `${registry.host}/team/bad:1` }] }),
    });
    const answer = await mutate(r);
    expect(answer.allowed).toBe(false);
    expect(answer.patch).toBeUndefined();
    expect(answer.status?.code).toBe(403);
    expect(answer.status?.message).toContain(`initContainers "setup"`);
    expect(answer.status?.message).toContain('rule digest-pin');
    expect(answer.status?.message).toContain('no digests are allowed for lab/team/bad');
    expect(answer.status?.message).not.toContain('containers "app"');
    const event = await admissionEvent(r.uid);
    expect(event).toMatchObject({ type: 'admission', webhook: 'mutate', namespace: 'team-a', kind: 'Pod', name: 'web', user: 'alice@example.com', operation: 'CREATE', verdict: 'deny' });
    expect(event.images).toEqual([`${registry.host}/team/app:1`, `${registry.host}/team/bad:1`]);
    expect((event.reasons ?? []).join(' ')).toContain('no digests are allowed for lab/team/bad');
  });

  it('a tag moved between admission and the node\'s pull: the digest pin holds', async () => {
    await new RegistryClient(registry.host).putManifest('team/app', 'moving', app.manifest, 'application/vnd.oci.image.manifest.v1+json');
    const object = pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:moving` }] });
    const answer = await mutate(review({ kind: POD, object }));
    expect(answer.ops.map((op) => op.value)).toEqual([onProxy('lab/team/app', app.digest)]);
    const moved = await pushRawImage(registry.host, 'team/app', 'moving');
    expect(moved.digest).not.toBe(app.digest);
    // The node pulls what was admitted, not what the tag names now.
    const pulled = await fetch(`${proxy.url}/v2/lab/team/app/manifests/${app.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(app.manifest)).toBe(true);
    // A new admission of the tag sees the move: the new digest is not admitted.
    const again = await mutate(review({ kind: POD, object }));
    expect(again.allowed).toBe(false);
    expect(again.status?.message).toContain(`${moved.digest} is not among the 1 digest(s) pinned for lab/team/app`);
  });

  it('refuses an image from a registry the proxy does not front, saying which', async () => {
    const answer = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: 'quay.io/acme/tool:1' }] }) }));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toMatch(/registry quay\.io is not fronted by the tollgate proxy/);
  });

  it('admits a denied image in warn mode, with warnings, still pinned', async () => {
    const object = pod({ containers: [{ name: 'a', image: 'warned.example:5000/team/bad:1' }] });
    const answer = await mutate(review({ kind: POD, object }));
    expect(answer.allowed).toBe(true);
    expect(answer.ops.map((op) => op.value)).toEqual([onProxy('warned/team/bad', bad.digest)]);
    expect(answer.warnings?.join('\n')).toMatch(/warn mode.*would be denied: no digests are allowed for warned\/team\/bad/);
    const checked = await validate(review({ kind: POD, object: applyPatch(object, answer.ops) }));
    expect(checked.allowed).toBe(true);
    expect(checked.warnings?.length).toBe(1);
  });

  it('decides a pod of 100 containers (100 distinct images) within the default 5 s budget', async () => {
    const containers = many.map((m, i) => ({ name: `c${i}`, image: `${registry.host}/many/app:t${i}` }));
    const started = Date.now();
    const answer = await mutate(review({ kind: POD, object: pod({ containers }) }));
    const elapsed = Date.now() - started;
    expect(answer.allowed).toBe(true);
    expect(answer.ops).toHaveLength(100);
    expect(answer.ops.map((op) => op.value)).toEqual(many.map((m) => onProxy('lab/many/app', m.digest)));
    expect(elapsed).toBeLessThan(5000);
  });
});

describe('validating', () => {
  it('refuses an image not pulled through the proxy, and a proxy image by tag', async () => {
    const direct = await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: `${registry.host}/team/app@${app.digest}` }] }) }));
    expect(direct.allowed).toBe(false);
    expect(direct.status?.message).toContain(`not pulled through the tollgate proxy; name it as ${proxy.host}/lab/team/app@sha256:`);
    const byTag = await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: `${proxy.host}/lab/team/app:1` }] }) }));
    expect(byTag.allowed).toBe(false);
    expect(byTag.status?.message).toMatch(/names the proxy by tag; pin it by digest/);
    const short = await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: 'nginx' }] }) }));
    expect(short.allowed).toBe(false);
  });

  it('refuses a proxy image by digest that the gate denies', async () => {
    const answer = await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: onProxy('lab/team/bad', bad.digest) }] }) }));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain('rule digest-pin');
  });

  it('catches the pods/ephemeralcontainers subresource (both webhooks) and pins an admitted debug container', async () => {
    const running = pod({ containers: [{ name: 'app', image: onProxy('lab/team/app', app.digest) }] }) as { spec: Record<string, unknown> };
    const withDenied = { ...running, spec: { ...running.spec, ephemeralContainers: [{ name: 'debug', image: `${registry.host}/team/bad:1` }] } };
    const subresource = { kind: POD, operation: 'UPDATE' as const, subResource: 'ephemeralcontainers', oldObject: running };
    expect((await mutate(review({ ...subresource, object: withDenied }))).allowed).toBe(false);
    expect((await validate(review({ ...subresource, object: withDenied }))).allowed).toBe(false);
    const withDebug = { ...running, spec: { ...running.spec, ephemeralContainers: [{ name: 'debug', image: 'nginx:1.25' }] } };
    const answer = await mutate(review({ ...subresource, object: withDebug }));
    expect(answer.allowed).toBe(true);
    expect(answer.ops).toEqual([{ op: 'replace', path: '/spec/ephemeralContainers/0/image', value: onProxy('hub/library/nginx', nginx.digest) }]);
    expect((await validate(review({ ...subresource, object: applyPatch(withDebug, answer.ops) }))).allowed).toBe(true);
  });

  it('admits /scale, status updates and DELETE without looking', async () => {
    const deniedPod = pod({ containers: [{ name: 'a', image: `${registry.host}/team/bad:1` }] });
    const scale = { kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, operation: 'UPDATE' as const, subResource: 'scale', object: { kind: 'Scale', spec: { replicas: 3 } } };
    const status = { kind: POD, operation: 'UPDATE' as const, subResource: 'status', object: deniedPod };
    const del = { kind: POD, operation: 'DELETE' as const, oldObject: deniedPod };
    for (const r of [scale, status, del]) {
      for (const hook of [mutate, validate]) {
        const answer = await hook(review(r));
        expect(answer.allowed).toBe(true);
        expect(answer.patch).toBeUndefined();
      }
    }
    const r = review(del);
    await validate(r);
    expect(await admissionEvent(r.uid)).toMatchObject({ operation: 'DELETE', verdict: 'allow', reasons: ['DELETE admits no image'] });
  });

  it('evaluates an object with a deletionTimestamp like any other', async () => {
    const terminating = { deletionTimestamp: '2025-01-31T12:00:00Z', finalizers: [] };
    const denied = await validate(review({ kind: POD, operation: 'UPDATE', object: pod({ containers: [{ name: 'a', image: onProxy('lab/team/bad', bad.digest) }] }, terminating) }));
    expect(denied.allowed).toBe(false);
    const admitted = await validate(review({ kind: POD, operation: 'UPDATE', object: pod({ containers: [{ name: 'a', image: onProxy('lab/team/app', app.digest) }] }, terminating) }));
    expect(admitted.allowed).toBe(true);
  });
});

describe('hostile or malformed reviews', () => {
  it('an oversized body is refused with 413, not read', async () => {
    const huge = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', padding: 'a'.repeat(7 * 1024 * 1024) } });
    const result = await send(`${webhook.url}/mutate`, cert.pem, huge);
    expect(result.status).toBe(413);
    expect(result.text).toMatch(/over 6 MiB/);
    // Without a Content-Length the body is counted as it comes, and dropped past the limit.
    const streamed = await send(`${webhook.url}/validate`, cert.pem, huge, 'POST', true);
    expect(streamed.status).toBe(413);
    expect(streamed.text).toMatch(/over 6 MiB/);
    const after = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: `${registry.host}/team/app:1` }] }) }));
    expect(after.allowed).toBe(true);
  });

  it.each([
    ['not JSON', '{"apiVersion": "admission.k8s.io/v1", ', /not JSON/],
    ['empty', '', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['the wrong kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', spec: {} }), /apiVersion "v1" is not admission\.k8s\.io\/v1/],
    ['v1beta1', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'u' } }), /admissionReviewVersions/],
    ['a wrong kind of review', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionResponse', request: { uid: 'u' } }), /kind "AdmissionResponse" is not AdmissionReview/],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /no request object/],
    ['no uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: POD, operation: 'CREATE', object: {} } }), /request\.uid is missing/],
    ['a uid that is not one', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'a b', kind: POD } }), /request\.uid/],
  ])('%s → 400 with a message', async (_what, body, message) => {
    for (const path of ['/mutate', '/validate']) {
      const result = await send(`${webhook.url}${path}`, cert.pem, body);
      expect(result.status).toBe(400);
      expect(result.text).toMatch(message);
    }
  });

  it.each([
    ['a kind the webhook does not read', { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: { data: {} } }, /ConfigMap is not one of them/],
    ['no object', { kind: POD }, /carries no object/],
    ['a container without an image', { kind: POD, object: pod({ containers: [{ name: 'a' } as { name: string; image: string }] }) }, /containers\[0\] \("a"\) has no image/],
    ['containers that are not a list', { kind: POD, object: { spec: { containers: { name: 'a', image: 'nginx' } } } }, /containers is not a list/],
    ['an image that is not a reference', { kind: POD, object: pod({ containers: [{ name: 'a', image: 'NGINX:::' }] }) }, /invalid image reference/],
  ])('%s → allowed: false with the reason', async (_what, options, message) => {
    for (const hook of [mutate, validate]) {
      const answer = await hook(review(options));
      expect(answer.allowed).toBe(false);
      expect(answer.status?.message).toMatch(message);
    }
  });

  it('an unknown operation → allowed: false; GET /mutate → 405; the probes answer', async () => {
    const r = review({ kind: POD, object: pod({ containers: [] }) });
    (r.body as { request: { operation: string } }).request.operation = 'PATCH';
    const answer = await mutate(r);
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toMatch(/operation "PATCH"/);
    expect(await admissionEvent(r.uid)).toMatchObject({ webhook: 'mutate', verdict: 'deny', images: [], reasons: [expect.stringMatching(/operation "PATCH"/)] });
    expect((await send(`${webhook.url}/mutate`, cert.pem, undefined, 'GET')).status).toBe(405);
    expect((await send(`${webhook.url}/healthz`, cert.pem, undefined, 'GET')).status).toBe(200);
    expect((await send(`${webhook.url}/readyz`, cert.pem, undefined, 'GET')).status).toBe(200);
    expect((await send(`${webhook.url}/elsewhere`, cert.pem, '{}')).status).toBe(404);
  });
});

describe('time budget and upstream outages', () => {
  it('refuses images not decided within the budget (the API server\'s ?timeout= shortens it), naming them; a retry finds the verdict', async () => {
    const isSlow = (r: { path: string }) => r.path.startsWith('/v2/team/slow/manifests/');
    fault.arm('hold', isSlow);
    const held = new Promise<void>((resolve) => fault.events.once('held', () => resolve()));
    const object = pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:1` }, { name: 'slow', image: 'faulty.example:5000/team/slow:1' }] });
    const started = Date.now();
    const answer = await mutate(review({ kind: POD, object }), '?timeout=1500ms');
    expect(Date.now() - started).toBeLessThan(1500);
    await held;
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`image "faulty.example:5000/team/slow:1" (containers "slow"): not decided within the webhook's time budget of 1 s`);
    expect(answer.status?.message).not.toContain('containers "app"');
    fault.release();
    await proxy.proxy.core.idle();
    const retry = await mutate(review({ kind: POD, object }));
    expect(retry.allowed).toBe(true);
    expect(retry.ops.map((op) => op.value)).toEqual([onProxy('lab/team/app', app.digest), onProxy('faulty/team/slow', slow.digest)]);
  });

  it('with the upstream down: a cached admitted verdict still admits, anything else is refused (fail closed)', async () => {
    const image = 'faulty.example:5000/team/flaky:1';
    const first = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image }] }) }));
    expect(first.allowed).toBe(true);
    fault.arm('refuse', () => true, 1000);
    try {
      const before = fault.requests.length;
      const again = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image }] }) }));
      expect(again.allowed).toBe(true);
      expect(again.ops.map((op) => op.value)).toEqual([onProxy('faulty/team/flaky', flaky.digest)]);
      // The upstream was asked (the tag is never trusted from the cache here) and did not answer.
      expect(fault.requests.length).toBeGreaterThan(before);
      expect((await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: onProxy('faulty/team/flaky', flaky.digest) }] }) }))).allowed).toBe(true);
      const unseen = await mutate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: 'faulty.example:5000/team/never:1' }] }) }));
      expect(unseen.allowed).toBe(false);
      expect(unseen.status?.message).toMatch(/undecided: .*unavailable.*no cached verdict stands, so it is refused/);
      // A digest never seen in that repository: no cached manifest, no cached verdict.
      const unseenDigest = await validate(review({ kind: POD, object: pod({ containers: [{ name: 'a', image: onProxy('faulty/team/slow', app.digest) }] }) }));
      expect(unseenDigest.allowed).toBe(false);
    } finally {
      fault.disarm();
    }
  });
});

describe('audit', () => {
  it('records each decision as an admission event: namespace, object, user, operation, images, verdict, reasons, pins', async () => {
    const image = `${registry.host}/team/app:1`;
    const r = review({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: 'shop', name: 'front', username: 'system:serviceaccount:ci:deployer', object: { spec: { template: { spec: { containers: [{ name: 'a', image }] } } } } });
    expect((await mutate(r)).allowed).toBe(true);
    const event = await admissionEvent(r.uid);
    expect(event).toMatchObject({
      type: 'admission',
      webhook: 'mutate',
      namespace: 'shop',
      kind: 'apps/Deployment',
      name: 'front',
      user: 'system:serviceaccount:ci:deployer',
      identity: 'system:serviceaccount:ci:deployer',
      operation: 'CREATE',
      images: [image],
      verdict: 'allow',
      reasons: [],
      pins: [{ from: image, to: onProxy('lab/team/app', app.digest) }],
    });
    expect(JSON.stringify(event)).not.toContain('system:authenticated');
    // The gate's own verdict event names the Kubernetes user too.
    const verdicts = (await proxy.proxy.core.meta.listAudit(500)).filter((e) => e.type === 'verdict' && e.identity === 'system:serviceaccount:ci:deployer');
    expect(verdicts.length).toBeGreaterThan(0);
  });

  it('a pod made by a controller (generateName only) is audited under its generateName', async () => {
    const r = review({ kind: POD, object: { metadata: { generateName: 'web-5d8f-' }, spec: { containers: [{ name: 'a', image: `${registry.host}/team/app:1` }] } } });
    delete (r.body as { request: { name?: string } }).request.name;
    await mutate(r);
    expect((await admissionEvent(r.uid)).name).toBe('web-5d8f-*');
  });
});
