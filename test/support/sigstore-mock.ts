/**
 * Test harness: an offline Sigstore — @sigstore/mock's Fulcio, Rekor (v1) and TSA handlers served by a plain
 * node:http server on a random loopback port — plus the TrustedRoot JSON built from the same keys, and a way to mint
 * identity tokens (unsigned JWTs: the mock Fulcio reads the claims without checking a signature).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

// @sigstore/mock is a dev dependency of @tollgate/core; resolve it from there.
const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url));
type Handler = { path: string; fn: (body: string) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }> };
const mock = requireFromCore('@sigstore/mock') as {
  initializeCA(keys: KeyPair, ctlog: unknown): Promise<{ rootCertificate: ArrayBufferView }>;
  initializeCTLog(keys: KeyPair): Promise<{ publicKey: Buffer; logID: ArrayBufferView }>;
  initializeTLog(url: string, keys: KeyPair): Promise<unknown>;
  initializeTSA(keys: KeyPair): Promise<{ rootCertificate: ArrayBufferView; intCertificate: ArrayBufferView }>;
  fulcioHandler(ca: unknown): Handler;
  rekorHandler(tlog: unknown): Handler;
  tsaHandler(tsa: unknown): Handler;
};
const { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler } = mock;

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };

export interface SigstoreMock {
  /** `http://127.0.0.1:<port>`: Fulcio, Rekor and the TSA all answer here (their own API paths). */
  url: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string;
  /** The OIDC issuer the mock Fulcio records (the token's `iss`). */
  issuer: string;
  /** TrustedRoot JSON (cosign/sigstore-go `trusted_root.json` format) for this instance. */
  trustedRootJson: string;
  /** An identity token for `subject` (the certificate SAN), issued by `issuer` unless overridden; `claims` replace or add claims (`aud`, `exp` …). */
  mintToken(subject: string, issuer?: string, claims?: Record<string, unknown>): string;
  /** Requests served, by path. */
  requests: Map<string, number>;
  stop(): Promise<void>;
}

const DEFAULT_ISSUER = 'https://oidc.tollgate.test';

function keyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function b64(bytes: ArrayBufferView | Buffer): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export async function startSigstoreMock(): Promise<SigstoreMock> {
  const handlers = new Map<string, (body: string) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }>>();
  const requests = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      requests.set(path, (requests.get(path) ?? 0) + 1);
      const handler = req.method === 'POST' ? handlers.get(path) : undefined;
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      handler(Buffer.concat(chunks).toString('utf8')).then(
        ({ statusCode, response, contentType }) => {
          const body = typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength);
          res.writeHead(statusCode, { 'content-type': contentType ?? 'application/json' }).end(body);
        },
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const caKeys = keyPair();
  const ctKeys = keyPair();
  const tlogKeys = keyPair();
  const tsaKeys = keyPair();
  const ctlog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(caKeys, ctlog);
  const tlog = await initializeTLog(url, tlogKeys);
  const tsa = await initializeTSA(tsaKeys);
  // The mock TSA writes genTime with trimmed milliseconds, which verifiers reject now and then: whole seconds only.
  (tsa as unknown as { getCurrentTime: () => Date }).getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  for (const handler of [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)]) handlers.set(handler.path, handler.fn);

  const start = new Date(Date.now() - 3600_000).toISOString();
  const tlogSpki = spki(tlogKeys.publicKey);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: tlogSpki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: createHash('sha256').update(tlogSpki).digest('base64') },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: url,
      certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(ctlog.logID) },
    }],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: url,
      certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
      validFor: { start },
    }],
  };

  return {
    url,
    fulcioUrl: url,
    rekorUrl: url,
    tsaUrl: url,
    issuer: DEFAULT_ISSUER,
    trustedRootJson: JSON.stringify(trustedRoot),
    mintToken(subject: string, issuer = DEFAULT_ISSUER, claims: Record<string, unknown> = {}): string {
      const now = Math.floor(Date.now() / 1000);
      return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: issuer, sub: subject, aud: 'sigstore', iat: now, exp: now + 600, ...claims })}.`;
    },
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
