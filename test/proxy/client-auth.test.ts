/**
 * Client access to the proxy: htpasswd (bcrypt, written by the real `htpasswd -B`) Basic auth and the Bearer token
 * flow, both exercised by skopeo itself, per-repository access rules, hostile tokens, and an audit trail that names
 * the user and never carries a credential.
 */
import { execFile } from 'node:child_process';
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { skopeo } from './support/skopeo.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const execFileAsync = promisify(execFile);

let work: string;
let registry: RunningRegistry;
let app: PushedImage;
let secret: PushedImage;
let basic: RunningProxy;
let token: RunningProxy;
let htpasswd: string;

const ALICE = 'correct horse battery staple';
const BOB = 'b0b-pa55:with-colon';

function access() {
  return [
    { repositories: ['lab/team/app'], users: ['alice', 'bob'] },
    { repositories: ['lab/team/secret*'], users: ['alice'] },
  ];
}

function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function pull(proxy: RunningProxy, ref: string, creds: string | undefined, dir: string) {
  return skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', ...(creds !== undefined ? ['--src-creds', creds] : ['--src-no-creds']), `docker://${proxy.host}/${ref}`, `oci:${join(work, dir)}:pulled`]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-auth-'));
  htpasswd = join(work, 'htpasswd');
  await execFileAsync('htpasswd', ['-Bbc', htpasswd, 'alice', ALICE]);
  await execFileAsync('htpasswd', ['-Bb', htpasswd, 'bob', BOB]);
  registry = await startRegistry();
  app = await pushRawImage(registry.host, 'team/app', '1', [4096]);
  secret = await pushRawImage(registry.host, 'team/secret', '1', [4096]);
  const gate = allowListGate({ 'lab/team/app': [app.digest], 'lab/team/secret': [secret.digest] });
  const upstreams = [{ name: 'lab', url: registry.url, default: true }];
  basic = await startProxy({ gate, upstreams, extra: { auth: { mode: 'htpasswd', htpasswd, access: access() }, audit: { file: join(work, 'basic-audit.jsonl') } } });
  token = await startProxy({ gate, upstreams, extra: { auth: { mode: 'token', htpasswd, token: { ttlSeconds: 120 }, access: access() }, audit: { file: join(work, 'token-audit.jsonl') } } });
});

