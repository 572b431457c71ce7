/**
 * Where a registry may send the client (issue 10, item 6): blob redirects and token realms to loopback, private,
 * link-local and other special addresses are refused unless the registry is on that kind of address itself or the
 * host is configured (redirectHosts). A real docker-registry answers everything but the redirects and challenges
 * a fault proxy injects; the "CDN" and the token realm are the test's own small servers.
 *
 * A registry on a public address is simulated by naming it `registry.test`, which only this test's dispatcher
 * resolves (to the fault proxy on 127.0.0.1): the client sees a registry named by a public name.
 */
import { execFile } from 'node:child_process';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { digestOf, isTollgateError, RegistryClient, type ImageManifest, type RegistryClientOptions } from '@tollgate/core';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { closeServer, listen, startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { buildUmociImage, layoutPath, readAll } from './image-fixture.js';

const run = promisify(execFile);

/** One of the test's own servers, recording what reached it. */
interface Recorder {
  port: number;
  hits: IncomingMessage[];
  handler: RequestListener;
  server: Server;
}

let dir: string;
let registry: RunningRegistry;
let proxy: FaultProxy;
let layer: { digest: string; size: number };
let layerBytes: Buffer;
let cdn: Recorder;
let cdn2: Recorder;
let realm: Recorder;
let tls: Recorder;
let cert: Buffer;
let testAgent: Agent;

function serveBlob(): RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(layerBytes.length) });
    res.end(layerBytes);
  };
}

function recorder(server: Server, handler: RequestListener): Recorder {
  const r: Recorder = { port: 0, hits: [], handler, server };
  server.on('request', (req: IncomingMessage, res) => {
    r.hits.push(req);
    r.handler(req, res);
  });
  return r;
}

/** The test dispatcher's own name resolution: `registry.test` and `*.cdn.test` are 127.0.0.1. */
const testLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === 'registry.test' || hostname.endsWith('.cdn.test')) {
    const address: LookupAddress = { address: '127.0.0.1', family: 4 };
    if (options.all === true) (callback as (e: null, a: LookupAddress[]) => void)(null, [address]);
    else callback(null, address.address, address.family);
    return;
  }
  dnsLookup(hostname, options, callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-redirects-'));
  registry = await startRegistry();
  await buildUmociImage(dir, 'v1', { 'f.txt': 'redirects' });
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'app:v1');
  proxy = await startFaultProxy(registry.host);
  const direct = new RegistryClient(registry.host, { dockerConfigPath: join(dir, 'none.json') });
  const manifest = JSON.parse(Buffer.from((await direct.getManifest('app', 'v1')).bytes).toString()) as ImageManifest;
  layer = manifest.layers[0]!;
  layerBytes = await readAll(await direct.getBlob('app', layer.digest, { expectedSize: layer.size }));

  cdn = recorder(createServer(), serveBlob());
  cdn.port = await listen(cdn.server);
  cdn2 = recorder(createServer(), serveBlob());
  cdn2.port = await listen(cdn2.server);
  realm = recorder(createServer(), (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"token":"realm-token","expires_in":300}');
  });
  realm.port = await listen(realm.server);
  const keyPath = join(dir, 'tls-key.pem');
  const certPath = join(dir, 'tls-cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
  cert = await readFile(certPath);
  tls = recorder(createHttpsServer({ key: await readFile(keyPath), cert }), (_req, res) => res.end());
  tls.port = await listen(tls.server);
  testAgent = new Agent({ connect: { lookup: testLookup, ca: cert } });
});

afterAll(async () => {
  await testAgent?.close();
  for (const r of [cdn, cdn2, realm, tls]) if (r) await closeServer(r.server);
  await proxy?.close();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.intercept = undefined;
  for (const r of [cdn, cdn2, realm, tls]) {
    r.hits.length = 0;
    r.handler = serveBlob();
  }
  realm.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"token":"realm-token","expires_in":300}');
  };
});

/** A client for a registry named by a public name (resolved only by the test's dispatcher). */
function publicClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient(`registry.test:${proxy.host.split(':')[1]}`, { allowInsecure: true, dispatcher: testAgent, retries: 0, dockerConfigPath: join(dir, 'none.json'), ...options });
}

/** A client for the registry on 127.0.0.1 (a loopback registry). */
function loopbackClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient(proxy.host, { retries: 0, dockerConfigPath: join(dir, 'none.json'), ...options });
}

