/**
 * A TypeScript port of the PULL checks of the OCI distribution-spec conformance suite (conformance/01_pull_test.go
 * and the pull parts of the discovery/referrers checks), run against the tollgate proxy in front of a real
 * docker-registry (plus an oci: upstream for content distribution refuses to store), with data variants: a ~3.9 MB
 * manifest, one over 4 MiB, a nested index, an empty index, sha512 content, an empty blob, artifact manifests with
 * and without layers.
 *
 * One deliberate difference from a plain registry: a blob is only served after a manifest that references it was
 * pulled from the same repository (tollgate's gate), so each blob check pulls the manifest first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '@tollgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar';
const NAME = 'conformance/pull';

const digestOf = (bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256') => `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
const desc = (mediaType: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) => ({ mediaType, digest: digestOf(bytes), size: bytes.length, ...extra });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

let registry: RunningRegistry;
let proxy: RunningProxy;
let layoutDir: string;
let client: RegistryClient;
const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
const layer = randomBytes(1000);
const emptyJson = Buffer.from('{}');
let manifest: Buffer;
let manifestDigest: string;
const data: Record<string, { bytes: Buffer; digest: string }> = {};
let sha512Layer: Buffer;

async function putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  return client.putManifest(NAME, reference, bytes, mediaType);
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host);
  await client.pushBlob(NAME, config, digestOf(config), config.length);
  await client.pushBlob(NAME, layer, digestOf(layer), layer.length);
  await client.pushBlob(NAME, new Uint8Array(), digestOf(new Uint8Array()), 0);
  await client.pushBlob(NAME, emptyJson, digestOf(emptyJson), emptyJson.length);
  manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [desc(LAYER, layer)] });
  manifestDigest = await putManifest('tagtest0', manifest, OCI_MANIFEST);
  for (const tag of ['t1', 't2', 't3', 't4', 't5']) await putManifest(tag, manifest, OCI_MANIFEST);

  const add = async (key: string, reference: string | undefined, bytes: Buffer, mediaType: string) => {
    data[key] = { bytes, digest: await putManifest(reference ?? digestOf(bytes), bytes, mediaType) };
  };
  // ~3.9 MB manifest: accepted (under the 4 MiB limit).
  await add('large', 'large', json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [desc(LAYER, layer)], annotations: { pad: 'x'.repeat(3_900_000) } }), OCI_MANIFEST);
  // Nested index: index → index → manifest.
  await add('inner', undefined, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(OCI_MANIFEST, manifest, { platform: { architecture: 'amd64', os: 'linux' } })] }), OCI_INDEX);
  await add('nested', 'nested', json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(OCI_INDEX, data.inner!.bytes)] }), OCI_INDEX);
  await add('emptyIndex', 'empty-index', json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_INDEX);
  // An image whose only layer is the empty blob.
  await add('emptyBlob', 'empty-blob', json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [desc(LAYER, new Uint8Array())] }), OCI_MANIFEST);
  // Artifacts referring to the image: one with a layer, one without (OCI 1.1 empty config).
  const subject = desc(OCI_MANIFEST, manifest);
  await add('sbom', undefined, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sbom', config: desc(OCI_EMPTY, emptyJson), layers: [desc('application/spdx+json', layer)], subject }), OCI_MANIFEST);
  await add('sig', undefined, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sig', config: desc(OCI_EMPTY, emptyJson), layers: [], subject }), OCI_MANIFEST);
  // distribution 2.8 has no referrers API: maintain the referrers tag schema as OCI 1.1 clients do.
  const referrers = json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [desc(OCI_MANIFEST, data.sbom!.bytes, { artifactType: 'application/vnd.example.sbom' }), desc(OCI_MANIFEST, data.sig!.bytes, { artifactType: 'application/vnd.example.sig' })],
  });
  await putManifest(`sha256-${manifestDigest.slice(7)}`, referrers, OCI_INDEX);
  // sha512 content: distribution 2.8 re-addresses every upload by sha256 (it answers a sha512 upload with a
  // sha256 Docker-Content-Digest), so sha512 content comes from the oci: upstream below.
  sha512Layer = randomBytes(500);
  // An OCI layout upstream holding a manifest over 4 MiB (distribution would refuse to store it).
  layoutDir = await mkdtemp(join(tmpdir(), 'tollgate-conformance-layout-'));
  const huge = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [desc(LAYER, layer)], annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } });
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  for (const bytes of [huge, manifest, config, layer]) await writeFile(join(layoutDir, 'blobs', 'sha256', digestOf(bytes).slice(7)), bytes);
  await writeFile(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  // sha512 everywhere: the manifest is addressed by sha512 in index.json, its layer is a sha512 blob.
  const sha512Manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(OCI_CONFIG, config), layers: [{ mediaType: LAYER, digest: digestOf(sha512Layer, 'sha512'), size: sha512Layer.length }] });
  await mkdir(join(layoutDir, 'blobs', 'sha512'), { recursive: true });
  for (const bytes of [sha512Manifest, sha512Layer]) await writeFile(join(layoutDir, 'blobs', 'sha512', digestOf(bytes, 'sha512').slice(7)), bytes);
  data.sha512 = { bytes: sha512Manifest, digest: digestOf(sha512Manifest, 'sha512') };
  await writeFile(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        desc(OCI_MANIFEST, huge, { annotations: { 'org.opencontainers.image.ref.name': 'huge' } }),
        desc(OCI_MANIFEST, manifest, { annotations: { 'org.opencontainers.image.ref.name': 'v1' } }),
        { mediaType: OCI_MANIFEST, digest: digestOf(sha512Manifest, 'sha512'), size: sha512Manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'sha512' } },
      ],
    }),
  );
  data.huge = { bytes: huge, digest: digestOf(huge) };

  proxy = await startProxy({
    gate: allowAllGate,
    upstreams: [
      { name: 'registry', url: registry.url, default: true },
      { name: 'airgap', oci: layoutDir, prefix: 'airgap' },
    ],
  });
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (layoutDir) await rm(layoutDir, { recursive: true, force: true });
});

const url = (path: string) => `${proxy.url}/v2/${path}`;
const get = (path: string, init: RequestInit = {}) => fetchAll(url(path), { ...init, headers: { accept: MANIFEST_ACCEPT, ...(init.headers as Record<string, string>) } });
const head = (path: string) => fetch(url(path), { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
const errorCode = (body: Buffer) => (JSON.parse(body.toString()) as { errors: { code: string }[] }).errors[0]!.code;

describe('base API', () => {
  it('GET /v2/ answers 200 with the API version header', async () => {
    const response = await fetchAll(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});

describe('pull manifests', () => {
  it('HEAD to a nonexistent manifest is 404', async () => {
    expect((await head(`${NAME}/manifests/nonexistent`)).status).toBe(404);
  });

  it('HEAD by digest and by tag: 200, Docker-Content-Digest, Content-Length, no body', async () => {
    for (const reference of [manifestDigest, 'tagtest0']) {
      const response = await head(`${NAME}/manifests/${reference}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(manifestDigest);
      expect(response.headers.get('content-length')).toBe(String(manifest.length));
      expect(response.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('GET nonexistent manifest (tag and digest) is 404 MANIFEST_UNKNOWN', async () => {
    for (const reference of ['nonexistent', digestOf(Buffer.from('nothing'))]) {
      const response = await get(`${NAME}/manifests/${reference}`);
      expect(response.status).toBe(404);
      expect(errorCode(response.body)).toBe('MANIFEST_UNKNOWN');
    }
  });

  it('GET by digest and by tag: 200 and the exact bytes', async () => {
    for (const reference of [manifestDigest, 'tagtest0']) {
      const response = await get(`${NAME}/manifests/${reference}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(manifestDigest);
      expect(digestOf(response.body)).toBe(manifestDigest);
      expect(response.body.equals(manifest)).toBe(true);
    }
  });
});

describe('pull blobs', () => {
  it('HEAD and GET to a nonexistent blob are 404 BLOB_UNKNOWN', async () => {
    const dummy = digestOf(Buffer.from('dummy'));
    expect((await head(`${NAME}/blobs/${dummy}`)).status).toBe(404);
    const response = await get(`${NAME}/blobs/${dummy}`);
    expect(response.status).toBe(404);
    expect(errorCode(response.body)).toBe('BLOB_UNKNOWN');
  });

  it('HEAD to an existing blob is 200 with its digest and size', async () => {
    expect((await get(`${NAME}/manifests/tagtest0`)).status).toBe(200);
    const response = await head(`${NAME}/blobs/${digestOf(config)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(digestOf(config));
    expect(response.headers.get('content-length')).toBe(String(config.length));
  });

  it('GET existing blobs is 200 and the body matches the digest', async () => {
    for (const bytes of [config, layer]) {
      const response = await get(`${NAME}/blobs/${digestOf(bytes)}`);
      expect(response.status).toBe(200);
      expect(digestOf(response.body)).toBe(digestOf(bytes));
    }
  });

  it('Range requests: first bytes, open-ended, suffix, unsatisfiable, several ranges', async () => {
    const path = `${NAME}/blobs/${digestOf(layer)}`;
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=990-', 990, 999],
      ['bytes=-3', 997, 999],
      ['bytes=500-5000', 500, 999],
    ];
    for (const [range, start, end] of cases) {
      const response = await get(path, { headers: { range } });
      expect(response.status, range).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
      expect(response.body.equals(layer.subarray(start, end + 1))).toBe(true);
    }
    const unsatisfiable = await get(path, { headers: { range: 'bytes=1000-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe('bytes */1000');
    const several = await get(path, { headers: { range: 'bytes=0-1,5-6' } });
    expect(several.status).toBe(200);
    expect(several.body.equals(layer)).toBe(true);
  });
});