afterAll(async () => {
  await basic?.stop();
  await token?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('htpasswd (Basic)', () => {
  it('challenges an anonymous client with Basic, as distribution does', async () => {
    const response = await fetchAll(`${basic.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="tollgate"');
    expect(JSON.parse(response.body.toString()).errors[0].code).toBe('UNAUTHORIZED');
    const authed = await fetchAll(`${basic.url}/v2/`, { headers: { authorization: basicHeader('alice', ALICE) } });
    expect(authed.status).toBe(200);
  });

  it('skopeo with the right password pulls; the audit event names the user, never the password', async () => {
    const result = await pull(basic, 'team/app:1', `alice:${ALICE}`, 'basic-ok');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const events = await basic.proxy.core.meta.listAudit(20);
    const verdict = events.find((e) => e.type === 'verdict' && e.repository === 'team/app');
    expect(verdict).toMatchObject({ identity: 'alice', client: '127.0.0.1', upstream: 'lab', verdict: 'allow', digest: app.digest, rule: 'digest-pin' });
    expect(typeof verdict!.time).toBe('string');
    const file = await readFile(join(work, 'basic-audit.jsonl'), 'utf8');
    expect(file).toContain('"identity":"alice"');
    expect(file).not.toContain(ALICE);
    expect(file).not.toContain(Buffer.from(`alice:${ALICE}`).toString('base64'));
  });

  it('skopeo with a wrong password or no credentials fails unauthorized', async () => {
    const wrong = await pull(basic, 'team/app:1', 'alice:not-it', 'basic-wrong');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|authentication required/i);
    const none = await pull(basic, 'team/app:1', undefined, 'basic-none');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/unauthorized|authentication required/i);
    const unknownUser = await fetchAll(`${basic.url}/v2/team/app/manifests/1`, { headers: { authorization: basicHeader('mallory', ALICE) } });
    expect(unknownUser.status).toBe(401);
    const file = await readFile(join(work, 'basic-audit.jsonl'), 'utf8');
    expect(file).toContain('"type":"access"');
    expect(file).not.toContain('not-it');
  });

  it('a user the access rules do not name for a repository is DENIED, and nothing is fetched for it', async () => {
    const result = await pull(basic, 'team/secret:1', `bob:${BOB}`, 'basic-bob');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/denied/i);
    const direct = await fetchAll(`${basic.url}/v2/team/secret/manifests/1`, { headers: { authorization: basicHeader('bob', BOB), accept: MANIFEST_ACCEPT } });
    expect(direct.status).toBe(403);
    expect(JSON.parse(direct.body.toString()).errors[0].code).toBe('DENIED');
    expect(await basic.proxy.core.meta.getTag('lab', 'team/secret', '1')).toBeUndefined();
    const alice = await pull(basic, 'team/secret:1', `alice:${ALICE}`, 'basic-alice-secret');
    expect(alice.code).toBe(0);
  });

  it('push stays UNSUPPORTED whoever asks', async () => {
    const response = await fetchAll(`${basic.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: basicHeader('alice', ALICE) } });
    expect(response.status).toBe(405);
    expect(JSON.parse(response.body.toString()).errors[0].code).toBe('UNSUPPORTED');
  });
});

describe('token flow (Bearer)', () => {
  async function getToken(scope: string, user = 'alice', password = ALICE) {
    const url = `${token.url}/token?service=tollgate&scope=${encodeURIComponent(scope)}`;
    return fetchAll(url, { headers: { authorization: basicHeader(user, password) } });
  }

  async function signingKey() {
    const pem = await readFile(join(token.dataDir, 'auth', 'token-signing-key.pem'), 'utf8');
    return createPrivateKey(pem);
  }

  function claims(over: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000);
    return { iss: 'tollgate', sub: 'alice', aud: 'tollgate', iat: now, nbf: now, exp: now + 60, jti: 'x', access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }], ...over };
  }

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  /** An ES256 JWS made with node:crypto (an implementation independent of the proxy's jose). */
  async function sign(payload: Record<string, unknown>, key?: KeyObject) {
    const input = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(payload)}`;
    const signature = cryptoSign('sha256', Buffer.from(input), { key: key ?? (await signingKey()), dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  function manifestWith(bearer: string, repo = 'team/app') {
    return fetchAll(`${token.url}/v2/${repo}/manifests/1`, { headers: { authorization: `Bearer ${bearer}`, accept: MANIFEST_ACCEPT } });
  }

  it('GET /v2/ answers 401 with the Bearer challenge pointing at the proxy\'s /token', async () => {
    const response = await fetchAll(`${token.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${token.url}/token",service="tollgate"`);
    const named = await fetchAll(`${token.url}/v2/team/app/manifests/1`);
    expect(named.headers.get('www-authenticate')).toBe(`Bearer realm="${token.url}/token",service="tollgate",scope="repository:team/app:pull"`);
  });

  it('issues a short-lived ES256 token scoped to the repository and pull, and accepts it', async () => {
    const response = await getToken('repository:team/app:pull,push');
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body.toString()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(120);
    expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
    const [header, payload] = body.token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header.alg).toBe('ES256');
    expect(payload).toMatchObject({ iss: 'tollgate', sub: 'alice', aud: 'tollgate', access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] });
    expect(payload.exp - payload.iat).toBe(120);
    expect(typeof payload.jti).toBe('string');
    expect((await manifestWith(body.token)).status).toBe(200);
    const mode = (await import('node:fs/promises')).stat(join(token.dataDir, 'auth', 'token-signing-key.pem'));
    expect((await mode).mode & 0o777).toBe(0o600);
  });

  it('refuses a token request with a wrong password, and grants nothing on a repository the user may not pull', async () => {
    expect((await getToken('repository:team/app:pull', 'alice', 'wrong')).status).toBe(401);
    const bob = JSON.parse((await getToken('repository:team/secret:pull', 'bob', BOB)).body.toString()) as { token: string };
    const payload = JSON.parse(Buffer.from(bob.token.split('.')[1]!, 'base64url').toString());
    expect(payload.access).toEqual([{ type: 'repository', name: 'team/secret', actions: [] }]);
    const response = await manifestWith(bob.token, 'team/secret');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('skopeo performs the token flow itself: alice pulls, bob is refused on the secret repository', async () => {
    const ok = await pull(token, 'team/app:1', `alice:${ALICE}`, 'token-ok');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const bob = await pull(token, 'team/secret:1', `bob:${BOB}`, 'token-bob');
    expect(bob.code).not.toBe(0);
    expect(bob.stderr).toMatch(/unauthorized|authentication required|denied/i);
    const wrong = await pull(token, 'team/app:1', 'alice:wrong', 'token-wrong');
    expect(wrong.code).not.toBe(0);
    const events = await token.proxy.core.meta.listAudit(50);
    expect(events.some((e) => e.type === 'verdict' && e.identity === 'alice' && e.repository === 'team/app')).toBe(true);
    const file = await readFile(join(work, 'token-audit.jsonl'), 'utf8');
    expect(file).not.toContain(ALICE);
    expect(file).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT
  });

  it('refuses hostile tokens with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await readFile(join(token.dataDir, 'auth', 'token-signing-key.pem'), 'utf8');
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}`;
    const good = await sign(claims());
    expect((await manifestWith(good)).status).toBe(200);
    const [h, p] = good.split('.');
    const hostile: Record<string, string> = {
      expired: await sign(claims({ iat: now - 600, nbf: now - 600, exp: now - 300 })),
      'not yet valid': await sign(claims({ nbf: now + 600, exp: now + 900 })),
      'wrong signature': await sign(claims(), other.privateKey),
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`,
      'HS256 keyed with the key file': `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`,
      'wrong audience': await sign(claims({ aud: 'registry.example.com' })),
      'wrong issuer': await sign(claims({ iss: 'someone-else' })),
      'scope for another repository': await sign(claims({ access: [{ type: 'repository', name: 'team/secret', actions: ['pull'] }] })),
      'push only': await sign(claims({ access: [{ type: 'repository', name: 'team/app', actions: ['push'] }] })),
      'no subject': await sign(claims({ sub: undefined })),
      'tampered payload': `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'root' }))).toString('base64url')}.${good.split('.')[2]}`,
      garbage: 'not.a.token',
      oversized: 'a'.repeat(10_000), // over the 8 KiB token bound, under Node's header limit
    };
    for (const [name, bearer] of Object.entries(hostile)) {
      const response = await manifestWith(bearer);
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    }
    // A token with the right scope for the repository, but under the name of a user the rules refuse, is still denied.
    const mallory = await sign(claims({ sub: 'mallory', access: [{ type: 'repository', name: 'team/secret', actions: ['pull'] }] }));
    expect((await manifestWith(mallory, 'team/secret')).status).toBe(403);
  });

  it('Basic credentials are not accepted on /v2 in token mode (only Bearer is)', async () => {
    const response = await fetchAll(`${token.url}/v2/team/app/manifests/1`, { headers: { authorization: basicHeader('alice', ALICE) } });
    expect(response.status).toBe(401);
  });
});
