/**
 * Faults a real registry will not produce on demand, injected by a proxy in front of a real docker-registry:
 * everything not under test is answered by the registry itself.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, isTollgateError, isUnavailableError, MediaType, RegistryClient, type ImageManifest, type TollgateError } from '@tollgate/core';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { closeServer, listen, startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { buildUmociImage, layoutPath, readAll } from './image-fixture.js';

const creds = { username: 'carol', password: 'fault-pass' };
let dir: string;
let registry: RunningRegistry;
let proxy: FaultProxy;
let manifest: ImageManifest;
let manifestBytes: Uint8Array;
let manifestDigest: string;
const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-faults-'));
  registry = await startRegistry({ htpasswd: creds });
  await buildUmociImage(dir, 'v1', { 'f.txt': 'faults' });
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'app:v1', creds);
  proxy = await startFaultProxy(registry.host);
  const raw = await client().getManifest('app', 'v1');
  manifestBytes = raw.bytes;
  manifestDigest = raw.digest;
  manifest = JSON.parse(Buffer.from(raw.bytes).toString()) as ImageManifest;
});

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function client(options: ConstructorParameters<typeof RegistryClient>[1] = {}): RegistryClient {
  return new RegistryClient(proxy?.host ?? registry.host, { credentials: creds, dockerConfigPath: join(dir, 'none.json'), ...options });
}

async function failure(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isTollgateError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).not.toMatch(/[\r\n]/);
  expect((error as Error).message).not.toContain(creds.password);
  return error as Error;
}

function path(url: string | undefined): string {
  return new URL(url ?? '/', 'http://x').pathname;
}

describe('registry faults', () => {
  it('retries a 429 after Retry-After, then succeeds', async () => {
    let answered = 0;
    proxy.intercept = (req, res) => {
      if (path(req.url) !== '/v2/app/manifests/v1' || answered > 0) return false;
      answered++;
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return true;
    };
    const started = Date.now();
    const debug: string[] = [];
    expect((await client({ debug: (m) => debug.push(m) }).getManifest('app', 'v1')).digest).toBe(manifestDigest);
    expect(answered).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(debug.some((m) => m.includes('429'))).toBe(true);
  });

  it('gives up after the retries: TOO_MANY_REQUESTS for 429, REGISTRY_ERROR for 503', async () => {
    let count = 0;
    proxy.intercept = (req, res) => {
      if (path(req.url) !== '/v2/app/manifests/v1') return false;
      count++;
      res.writeHead(429, { 'retry-after': '0' });
      res.end();
      return true;
    };
    const error = await failure(client({ retries: 2 }).getManifest('app', 'v1'), 'TOO_MANY_REQUESTS');
    expect(error.message).toContain('/app:v1');
    expect(count).toBe(3);
    count = 0;
    proxy.intercept = (req, res) => {
      if (path(req.url) !== '/v2/app/manifests/v1') return false;
      count++;
      res.writeHead(503, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end('<html>down</html>');
      return true;
    };
    await failure(client({ retries: 1 }).getManifest('app', 'v1'), 'REGISTRY_ERROR');
    expect(count).toBe(2);
  });

  it('never retries a PATCH that sent a body', async () => {
    let patches = 0;
    proxy.intercept = (req, res) => {
      if (req.method !== 'PATCH') return false;
      patches++;
      req.resume();
      res.writeHead(503, { 'retry-after': '0' });
      res.end();
      return true;
    };
    const blob = Buffer.from('chunked blob that meets a 503');
    await failure(client().pushBlob('app', blob, digestOf(blob), blob.length, { chunkSize: 8 }), 'REGISTRY_ERROR');
    expect(patches).toBe(1);
  });

  it('follows a blob redirect to another host without the Authorization header', async () => {
    const layer = manifest.layers[0]!;
    const seen: IncomingHttpHeaders[] = [];
    const cdn = createServer((req, res) => {
      seen.push(req.headers);
      void fetch(`${registry.url}/v2/app/blobs/${layer.digest}`, { headers: { authorization: basic } }).then(async (answer) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
    });
    const cdnPort = await listen(cdn);
    try {
      let hops = 0;
      proxy.intercept = (req, res) => {
        if (path(req.url) !== `/v2/app/blobs/${layer.digest}` || req.headers.authorization === undefined) return false;
        hops++;
        // first a same-host relative redirect (keeps auth), then off to the "CDN" on another host name
        res.writeHead(307, { location: hops === 1 ? `/v2/app/blobs/${layer.digest}?hop=1` : `http://localhost:${cdnPort}/blob?X-Signature=abc` });
        res.end();
        return true;
      };
      const bytes = await readAll(await client().getBlob('app', layer.digest, { expectedSize: layer.size }));
      expect(digestOf(bytes)).toBe(layer.digest);
      expect(hops).toBe(2);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.authorization).toBeUndefined();
      const hop = proxy.seen.filter((r) => r.url.includes('hop=1'));
      expect(hop.at(-1)?.headers.authorization).toBe(basic);
    } finally {
      await closeServer(cdn);
    }
  });

  it('stops after 5 redirects and refuses redirects to other schemes', async () => {
    const layer = manifest.layers[0]!;
    proxy.intercept = (req, res) => {
      if (!path(req.url).startsWith('/v2/app/blobs/')) return false;
      res.writeHead(302, { location: `/v2/app/blobs/${layer.digest}?again=${Math.random()}` });
      res.end();
      return true;
    };
    expect((await failure(client().getBlob('app', layer.digest), 'REGISTRY_ERROR')).message).toMatch(/redirects/);
    proxy.intercept = (req, res) => {
      if (!path(req.url).startsWith('/v2/app/blobs/')) return false;
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
      return true;
    };
    await failure(client().getBlob('app', layer.digest), 'REGISTRY_ERROR');
  });

  it('refuses a manifest over 4 MiB without reading it all (Content-Length and streamed)', async () => {
    let finished = false;
    proxy.intercept = (req, res) => {
      if (path(req.url) !== '/v2/app/manifests/big') return false;
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'content-length': String(64 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 32));
      res.on('close', () => (finished = res.writableFinished));
      return true;
    };
    await failure(client().getManifest('app', 'big'), 'MANIFEST_TOO_LARGE');
    let written = 0;
    proxy.intercept = (req, res) => {
      if (path(req.url) !== '/v2/app/manifests/big') return false;
      res.writeHead(200, { 'content-type': MediaType.OciManifest });
      const chunk = Buffer.alloc(256 * 1024, 32);
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return true;
    };
    await failure(client().getManifest('app', 'big'), 'MANIFEST_TOO_LARGE');
    expect(finished).toBe(false);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses invalid or lying Docker-Content-Digest headers and altered bytes', async () => {
    for (const value of ['sha256:ABC', 'sha256:../../x', `md5:${'a'.repeat(32)}`, `sha256:${'a'.repeat(63)}`]) {
      proxy.intercept = (req, res) => {
        if (path(req.url) !== '/v2/app/manifests/v1') return false;
        res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': value });
        res.end(req.method === 'HEAD' ? undefined : Buffer.from(manifestBytes));
        return true;
      };
      await failure(client().getManifest('app', 'v1'), 'INVALID_DIGEST');
      await failure(client().headManifest('app', 'v1'), 'INVALID_DIGEST');
    }
    proxy.intercept = (req, res) => {
      if (!path(req.url).startsWith('/v2/app/manifests/')) return false;
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': manifestDigest });
      res.end(Buffer.concat([Buffer.from(manifestBytes), Buffer.from(' ')]));
      return true;
    };
    await failure(client().getManifest('app', 'v1'), 'DIGEST_MISMATCH');
    const error = await failure(client().getManifest('app', manifestDigest), 'DIGEST_MISMATCH');
    expect(error.message).toContain(`/app@${manifestDigest}`);
  });

  it('turns garbage error bodies into one-line errors', async () => {
    const bodies: [number, string | Buffer, string][] = [
      [500, Buffer.from([0, 1, 2, 255, 254, 10, 13]), 'REGISTRY_ERROR'],
      [500, '{"errors":[{"code":"X\\nInjected: header","message":"line1\\nline2\\u001b[31m","detail":{"secret":"x"}}]}', 'REGISTRY_ERROR'],
      [404, '{"errors": "not an array"}', 'NOT_FOUND'],
      [403, '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}', 'DENIED'],
      [418, 'x'.repeat(1024 * 1024), 'REGISTRY_ERROR'],
      [400, '{"errors":[null, 5, {"code": 7}]}', 'REGISTRY_ERROR'],
    ];
    for (const [status, body, code] of bodies) {
      proxy.intercept = (req, res) => {
        if (path(req.url) !== '/v2/app/manifests/v1') return false;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      };
      const error = await failure(client({ retries: 0 }).getManifest('app', 'v1'), code);
      expect(error.message).toContain('/app:v1');
      expect(error.message.length).toBeLessThan(700);
    }
  });

  it('keeps the status and the registry error entries (bounded, one line, no detail) for callers to decide from', async () => {
    const cases: [number, string, string, { code?: string; message?: string }[]][] = [
      [405, '{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported.","detail":{"secret":"x"}}]}', 'REGISTRY_ERROR', [{ code: 'UNSUPPORTED', message: 'The operation is unsupported.' }]],
      [400, JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'line1\nline2' }, { code: 'X'.repeat(100) }] }), 'REGISTRY_ERROR', [{ code: 'MANIFEST_INVALID', message: 'line1 line2' }, { code: `${'X'.repeat(60)}…` }]],
      [429, '{"errors":[{"code":"TOOMANYREQUESTS"}]}', 'TOO_MANY_REQUESTS', [{ code: 'TOOMANYREQUESTS' }]],
      [501, 'not json', 'REGISTRY_ERROR', []],
    ];
    for (const [status, body, code, entries] of cases) {
      proxy.intercept = (req, res) => {
        if (path(req.url) !== '/v2/app/manifests/v1') return false;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
        return true;
      };
      const error = (await failure(client({ retries: 0 }).getManifest('app', 'v1'), code)) as TollgateError;
      expect(error.status).toBe(status);
      expect(error.registryErrors ?? []).toEqual(entries);
      // Only failing servers are "unavailable": a 4xx, and a 501 (not implemented), are the registry's answer.
      expect(isUnavailableError(error)).toBe(status === 429);
    }
  });

  it('handles hostile WWW-Authenticate headers and token services', async () => {
    const hostileTokens: (string | Buffer)[] = [
      'not json',
      '{"token": ""}',
      '{"token": "abc\\r\\nX-Injected: 1"}',
      JSON.stringify({ token: 'x'.repeat(2 * 1024 * 1024) }),
      '[]',
    ];
    let body: string | Buffer = '';
    const tokenServer = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const tokenPort = await listen(tokenServer);
    try {
      for (const header of ['Bearer', 'Bearer realm="unterminated', 'Digest nonce="x"', 'Bearer realm="ftp://x/token"', 'Bearer ,,,=== "\\', 'Bearer realm="not a url"']) {
        proxy.intercept = (req, res) => {
          if (path(req.url) !== '/v2/app/manifests/v1') return false;
          res.writeHead(401, { 'www-authenticate': header });
          res.end();
          return true;
        };
        const error = await client().getManifest('app', 'v1').catch((e: unknown) => e);
        expect(isTollgateError(error), String(error)).toBe(true);
        expect(['UNAUTHORIZED', 'REGISTRY_ERROR']).toContain((error as { code: string }).code);
      }
      for (const hostile of hostileTokens) {
        body = hostile;
        proxy.intercept = (req, res) => {
          if (path(req.url) !== '/v2/app/manifests/v1') return false;
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${tokenPort}/token",service="s"` });
          res.end();
          return true;
        };
        await failure(client().getManifest('app', 'v1'), 'REGISTRY_ERROR');
      }
    } finally {
      await closeServer(tokenServer);
    }
  });

  it('refuses an upload Location on another host', async () => {
    proxy.intercept = (req, res) => {
      if (req.method !== 'POST' || !path(req.url).endsWith('/blobs/uploads/')) return false;
      res.writeHead(202, { location: 'http://localhost:1/v2/app/blobs/uploads/stolen' });
      res.end();
      return true;
    };
    const blob = Buffer.from('never leaves');
    const error = await failure(client().pushBlob('app', blob, digestOf(blob), blob.length), 'REGISTRY_ERROR');
    expect(error.message).toMatch(/another host/);
  });

  it('uses the referrers API when the registry answers it, filtering when the server did not', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { mediaType: MediaType.OciManifest, digest: `sha256:${'a'.repeat(64)}`, size: 10, artifactType: 'application/vnd.example.sig' },
        { mediaType: MediaType.OciManifest, digest: `sha256:${'b'.repeat(64)}`, size: 10, artifactType: 'application/vnd.example.sbom' },
      ],
    };
    let applied = false;
    let query = '';
    proxy.intercept = (req, res) => {
      if (!path(req.url).startsWith('/v2/app/referrers/')) return false;
      query = new URL(req.url ?? '/', 'http://x').search;
      const headers: Record<string, string> = { 'content-type': MediaType.OciIndex };
      const body = applied ? { ...index, manifests: index.manifests.slice(0, 1) } : index;
      if (applied) headers['oci-filters-applied'] = 'artifactType';
      res.writeHead(200, headers);
      res.end(JSON.stringify(body));
      return true;
    };
    const all = await client().referrers('app', manifestDigest);
    expect(all.source).toBe('api');
    expect(all.index.manifests).toHaveLength(2);
    const filtered = await client().referrers('app', manifestDigest, { artifactType: 'application/vnd.example.sig' });
    expect(query).toBe('?artifactType=application%2Fvnd.example.sig');
    expect(filtered.index.manifests.map((d) => d.artifactType)).toEqual(['application/vnd.example.sig']);
    applied = true;
    const serverFiltered = await client().referrers('app', manifestDigest, { artifactType: 'application/vnd.example.sig' });
    expect(serverFiltered.index.manifests).toHaveLength(1);
    // a hostile index is refused
    proxy.intercept = (req, res) => {
      if (!path(req.url).startsWith('/v2/app/referrers/')) return false;
      res.writeHead(200, { 'content-type': MediaType.OciIndex });
      res.end('{"schemaVersion":2,"manifests":[{"mediaType":"x/y","digest":"sha256:../../etc","size":1}]}');
      return true;
    };
    const error = await client().referrers('app', manifestDigest).catch((e: unknown) => e);
    expect(isTollgateError(error)).toBe(true);
  });

  afterAll(() => {
    proxy.intercept = undefined;
  });
});
