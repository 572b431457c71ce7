import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, isTollgateError, MediaType, referrersTag, RegistryClient, type ImageManifest, type IndexManifest } from '@tollgate/core';
import { freePort, pushOciLayout, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { buildUmociImage, layoutPath, readAll } from './image-fixture.js';
import { startFaultProxy } from './fault-proxy.js';

let registry: RunningRegistry;
let dir: string;
let client: RegistryClient;
let manifest: ImageManifest;
let manifestDigest: string;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'tollgate-registry-client-'));
  await buildUmociImage(dir, 'v1', { 'hello.txt': 'hello world\n', 'etc/data.bin': Buffer.alloc(70_000, 7) });
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'app:v1');
  client = new RegistryClient(registry.host);
  const raw = await client.getManifest('app', 'v1');
  manifest = JSON.parse(Buffer.from(raw.bytes).toString('utf8')) as ImageManifest;
  manifestDigest = raw.digest;
});

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTollgateError(error), `expected TollgateError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).not.toContain('\n');
  return error as Error;
}

describe('RegistryClient against docker-registry (anonymous)', () => {
  it('pings', async () => {
    await expect(client.ping()).resolves.toBeUndefined();
  });

  it('reads a manifest by tag and by digest with the digest skopeo reports', async () => {
    const skopeoDigest = await skopeoInspectDigest(`${registry.host}/app:v1`);
    const byTag = await client.getManifest('app', 'v1');
    expect(byTag.digest).toBe(skopeoDigest);
    expect(byTag.expectedDigest).toBe(skopeoDigest);
    expect(byTag.mediaType).toBe(MediaType.OciManifest);
    expect(digestOf(byTag.bytes)).toBe(skopeoDigest);
    const byDigest = await client.getManifest('app', skopeoDigest);
    expect(Buffer.from(byDigest.bytes).equals(Buffer.from(byTag.bytes))).toBe(true);
    expect(byDigest.expectedDigest).toBe(skopeoDigest);
  });

  it('HEADs manifests: digest, media type, size; undefined when missing', async () => {
    const head = await client.headManifest('app', 'v1');
    expect(head).toEqual({ digest: manifestDigest, mediaType: MediaType.OciManifest, size: (await client.getManifest('app', 'v1')).bytes.byteLength });
    expect(await client.headManifest('app', 'missing')).toBeUndefined();
    expect(await client.headManifest('nothing-here', 'v1')).toBeUndefined();
  });

  it('maps a missing manifest to NOT_FOUND naming registry, repository and tag', async () => {
    const error = await expectCode(client.getManifest('app', 'nope'), 'NOT_FOUND');
    expect(error.message).toContain(`${registry.host}/app:nope`);
    expect(error.message).toContain('MANIFEST_UNKNOWN');
    const byDigest = `sha256:${'0'.repeat(64)}`;
    const error2 = await expectCode(client.getManifest('app', byDigest), 'NOT_FOUND');
    expect(error2.message).toContain(`${registry.host}/app@${byDigest}`);
  });

  it('refuses hostile repository names, tags and digests before any request', async () => {
    await expectCode(client.getManifest('App', 'v1'), 'INVALID_REFERENCE');
    await expectCode(client.getManifest('app/../x', 'v1'), 'INVALID_REFERENCE');
    await expectCode(client.getManifest('app?x=1', 'v1'), 'INVALID_REFERENCE');
    await expectCode(client.getManifest('app', 'v1/../../x'), 'INVALID_REFERENCE');
    await expectCode(client.getManifest('app', `sha256:${'A'.repeat(64)}`), 'INVALID_DIGEST');
    await expectCode(client.getBlob('app', 'sha256:../../etc/passwd'), 'INVALID_DIGEST');
    await expectCode(client.headBlob('app', 'md5:abc'), 'INVALID_DIGEST');
  });

  it('streams a blob whose bytes match its digest, and serves ranges', async () => {
    const layer = manifest.layers[0]!;
    expect(await client.headBlob('app', layer.digest)).toEqual({ size: layer.size });
    expect(await client.headBlob('app', `sha256:${'1'.repeat(64)}`)).toBeUndefined();
    const full = await readAll(await client.getBlob('app', layer.digest, { expectedSize: layer.size }));
    expect(full.length).toBe(layer.size);
    expect(`sha256:${createHash('sha256').update(full).digest('hex')}`).toBe(layer.digest);
    const part = await readAll(await client.getBlob('app', layer.digest, { range: { start: 10, end: 99 }, expectedSize: layer.size }));
    expect(part.equals(full.subarray(10, 100))).toBe(true);
    const tail = await readAll(await client.getBlob('app', layer.digest, { range: { start: layer.size - 5 }, expectedSize: layer.size }));
    expect(tail.equals(full.subarray(layer.size - 5))).toBe(true);
  });

  it('cuts a blob longer than its descriptor and flags a short one', async () => {
    const layer = manifest.layers[0]!;
    await expectCode(client.getBlob('app', layer.digest, { expectedSize: layer.size - 1 }), 'SIZE_MISMATCH');
    const stream = await client.getBlob('app', layer.digest, { expectedSize: layer.size + 10 });
    await expectCode(readAll(stream), 'SIZE_MISMATCH');
    await expectCode(client.getBlob('app', layer.digest, { range: { start: 5, end: 2 } }), 'USAGE');
  });

  it('maps a missing blob to NOT_FOUND', async () => {
    const error = await expectCode(client.getBlob('app', `sha256:${'2'.repeat(64)}`), 'NOT_FOUND');
    expect(error.message).toContain('BLOB_UNKNOWN');
  });

  it('lists tags with pagination', async () => {
    const raw = await client.getManifest('app', 'v1');
    for (const tag of ['a1', 'a2', 'b1', 'b2', 'c1']) {
      expect(await client.putManifest('paged', tag, raw.bytes, raw.mediaType!).catch(async (e: unknown) => {
        // first push into a new repository needs its blobs there
        for (const d of [manifest.config, ...manifest.layers]) expect(await client.mountBlob('paged', 'app', d.digest)).toBe(true);
        return client.putManifest('paged', tag, raw.bytes, raw.mediaType!).catch(() => Promise.reject(e));
      })).toBe(raw.digest);
    }
    // distribution 2.8 ignores n for tags (it paginates only the catalog): everything comes in one page
    const plain = await client.listTags('paged', { n: 2 });
    expect([...plain.tags].sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    expect(plain.next).toBeUndefined();
    expect([...(await client.listAllTags('paged'))].sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);

    // a registry that paginates (n, last, Link rel="next"), served over the real registry's tag list
    const proxy = await startFaultProxy(registry.host);
    try {
      proxy.intercept = async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname !== '/v2/paged/tags/list') return false;
        const upstream = (await (await fetch(`${registry.url}/v2/paged/tags/list`)).json()) as { tags: string[] };
        const sorted = [...upstream.tags].sort();
        const last = url.searchParams.get('last');
        const n = Number(url.searchParams.get('n') ?? '1000');
        const rest = last === null ? sorted : sorted.filter((t) => t > last);
        const page = rest.slice(0, n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (rest.length > n) headers.link = `</v2/paged/tags/list?last=${page[page.length - 1]}&n=${n}>; rel="next"`;
        res.writeHead(200, headers);
        res.end(JSON.stringify({ name: 'paged', tags: page }));
        return true;
      };
      const paged = new RegistryClient(proxy.host);
      const first = await paged.listTags('paged', { n: 2 });
      expect(first.tags).toEqual(['a1', 'a2']);
      expect(first.next).toBe('/v2/paged/tags/list?last=a2&n=2');
      const second = await paged.listTags('paged', { next: first.next! });
      expect(second.tags).toEqual(['b1', 'b2']);
      expect(await paged.listAllTags('paged', { pageSize: 2 })).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
      expect(await paged.listAllTags('paged', { pageSize: 2, limit: 3 })).toEqual(['a1', 'a2', 'b1']);
      expect((await paged.listTags('paged', { n: 2, last: 'b2' })).tags).toEqual(['c1']);
      await expectCode(paged.listTags('paged', { next: 'http://elsewhere.example/v2/paged/tags/list?n=2' }), 'REGISTRY_ERROR');
      await expectCode(paged.listTags('paged', { next: '/v2/other/tags/list?n=2' }), 'REGISTRY_ERROR');
      // a Link to another host is ignored, not followed
      proxy.intercept = (req, res) => {
        if (!req.url?.startsWith('/v2/paged/tags/list')) return false;
        res.writeHead(200, { 'content-type': 'application/json', link: '<http://evil.example/v2/paged/tags/list?n=2>; rel="next"' });
        res.end(JSON.stringify({ name: 'paged', tags: ['a1', '../bad', 'x'.repeat(200), 42] }));
        return true;
      };
      const hostile = await paged.listTags('paged');
      expect(hostile).toEqual({ tags: ['a1'] });
      proxy.intercept = (req, res) => {
        if (!req.url?.startsWith('/v2/paged/tags/list')) return false;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tags": "nope"}');
        return true;
      };
      await expectCode(paged.listTags('paged'), 'REGISTRY_ERROR');
      proxy.intercept = (req, res) => {
        if (!req.url?.startsWith('/v2/paged/tags/list')) return false;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"tags":["');
        const chunk = 'a'.repeat(64 * 1024);
        for (let i = 0; i < 20; i++) res.write(chunk);
        res.end('"]}');
        return true;
      };
      await expectCode(paged.listTags('paged'), 'SIZE_LIMIT');
    } finally {
      await proxy.close();
    }
    await expectCode(client.listTags('does-not-exist'), 'NOT_FOUND');
  });

  it('pushes a blob monolithically, skips it when present, and refuses wrong digests locally', async () => {
    const bytes = Buffer.from('monolithic blob content\n');
    const digest = digestOf(bytes);
    await client.pushBlob('pushed', bytes, digest, bytes.length);
    expect(await client.headBlob('pushed', digest)).toEqual({ size: bytes.length });
    expect((await readAll(await client.getBlob('pushed', digest))).equals(bytes)).toBe(true);
    await client.pushBlob('pushed', bytes, digest, bytes.length); // already there: HEAD short-cuts
    await expectCode(client.pushBlob('pushed', bytes, `sha256:${'3'.repeat(64)}`, bytes.length), 'DIGEST_MISMATCH');
    await expectCode(client.pushBlob('pushed', bytes, digest, bytes.length + 1), 'SIZE_MISMATCH');
  });

  it('pushes a streamed blob in chunks with Content-Range, and the registry checks the digest', async () => {
    const bytes = Buffer.alloc(300_001);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    const digest = digestOf(bytes);
    await client.pushBlob('pushed', () => Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), digest, bytes.length, { chunkSize: 65_536 });
    expect(await client.headBlob('pushed', digest)).toEqual({ size: bytes.length });
    expect((await readAll(await client.getBlob('pushed', digest, { expectedSize: bytes.length }))).equals(bytes)).toBe(true);
    // streamed monolithic
    const other = Buffer.from('streamed monolithic');
    await client.pushBlob('pushed', () => Readable.from([other]), digestOf(other), other.length);
    expect(await client.headBlob('pushed', digestOf(other))).toEqual({ size: other.length });
    // a stream whose bytes do not match the digest: the registry refuses it
    const lie = `sha256:${'4'.repeat(64)}`;
    const error = await expectCode(client.pushBlob('pushed', () => Readable.from([Buffer.from('abc')]), lie, 3, { chunkSize: 2 }), 'REGISTRY_ERROR');
    expect(error.message).toContain('DIGEST_INVALID');
    expect(await client.headBlob('pushed', lie)).toBeUndefined();
  });

  it('mounts a blob across repositories; an unknown blob is not mounted', async () => {
    const layer = manifest.layers[0]!;
    expect(await client.headBlob('mounted', layer.digest)).toBeUndefined();
    expect(await client.mountBlob('mounted', 'app', layer.digest)).toBe(true);
    expect(await client.headBlob('mounted', layer.digest)).toEqual({ size: layer.size });
    expect(await client.mountBlob('mounted', 'app', `sha256:${'5'.repeat(64)}`)).toBe(false);
  });

  it('puts a manifest by tag and by digest; skopeo agrees on the digest; deletes it', async () => {
    for (const d of [manifest.config, ...manifest.layers]) await client.mountBlob('copy', 'app', d.digest);
    const raw = await client.getManifest('app', 'v1');
    const digest = await client.putManifest('copy', 'latest', raw.bytes, raw.mediaType!);
    expect(digest).toBe(raw.digest);
    expect(await skopeoInspectDigest(`${registry.host}/copy:latest`)).toBe(digest);
    expect(await client.putManifest('copy', digest, raw.bytes, raw.mediaType!)).toBe(digest);
    await expectCode(client.putManifest('copy', `sha256:${'6'.repeat(64)}`, raw.bytes, raw.mediaType!), 'DIGEST_MISMATCH');
    await expectCode(client.putManifest('copy', 'x', new Uint8Array(4 * 1024 * 1024 + 1), raw.mediaType!), 'MANIFEST_TOO_LARGE');
    await expectCode(client.putManifest('copy', 'x', raw.bytes, 'not a media type\r\nX: y'), 'USAGE');
    // a manifest whose blobs are missing is refused by the registry
    const orphan = Buffer.from(JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0]!, digest: `sha256:${'7'.repeat(64)}` }] }));
    const error = await expectCode(client.putManifest('copy', 'orphan', orphan, MediaType.OciManifest), 'REGISTRY_ERROR');
    expect(error.message).toMatch(/MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN/);
    await client.deleteManifest('copy', digest);
    expect(await client.headManifest('copy', digest)).toBeUndefined();
  });

  it('finds referrers through the sha256-<hex> tag when the registry has no referrers API', async () => {
    const subject = await client.getManifest('app', 'v1');
    const empty = Buffer.from('{}');
    await client.pushBlob('app', empty, digestOf(empty), empty.length);
    const payload = Buffer.from('signature payload');
    await client.pushBlob('app', payload, digestOf(payload), payload.length);
    const artifact: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: MediaType.OciEmpty, digest: digestOf(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.example.payload', digest: digestOf(payload), size: payload.length }],
      subject: { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.bytes.byteLength },
    };
    const artifactBytes = Buffer.from(JSON.stringify(artifact));
    const artifactDigest = await client.putManifest('app', digestOf(artifactBytes), artifactBytes, MediaType.OciManifest);
    expect((await client.referrers('app', subject.digest)).source).toBe('none');
    expect((await client.referrers('app', subject.digest)).index.manifests).toEqual([]);
    const index: IndexManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ mediaType: MediaType.OciManifest, digest: artifactDigest, size: artifactBytes.length, artifactType: artifact.artifactType! }],
    };
    await client.putManifest('app', referrersTag(subject.digest), Buffer.from(JSON.stringify(index)), MediaType.OciIndex);
    const found = await client.referrers('app', subject.digest);
    expect(found.source).toBe('tag-fallback');
    expect(found.index.manifests.map((d) => d.digest)).toEqual([artifactDigest]);
    const filtered = await client.referrers('app', subject.digest, { artifactType: 'application/vnd.example.signature' });
    expect(filtered.index.manifests).toHaveLength(1);
    const none = await client.referrers('app', subject.digest, { artifactType: 'application/vnd.example.sbom' });
    expect(none.source).toBe('tag-fallback');
    expect(none.index.manifests).toEqual([]);
    // the artifact itself reads back byte-exact with its subject
    const back = await client.getManifest('app', artifactDigest);
    expect(Buffer.from(back.bytes).equals(artifactBytes)).toBe(true);
  });

  it('says NETWORK_ERROR, naming the registry, when nothing listens', async () => {
    const port = await freePort();
    const dead = new RegistryClient(`127.0.0.1:${port}`, { retries: 0 });
    const error = await expectCode(dead.getManifest('app', 'v1'), 'NETWORK_ERROR');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('app:v1');
    expect(error.message).toMatch(/running and reachable/);
    await expectCode(dead.ping(), 'NETWORK_ERROR');
  });

  describe('a registry that is not on loopback', () => {
    // A name that resolves to the local registry through the dispatcher, so the client treats it as remote.
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    const agent = new Agent({ connect: { lookup } });
    afterAll(() => agent.close());

    it('refuses plain HTTP with INSECURE_REGISTRY unless insecure registries are allowed', async () => {
      const port = registry.host.split(':')[1];
      const remote = new RegistryClient(`registry.tollgate.test:${port}`, { dispatcher: agent, retries: 0 });
      const error = await expectCode(remote.getManifest('app', 'v1'), 'INSECURE_REGISTRY');
      expect(error.message).toContain('--allow-insecure-registry');
      const allowed = new RegistryClient(`registry.tollgate.test:${port}`, { dispatcher: agent, retries: 0, allowInsecure: true });
      expect((await allowed.getManifest('app', 'v1')).digest).toBe(manifestDigest);
    });
  });
});
