/**
 * A minimal Docker token service (the test's own server) issuing JWTs that the real docker-registry verifies:
 * ES256, signed with a self-made P-256 key whose self-signed certificate is the registry's rootcertbundle and is
 * sent in the `x5c` header, as distribution 2.8 expects.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeServer, listen } from './fault-proxy.js';

const run = promisify(execFile);

export interface TokenRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  form?: URLSearchParams;
}

export interface TokenServer {
  /** e.g. `http://localhost:1234/token` */
  realm: string;
  host: string;
  certPath: string;
  service: string;
  issuer: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function jwt(key: KeyObject, certDer: Buffer, claims: object): string {
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64url(signature)}`;
}

export async function startTokenServer(dir: string, options: {
  hostname: string;
  users: Record<string, string>;
  refreshTokens?: Record<string, string>;
}): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=tollgate-test-token-issuer']);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = 'tollgate-test-registry';
  const issuer = 'tollgate-test-issuer';
  const requests: TokenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://token');
      const body = Buffer.concat(chunks).toString();
      const form = req.method === 'POST' ? new URLSearchParams(body) : undefined;
      requests.push({ method: req.method ?? '', url, headers: req.headers, ...(form ? { form } : {}) });
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const decoded = Buffer.from(auth.slice(6), 'base64').toString();
        const colon = decoded.indexOf(':');
        const name = decoded.slice(0, colon);
        if (options.users[name] === decoded.slice(colon + 1)) user = name;
        else {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"details":"bad credentials"}');
          return;
        }
      }
      if (form !== undefined) {
        const refresh = form.get('refresh_token') ?? '';
        user = options.refreshTokens?.[refresh];
        if (form.get('grant_type') !== 'refresh_token' || user === undefined) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"error":"invalid_grant"}');
          return;
        }
      }
      const scopes = form !== undefined ? (form.get('scope') ?? '').split(' ').filter(Boolean) : url.searchParams.getAll('scope');
      // Anonymous callers get no access at all; authenticated users get what they ask for.
      const access = user === undefined
        ? []
        : scopes.map((s) => {
            const [type, name, actions] = s.split(':');
            return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
          });
      const now = Math.floor(Date.now() / 1000);
      const token = jwt(key, certDer, { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 5, iat: now, jti: randomUUID(), access });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(form !== undefined ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
    });
  });
  const port = await listen(server);
  return {
    realm: `http://${options.hostname}:${port}/token`,
    host: `${options.hostname}:${port}`,
    certPath,
    service,
    issuer,
    requests,
    close: () => closeServer(server),
  };
}

export function tokenAuthYaml(server: TokenServer): string {
  return [
    '  token:',
    `    realm: ${JSON.stringify(server.realm)}`,
    `    service: ${JSON.stringify(server.service)}`,
    `    issuer: ${JSON.stringify(server.issuer)}`,
    `    rootcertbundle: ${JSON.stringify(server.certPath)}`,
  ].join('\n');
}
