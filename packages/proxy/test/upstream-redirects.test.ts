/**
 * A registry upstream's blob redirects go only where the egress guard allows (issue 10, item 6): the proxy passes
 * `upstreams[].redirectHosts` to the core client and refusals name that key. The upstream here is the test's own
 * small node:http server, since no real registry redirects on demand; the "CDN" serves the blob bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { normalizeProxyConfig } from '../src/index.js';
import { createUpstream } from '../src/upstream/create-upstream.js';

const blob = randomBytes(4096);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
let upstream: Server;
let cdn: Server;
let upstreamPort: number;
let cdnPort: number;
let location = '';
const cdnHits: IncomingMessage[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === `/v2/app/blobs/${digest}`) res.writeHead(307, { location });
    else res.writeHead(404);
    res.end();
  });
  upstreamPort = await listen(upstream);
  cdn = createServer((req, res) => {
    cdnHits.push(req);
    res.writeHead(200, { 'content-length': String(blob.length) });
    res.end(blob);
  });
  cdnPort = await listen(cdn);
});

afterAll(async () => {
  await close(upstream);
  await close(cdn);
});

function upstreamWith(extra: Record<string, unknown>) {
  const config = normalizeProxyConfig({ dataDir: '/tmp/unused', upstreams: [{ name: 'lab', url: `http://127.0.0.1:${upstreamPort}`, default: true, ...extra }] }, { env: {} });
  return createUpstream(config.upstreams[0]!);
}

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('registry upstream redirects', () => {
  it('refuses a redirect to an address of another kind than the upstream, naming the config key', async () => {
    const lab = upstreamWith({});
    try {
      for (const target of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', `http://0.0.0.0:${cdnPort}/b`]) {
        location = target;
        const error = await lab.getBlob('app', digest, blob.length, new AbortController().signal).then(() => undefined, (e: unknown) => e);
        expect(isTollgateError(error, 'REGISTRY_ERROR'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/refusing the redirect to (169\.254\.169\.254|10\.0\.0\.1|0\.0\.0\.0)/);
        expect((error as Error).message).toContain('add it to upstreams[].redirectHosts of upstream "lab" in the proxy config');
      }
      expect(cdnHits).toHaveLength(0);
    } finally {
      await lab.close();
    }
  });

  it('follows the redirect once the host is listed in redirectHosts', async () => {
    const lab = upstreamWith({ redirectHosts: ['0.0.0.0'] });
    try {
      location = `http://0.0.0.0:${cdnPort}/b`;
      expect((await read(await lab.getBlob('app', digest, blob.length, new AbortController().signal))).equals(blob)).toBe(true);
      expect(cdnHits).toHaveLength(1);
    } finally {
      await lab.close();
    }
  });
});
