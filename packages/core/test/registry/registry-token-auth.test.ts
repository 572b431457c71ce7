import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, isTollgateError, RegistryClient } from '@tollgate/core';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { buildUmociImage, layoutPath } from './image-fixture.js';
import { startTokenServer, tokenAuthYaml, type TokenServer } from './token-server.js';

const creds = { username: 'bob', password: 'token-pass' };
let dir: string;
let tokens: TokenServer;
let registry: RunningRegistry;
let digest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-token-auth-'));
  // The realm is on `localhost`, the registry on `127.0.0.1`: a different host as far as credentials go.
  tokens = await startTokenServer(dir, { hostname: 'localhost', users: { bob: creds.password }, refreshTokens: { 'refresh-bob': 'bob' } });
  registry = await startRegistry({ authYaml: tokenAuthYaml(tokens) });
  await buildUmociImage(dir, 'v1', { 't.txt': 'token auth' });
  // skopeo sends credentials to any realm: it seeds the registry for us.
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'team/app:v1', creds);
  digest = (await new RegistryClient(registry.host, { credentials: creds, allowedTokenRealms: [tokens.host] }).getManifest('team/app', 'v1')).digest;
});

afterAll(async () => {
  await registry?.stop();
  await tokens?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const noConfig = () => join(dir, 'none.json');

describe('Bearer token flow against docker-registry with token auth', () => {
  it('fetches a token with Basic credentials from an allowed realm, and caches it per scope', async () => {
    tokens.requests.length = 0;
    const client = new RegistryClient(registry.host, { credentials: creds, allowedTokenRealms: ['localhost'], dockerConfigPath: noConfig() });
    const first = await client.getManifest('team/app', 'v1');
    expect(first.digest).toBe(digest);
    await client.getManifest('team/app', digest);
    await client.headManifest('team/app', 'v1');
    expect(tokens.requests).toHaveLength(1);
    const request = tokens.requests[0]!;
    expect(request.url.searchParams.get('service')).toBe(tokens.service);
    expect(request.url.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`);
  });

  it('asks for push scope when pushing', async () => {
    tokens.requests.length = 0;
    const client = new RegistryClient(registry.host, { credentials: creds, allowedTokenRealms: [tokens.host], dockerConfigPath: noConfig() });
    const blob = Buffer.from('pushed through a bearer token');
    await client.pushBlob('team/app', blob, digestOf(blob), blob.length);
    expect(await client.headBlob('team/app', digestOf(blob))).toEqual({ size: blob.length });
    expect(tokens.requests.some((r) => r.url.searchParams.getAll('scope').includes('repository:team/app:pull,push'))).toBe(true);
  });

  it('uses the OAuth2 refresh-token form for an identity token', async () => {
    tokens.requests.length = 0;
    const client = new RegistryClient(registry.host, { credentials: { identityToken: 'refresh-bob' }, allowedTokenRealms: ['localhost'], dockerConfigPath: noConfig() });
    expect((await client.getManifest('team/app', 'v1')).digest).toBe(digest);
    const post = tokens.requests.find((r) => r.method === 'POST')!;
    expect(post.form?.get('grant_type')).toBe('refresh_token');
    expect(post.form?.get('refresh_token')).toBe('refresh-bob');
    expect(post.form?.get('scope')).toBe('repository:team/app:pull');
    expect(post.headers.authorization).toBeUndefined();
  });

  it('never sends credentials to a realm on another host that was not allowed', async () => {
    tokens.requests.length = 0;
    const debug: string[] = [];
    const client = new RegistryClient(registry.host, { credentials: creds, dockerConfigPath: noConfig(), debug: (m) => debug.push(m) });
    const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(isTollgateError(error, 'UNAUTHORIZED')).toBe(true);
    expect(tokens.requests.length).toBeGreaterThan(0);
    for (const request of tokens.requests) expect(request.headers.authorization).toBeUndefined();
    expect(debug.some((m) => m.includes('anonymously'))).toBe(true);
    for (const m of [...debug, (error as Error).message]) {
      expect(m).not.toContain(creds.password);
      expect(m).not.toContain(Buffer.from(`${creds.username}:${creds.password}`).toString('base64'));
    }
    expect((error as Error).message).toMatch(/not the registry host/);
  });

  it('says UNAUTHORIZED when the token service refuses the credentials', async () => {
    const client = new RegistryClient(registry.host, { credentials: { username: 'bob', password: 'nope-wrong' }, allowedTokenRealms: ['localhost'], dockerConfigPath: noConfig() });
    const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(isTollgateError(error, 'UNAUTHORIZED')).toBe(true);
    expect((error as Error).message).toContain(`${registry.host}/team/app:v1`);
    expect((error as Error).message).not.toContain('nope-wrong');
  });

  it('without credentials gets an anonymous token the registry refuses: UNAUTHORIZED saying to log in', async () => {
    const client = new RegistryClient(registry.host, { dockerConfigPath: noConfig() });
    const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(isTollgateError(error, 'UNAUTHORIZED')).toBe(true);
    expect((error as Error).message).toMatch(/docker login/);
  });
});