function redirectBlobTo(location: string): void {
  proxy.intercept = (req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== `/v2/app/blobs/${layer.digest}`) return false;
    res.writeHead(307, { location });
    res.end();
    return true;
  };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isTollgateError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, (error as Error).message).toBe('REGISTRY_ERROR');
  const message = (error as Error).message;
  expect(message).not.toMatch(/[\r\n]/);
  return message;
}

async function fetchBlob(client: RegistryClient): Promise<Buffer> {
  return readAll(await client.getBlob('app', layer.digest, { expectedSize: layer.size }));
}

describe('blob redirects from a registry on a public name', () => {
  it('refuses loopback, private, link-local, unspecified and special targets however they are spelt', async () => {
    const p = cdn.port;
    const targets: [string, RegExp][] = [
      [`http://127.0.0.1:${p}/b`, /the redirect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address and the registry is not on one/],
      [`http://localhost:${p}/b`, /to connect to localhost for the registry: localhost resolves to 127\.0\.0\.1, a loopback address/],
      [`http://127.0.0.1.:${p}/b`, /127\.0\.0\.1 is a loopback address/],
      [`http://[::ffff:127.0.0.1]:${p}/b`, /\[::ffff:7f00:1\] is a loopback address/],
      [`http://2130706433:${p}/b`, /127\.0\.0\.1 is a loopback address/],
      [`http://0x7f.1:${p}/b`, /127\.0\.0\.1 is a loopback address/],
      [`http://0.0.0.0:${p}/b`, /0\.0\.0\.0 is an unspecified address, which is never followed/],
      [`http://[::]:${p}/b`, /\[::\] is an unspecified address/],
      ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', /169\.254\.169\.254 is a link-local address/],
      ['http://[::ffff:a9fe:a9fe]/latest/meta-data/', /link-local address/],
      ['http://[64:ff9b::a9fe:a9fe]/latest/meta-data/', /link-local address/],
      ['http://10.0.0.1/admin', /10\.0\.0\.1 is a private address/],
      ['http://100.64.0.1/', /private address/],
      ['http://[fd00::1]/', /private address/],
      ['http://[fe80::1]/', /link-local address/],
      ['http://192.0.2.1/', /special-purpose address/],
    ];
    for (const [location, expected] of targets) {
      redirectBlobTo(location);
      const message = await refusal(fetchBlob(publicClient()));
      expect(message, location).toMatch(expected);
      expect(message, location).toMatch(/^fetching blob registry\.test:\d+\/app@sha256:[0-9a-f]{64}: refusing (the redirect|to connect) to /);
      expect(message, location).toContain('if you trust that host, add it to redirectHosts');
    }
    expect(cdn.hits).toHaveLength(0);
  });

  it('refuses HEAD redirects the same way', async () => {
    redirectBlobTo(`http://localhost:${cdn.port}/b`);
    expect(await refusal(publicClient().headBlob('app', layer.digest))).toMatch(/localhost resolves to 127\.0\.0\.1/);
    expect(cdn.hits).toHaveLength(0);
  });

  it('follows a redirect to a configured host, exact or *.domain, whatever it resolves to', async () => {
    redirectBlobTo(`http://localhost:${cdn.port}/b?X-Amz-Signature=x`);
    expect(digestOf(await fetchBlob(publicClient({ redirectHosts: ['localhost'] })))).toBe(layer.digest);
    redirectBlobTo(`http://eu.cdn.test:${cdn.port}/b`);
    expect(digestOf(await fetchBlob(publicClient({ redirectHosts: ['*.cdn.test'] })))).toBe(layer.digest);
    redirectBlobTo(`http://localhost:${cdn.port}/b`);
    await refusal(fetchBlob(publicClient({ redirectHosts: [`localhost:${cdn.port + 1}`] })));
    expect(cdn.hits).toHaveLength(2);
    expect(cdn.hits.every((h) => h.headers.authorization === undefined)).toBe(true);
  });

  it('judges every hop of a chain: a configured host cannot pass the client on to a private one', async () => {
    redirectBlobTo(`http://localhost:${cdn.port}/hop`);
    cdn.handler = (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${cdn2.port}/b` });
      res.end();
    };
    expect(await refusal(fetchBlob(publicClient({ redirectHosts: ['localhost'] })))).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(cdn.hits).toHaveLength(1);
    expect(cdn2.hits).toHaveLength(0);
  });

  it('refuses a redirect carrying a user name or password, without echoing it', async () => {
    redirectBlobTo(`http://admin:s3cret-pass@localhost:${cdn.port}/b`);
    const message = await refusal(fetchBlob(publicClient({ redirectHosts: ['localhost'] })));
    expect(message).toMatch(/carries a user name or password/);
    expect(message).not.toContain('s3cret-pass');
    expect(cdn.hits).toHaveLength(0);
  });

  it('refuses a chain that goes from HTTPS down to plain HTTP', async () => {
    redirectBlobTo(`https://localhost:${tls.port}/b`);
    tls.handler = (_req, res) => {
      res.writeHead(307, { location: `http://localhost:${cdn.port}/b` });
      res.end();
    };
    expect(await refusal(fetchBlob(publicClient({ redirectHosts: ['localhost'] })))).toMatch(/from HTTPS to plain HTTP at localhost:\d+/);
    expect(tls.hits).toHaveLength(1);
    expect(cdn.hits).toHaveLength(0);
  });

  it('checks every address a name resolves to, and connects only to the addresses it checked', async () => {
    const asked: string[] = [];
    const resolveHost = async (hostname: string): Promise<LookupAddress[]> => {
      asked.push(hostname);
      return hostname === 'mirror.test' ? [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }] : [];
    };
    redirectBlobTo(`http://mirror.test:${cdn.port}/b`);
    expect(await refusal(fetchBlob(publicClient({ resolveHost })))).toMatch(/mirror\.test resolves to 127\.0\.0\.1, a loopback address/);
    expect(asked).toEqual(['mirror.test']);
    expect(cdn.hits).toHaveLength(0);

    // From a loopback registry, loopback is allowed: the connection goes where the checking resolver said (the
    // system resolver does not know mirror.test).
    const loopbackOnly = async (hostname: string): Promise<LookupAddress[]> => (hostname === 'mirror.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    expect(digestOf(await fetchBlob(loopbackClient({ resolveHost: loopbackOnly, allowInsecure: true })))).toBe(layer.digest);
    expect(cdn.hits).toHaveLength(1);
    expect(cdn.hits[0]!.headers.host).toBe(`mirror.test:${cdn.port}`);
  });
});

describe('blob redirects from a registry on loopback', () => {
  it('may go to loopback (the same kind of address) but not to private, link-local or unspecified ones', async () => {
    redirectBlobTo(`http://localhost:${cdn.port}/b`);
    expect(digestOf(await fetchBlob(loopbackClient()))).toBe(layer.digest);
    redirectBlobTo(`http://[::ffff:7f00:1]:${cdn.port}/b`);
    expect(digestOf(await fetchBlob(loopbackClient()))).toBe(layer.digest);
    for (const [location, expected] of [
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://10.0.0.1/', /private/],
      ['http://[::ffff:10.0.0.1]/', /private/],
      [`http://0.0.0.0:${cdn.port}/b`, /unspecified/],
    ] as const) {
      redirectBlobTo(location);
      expect(await refusal(fetchBlob(loopbackClient({ redirectHostsSetting: 'upstreams[].redirectHosts of upstream "lab"' }))), location).toMatch(
        new RegExp(`${expected.source}.*add it to upstreams\\[\\]\\.redirectHosts of upstream "lab"`),
      );
    }
    expect(cdn.hits).toHaveLength(2);
  });
});

describe('token realms', () => {
  function challengeWith(realmUrl: string): void {
    proxy.intercept = (req, res) => {
      if (!(req.url ?? '').startsWith('/v2/app/manifests/') || req.headers.authorization !== undefined) return false;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realmUrl}",service="registry.test"`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return true;
    };
  }

  it('refuses a realm on a non-public address named by a registry on a public name', async () => {
    challengeWith('http://169.254.169.254/latest/api/token');
    expect(await refusal(publicClient().getManifest('app', 'v1'))).toMatch(/^getting a token from 169\.254\.169\.254 for .*refusing the token realm to 169\.254\.169\.254: .*link-local address/);
    challengeWith(`http://localhost:${realm.port}/token`);
    expect(await refusal(publicClient().getManifest('app', 'v1'))).toMatch(/localhost resolves to 127\.0\.0\.1, a loopback address.*redirectHosts/);
    expect(realm.hits).toHaveLength(0);
  });

  it('reaches a realm that is an allowed token realm or a redirect host', async () => {
    challengeWith(`http://localhost:${realm.port}/token`);
    await publicClient({ allowedTokenRealms: ['localhost'] }).getManifest('app', 'v1');
    await publicClient({ redirectHosts: ['localhost'] }).getManifest('app', 'v1');
    expect(realm.hits).toHaveLength(2);
  });
});