describe('error codes', () => {
  it('an invalid digest is 400 DIGEST_INVALID with an OCI error body', async () => {
    for (const path of [`${NAME}/manifests/sha256:totallywrong`, `${NAME}/blobs/sha256:totallywrong`, `${NAME}/referrers/sha256:totallywrong`]) {
      const response = await get(path);
      expect(response.status, path).toBe(400);
      const body = JSON.parse(response.body.toString()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe('DIGEST_INVALID');
      expect(typeof body.errors[0]!.message).toBe('string');
    }
  });

  it('PUT of a manifest is refused with UNSUPPORTED (a pull-only registry)', async () => {
    const response = await fetchAll(url(`${NAME}/manifests/sha256:totallywrong`), { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: '{"invalid":true}' });
    expect(response.status).toBe(405);
    expect(errorCode(response.body)).toBe('UNSUPPORTED');
  });

  it('an invalid repository name is 400 NAME_INVALID', async () => {
    const response = await get('Not-Lower/manifests/latest');
    expect(response.status).toBe(400);
    expect(errorCode(response.body)).toBe('NAME_INVALID');
  });
});

describe('tags list', () => {
  it('lists every tag, and pages with n and last following the Link header', async () => {
    const all = await get(`${NAME}/tags/list`);
    expect(all.status).toBe(200);
    const body = JSON.parse(all.body.toString()) as { name: string; tags: string[] };
    expect(body.name).toBe(NAME);
    for (const tag of ['t1', 't2', 't3', 't4', 't5', 'tagtest0', 'large', 'nested']) expect(body.tags).toContain(tag);
    const first = await get(`${NAME}/tags/list?n=2`);
    const page1 = JSON.parse(first.body.toString()) as { tags: string[] };
    expect(page1.tags).toEqual(body.tags.slice(0, 2));
    const link = first.headers.get('link');
    expect(link).toMatch(/^<\/v2\/conformance\/pull\/tags\/list\?n=2&last=[^>]+>; rel="next"$/);
    const next = await fetchAll(`${proxy.url}${/^<([^>]+)>/.exec(link!)![1]}`);
    expect((JSON.parse(next.body.toString()) as { tags: string[] }).tags).toEqual(body.tags.slice(2, 4));
    const after = await get(`${NAME}/tags/list?last=t3`);
    expect((JSON.parse(after.body.toString()) as { tags: string[] }).tags).toEqual(body.tags.filter((t) => t > 't3'));
    const none = await get(`${NAME}/tags/list?n=0`);
    expect((JSON.parse(none.body.toString()) as { tags: string[] }).tags).toEqual([]);
  });

  it('an unknown repository is 404 NAME_UNKNOWN', async () => {
    const response = await get('conformance/nothing-here/tags/list');
    expect(response.status).toBe(404);
    expect(errorCode(response.body)).toBe('NAME_UNKNOWN');
  });
});

describe('referrers', () => {
  it('lists referrers (built from the tag schema; distribution 2.8 has no referrers API)', async () => {
    const response = await get(`${NAME}/referrers/${manifestDigest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(OCI_INDEX);
    const index = JSON.parse(response.body.toString()) as { mediaType: string; manifests: { digest: string; artifactType: string }[] };
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((d) => d.digest).sort()).toEqual([data.sbom!.digest, data.sig!.digest].sort());
  });

  it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const response = await get(`${NAME}/referrers/${manifestDigest}?artifactType=${encodeURIComponent('application/vnd.example.sig')}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('oci-filters-applied')).toBe('artifactType');
    const index = JSON.parse(response.body.toString()) as { manifests: { digest: string }[] };
    expect(index.manifests.map((d) => d.digest)).toEqual([data.sig!.digest]);
  });

  it('answers an empty index for a subject with no referrers', async () => {
    const response = await get(`${NAME}/referrers/${digestOf(Buffer.from('no referrers'))}`);
    expect(response.status).toBe(200);
    expect((JSON.parse(response.body.toString()) as { manifests: unknown[] }).manifests).toEqual([]);
  });
});

describe('data variants', () => {
  it('a ~3.9 MB manifest is served whole', async () => {
    const response = await get(`${NAME}/manifests/large`);
    expect(response.status).toBe(200);
    expect(response.body.length).toBeGreaterThan(3_800_000);
    expect(digestOf(response.body)).toBe(data.large!.digest);
  });

  it('a manifest over 4 MiB is refused', async () => {
    const response = await get('airgap/any/manifests/huge');
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(errorCode(response.body)).toBe('SIZE_INVALID');
    const byDigest = await get(`airgap/any/manifests/${data.huge!.digest}`);
    expect(byDigest.status).toBeGreaterThanOrEqual(400);
  });

  it('an oci: upstream serves its tagged image and blobs', async () => {
    const response = await get('airgap/any/manifests/v1');
    expect(response.status).toBe(200);
    expect(response.body.equals(manifest)).toBe(true);
    const blob = await get(`airgap/any/blobs/${digestOf(layer)}`);
    expect(blob.status).toBe(200);
    expect(blob.body.equals(layer)).toBe(true);
    const tags = JSON.parse((await get('airgap/any/tags/list')).body.toString()) as { tags: string[] };
    expect(tags.tags).toEqual(['huge', 'sha512', 'v1']);
  });

  it('a nested index: outer, inner and leaf manifests, then the leaf blobs', async () => {
    const outer = await get(`${NAME}/manifests/nested`);
    expect(outer.status).toBe(200);
    expect(outer.headers.get('content-type')).toBe(OCI_INDEX);
    const inner = await get(`${NAME}/manifests/${data.inner!.digest}`);
    expect(inner.status).toBe(200);
    expect(inner.body.equals(data.inner!.bytes)).toBe(true);
    expect((await get(`${NAME}/manifests/${manifestDigest}`)).status).toBe(200);
    expect((await get(`${NAME}/blobs/${digestOf(layer)}`)).body.equals(layer)).toBe(true);
  });

  it('an empty index is served', async () => {
    const response = await get(`${NAME}/manifests/empty-index`);
    expect(response.status).toBe(200);
    expect(response.body.equals(data.emptyIndex!.bytes)).toBe(true);
  });

  it('the empty blob is served with length 0', async () => {
    expect((await get(`${NAME}/manifests/empty-blob`)).status).toBe(200);
    const empty = digestOf(new Uint8Array());
    const response = await get(`${NAME}/blobs/${empty}`);
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
    expect(response.headers.get('content-length')).toBe('0');
    expect(response.headers.get('docker-content-digest')).toBe(empty);
    const again = await get(`${NAME}/blobs/${empty}`);
    expect(again.status).toBe(200);
  });

  it('artifact manifests with and without layers', async () => {
    for (const key of ['sbom', 'sig']) {
      const response = await get(`${NAME}/manifests/${data[key]!.digest}`);
      expect(response.status).toBe(200);
      expect(response.body.equals(data[key]!.bytes)).toBe(true);
    }
    const emptyConfig = await get(`${NAME}/blobs/${digestOf(emptyJson)}`);
    expect(emptyConfig.body.toString()).toBe('{}');
    expect((await get(`${NAME}/blobs/${digestOf(layer)}`)).status).toBe(200);
  });

  it('sha512 content is verified and served (from the oci: upstream; distribution 2.8 keeps only sha256)', async () => {
    const byTag = await get('airgap/any/manifests/sha512');
    expect(byTag.status).toBe(200);
    expect(byTag.headers.get('docker-content-digest')).toBe(data.sha512!.digest);
    expect((await get(`airgap/any/manifests/${data.sha512!.digest}`)).body.equals(data.sha512!.bytes)).toBe(true);
    const digest = digestOf(sha512Layer, 'sha512');
    const response = await get(`airgap/any/blobs/${digest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(digest);
    expect(response.body.equals(sha512Layer)).toBe(true);
  });
});
