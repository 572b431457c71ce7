/**
 * The webhook's pure parts: reading an AdmissionReview, finding a pod-bearing object's images, deciding what a
 * review looks at, mapping an image to its upstream and its name on the proxy, and the webhook's own config.
 */
import { describe, expect, it } from 'vitest';
import { normalizeProxyConfig } from '../src/index.js';
import { createUpstream } from '../src/upstream/create-upstream.js';
import { parseAdmissionReview, ReviewError, ReviewRefusal, type AdmissionRequest } from '../src/webhook/admission-review.js';
import { targetFor } from '../src/webhook/image-target.js';
import { imageSlots, ObjectShapeError, podSpecPath } from '../src/webhook/pod-images.js';
import { reviewScope } from '../src/webhook/review-scope.js';
import { reviewResponse } from '../src/webhook/review-response.js';
import { normalizeWebhookConfig } from '../src/webhook/webhook-config.js';

const D = `sha256:${'a'.repeat(64)}`;
const PROXY = 'tollgate.example.com:5000';

function body(request: unknown, top: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request, ...top }));
}

describe('parseAdmissionReview', () => {
  it('reads what the webhook needs and nothing of userInfo beyond the user name', () => {
    const request = parseAdmissionReview(
      body({ uid: 'u-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, name: 'web', namespace: 'shop', operation: 'UPDATE', userInfo: { username: 'bob', groups: ['g'], extra: { token: ['secret'] } }, object: { spec: {} }, dryRun: true }),
    );
    expect(request).toEqual({ uid: 'u-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, name: 'web', namespace: 'shop', operation: 'UPDATE', username: 'bob', object: { spec: {} }, dryRun: true });
  });

  it('refuses what is not a v1 AdmissionReview with a uid (HTTP 400), and unreadable requests with a uid (allowed: false)', () => {
    expect(() => parseAdmissionReview(Buffer.from('nope'))).toThrow(ReviewError);
    expect(() => parseAdmissionReview(Buffer.from('null'))).toThrow(/not a JSON object/);
    expect(() => parseAdmissionReview(body({ uid: 'u' }, { apiVersion: 'admission.k8s.io/v1beta1' }))).toThrow(/admissionReviewVersions/);
    expect(() => parseAdmissionReview(body({ uid: 'u' }, { kind: 'Pod' }))).toThrow(/kind "Pod" is not AdmissionReview/);
    expect(() => parseAdmissionReview(body({ kind: {} }))).toThrow(/request\.uid is missing/);
    expect(() => parseAdmissionReview(body({ uid: 'x'.repeat(129) }))).toThrow(/request\.uid/);
    expect(() => parseAdmissionReview(body({ uid: 'u', operation: 'CREATE' }))).toThrow(ReviewRefusal);
    expect(() => parseAdmissionReview(body({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'MERGE' }))).toThrow(/operation "MERGE"/);
  });
});

describe('imageSlots', () => {
  it('finds every list under the kind\'s pod spec, with the pointer of each image', () => {
    const object = { spec: { jobTemplate: { spec: { template: { spec: { initContainers: [{ name: 'i', image: 'a' }], containers: [{ name: 'c', image: 'b' }, { name: 'd', image: 'c' }] } } } } } };
    expect(imageSlots(object, podSpecPath('batch', 'CronJob')!)).toEqual([
      { pointer: '/spec/jobTemplate/spec/template/spec/containers/0/image', image: 'b', list: 'containers', container: 'c' },
      { pointer: '/spec/jobTemplate/spec/template/spec/containers/1/image', image: 'c', list: 'containers', container: 'd' },
      { pointer: '/spec/jobTemplate/spec/template/spec/initContainers/0/image', image: 'a', list: 'initContainers', container: 'i' },
    ]);
    // The pre-1.25 ephemeralcontainers subresource body keeps the list at its top level.
    expect(imageSlots({ ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] }, podSpecPath('', 'EphemeralContainers')!)).toEqual([{ pointer: '/ephemeralContainers/0/image', image: 'busybox', list: 'ephemeralContainers', container: 'dbg' }]);
  });

  it('knows the pod-bearing kinds by group, and nothing else', () => {
    expect(podSpecPath('apps', 'Deployment')).toEqual(['spec', 'template', 'spec']);
    expect(podSpecPath('', 'Pod')).toEqual(['spec']);
    expect(podSpecPath('', 'Deployment')).toBeUndefined();
    expect(podSpecPath('argoproj.io', 'Rollout')).toBeUndefined();
  });

  it('reads a missing spec as no images and a malformed one as an error', () => {
    expect(imageSlots({ metadata: {} }, ['spec', 'template', 'spec'])).toEqual([]);
    expect(() => imageSlots({ spec: 'x' }, ['spec', 'template', 'spec'])).toThrow(ObjectShapeError);
    expect(() => imageSlots({ spec: { containers: [{ name: 'a', image: 7 }] } }, ['spec'])).toThrow(/has no image/);
    expect(() => imageSlots({ spec: { initContainers: 'x' } }, ['spec'])).toThrow(/initContainers is not a list/);
    expect(() => imageSlots({ spec: { containers: Array.from({ length: 1001 }, (_, i) => ({ name: `c${i}`, image: 'a' })) } }, ['spec'])).toThrow(/more than 1000 containers/);
  });
});

describe('reviewScope', () => {
  const request = (over: Partial<AdmissionRequest>): AdmissionRequest => ({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', dryRun: false, object: { spec: { containers: [{ name: 'a', image: 'nginx' }] } }, ...over });

  it('skips DELETE, CONNECT, status, scale and subresources that carry no pod; evaluates the rest', () => {
    expect(reviewScope(request({ operation: 'DELETE', object: undefined }))).toEqual({ skip: 'DELETE admits no image' });
    expect('skip' in reviewScope(request({ operation: 'CONNECT' }))).toBe(true);
    expect('skip' in reviewScope(request({ operation: 'UPDATE', subResource: 'status' }))).toBe(true);
    expect('skip' in reviewScope(request({ operation: 'UPDATE', subResource: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } }))).toBe(true);
    expect(reviewScope(request({ subResource: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' } }))).toEqual({ skip: 'the eviction subresource (Eviction) carries no pod spec' });
    expect(reviewScope(request({ operation: 'UPDATE', subResource: 'ephemeralcontainers' }))).toMatchObject({ slots: [{ image: 'nginx' }] });
    expect(reviewScope(request({ object: { metadata: { deletionTimestamp: '2025-01-01T00:00:00Z' }, spec: { containers: [{ name: 'a', image: 'x' }] } } }))).toMatchObject({ slots: [{ image: 'x' }] });
  });

  it('refuses kinds it cannot read and reviews without an object', () => {
    expect(() => reviewScope(request({ kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout' } }))).toThrow(/argoproj\.io\/Rollout is not one of them/);
    expect(() => reviewScope(request({ object: undefined }))).toThrow(/carries no object/);
  });
});

describe('targetFor', () => {
  const upstreams = normalizeProxyConfig(
    {
      dataDir: '/tmp/x',
      upstreams: [
        { name: 'hub', url: 'https://registry-1.docker.io', ns: 'docker.io', prefix: 'hub' },
        { name: 'ghcr', url: 'https://ghcr.io', prefix: 'ghcr' },
        { name: 'lab', url: 'https://registry.lab:5000', default: true },
        { name: 'quay', url: 'https://quay.io', ns: 'quay.io' },
      ],
    },
    { env: {} },
  ).upstreams.map((u) => createUpstream(u, {}));

  it('normalises as Docker does and names the image on the proxy under its upstream\'s prefix', () => {
    expect(targetFor('nginx', PROXY, upstreams)).toMatchObject({ reference: 'latest', proxyName: `${PROXY}/hub/library/nginx`, viaProxy: false, route: { repository: 'library/nginx' } });
    expect(targetFor(`ghcr.io/acme/app:1@${D}`, PROXY, upstreams)).toMatchObject({ reference: D, digest: D, proxyName: `${PROXY}/ghcr/acme/app` });
    // The default upstream has no prefix: its repositories are named at the proxy's root.
    expect(targetFor('registry.lab:5000/team/app:2', PROXY, upstreams)).toMatchObject({ reference: '2', proxyName: `${PROXY}/team/app` });
  });

  it('routes a name on the proxy as the proxy routes a pull', () => {
    expect(targetFor(`${PROXY}/hub/nginx@${D}`, PROXY, upstreams)).toMatchObject({ viaProxy: true, digest: D, proxyName: `${PROXY}/hub/library/nginx`, route: { repository: 'library/nginx' } });
    expect(targetFor(`TOLLGATE.example.com:5000/team/app:1`, PROXY, upstreams)).toMatchObject({ viaProxy: true, proxyName: `${PROXY}/team/app` });
  });

  it('refuses registries nodes could not pull through the proxy, and names that would route elsewhere', () => {
    expect(targetFor('gcr.io/distroless/static', PROXY, upstreams)).toEqual({ error: expect.stringMatching(/registry gcr\.io is not fronted by the tollgate proxy/) });
    expect(targetFor('quay.io/acme/tool', PROXY, upstreams)).toEqual({ error: expect.stringMatching(/upstream quay, which has neither a prefix nor default: true/) });
    // registry.lab:5000/hub/x would be <proxy>/hub/x on the proxy: Docker Hub's prefix.
    expect(targetFor('registry.lab:5000/hub/x', PROXY, upstreams)).toEqual({ error: expect.stringMatching(/routes elsewhere/) });
    expect(targetFor('Not A Reference', PROXY, upstreams)).toEqual({ error: expect.stringMatching(/whitespace/) });
  });
});

describe('reviewResponse', () => {
  it('answers with the uid; a patch only when allowed; bounded warnings and messages', () => {
    const allowed = reviewResponse('u', { allowed: true, patch: [{ op: 'replace', path: '/spec/containers/0/image', value: 'x' }], warnings: Array.from({ length: 25 }, () => 'w'.repeat(300)) }) as { response: Record<string, unknown> };
    expect(allowed.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(allowed.response.patch as string, 'base64').toString())).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: 'x' }]);
    const warnings = allowed.response.warnings as string[];
    expect(warnings).toHaveLength(21);
    expect(warnings.every((w) => w.length <= 256)).toBe(true);
    const refused = reviewResponse('u', { allowed: false, message: 'm'.repeat(10_000), patch: [{ op: 'replace', path: '/x', value: 'y' }] }) as { response: Record<string, unknown> };
    expect(refused.response).toMatchObject({ uid: 'u', allowed: false, status: { code: 403 } });
    expect(refused.response.patch).toBeUndefined();
    expect(((refused.response.status as { message: string }).message).length).toBeLessThanOrEqual(4000);
  });
});

describe('normalizeWebhookConfig', () => {
  it('applies defaults and resolves paths against the file', () => {
    expect(normalizeWebhookConfig({ proxyConfig: 'tollgate.yaml', proxyHost: 'Tollgate.Example.com:5000', tls: { cert: 'tls.crt', key: '/etc/k' } }, '/etc/tollgate')).toEqual({
      proxyConfig: '/etc/tollgate/tollgate.yaml',
      proxyHost: 'tollgate.example.com:5000',
      listen: { host: '0.0.0.0', port: 8443 },
      tls: { cert: '/etc/tollgate/tls.crt', key: '/etc/k', reloadMs: 10_000 },
      budgetMs: 5000,
      serveProxy: false,
    });
  });

  it('refuses unknown keys, hosts that are not registries, and out-of-range times', () => {
    const base = { proxyConfig: 'p.yaml', proxyHost: 'localhost:5000', tls: { cert: 'c', key: 'k' } };
    expect(() => normalizeWebhookConfig({ ...base, budget: 3 }, '/')).toThrow(/webhook config: budget is not a known setting/);
    expect(() => normalizeWebhookConfig({ ...base, proxyHost: 'docker.io' }, '/')).toThrow(/proxyHost/);
    expect(() => normalizeWebhookConfig({ ...base, proxyHost: 'proxy' }, '/')).toThrow(/proxyHost/);
    expect(() => normalizeWebhookConfig({ ...base, timeBudgetSeconds: 0 }, '/')).toThrow(/timeBudgetSeconds/);
    expect(() => normalizeWebhookConfig({ ...base, timeBudgetSeconds: '5' }, '/')).toThrow(/timeBudgetSeconds/);
    expect(() => normalizeWebhookConfig({ ...base, listen: '8443' }, '/')).toThrow(/listen must be host:port/);
    expect(() => normalizeWebhookConfig({ ...base, tls: undefined }, '/')).toThrow(/tls must be a mapping/);
    expect(() => normalizeWebhookConfig({ ...base, serveProxy: 'yes' }, '/')).toThrow(/serveProxy must be true or false/);
  });
});
