import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromDockerConfig, defaultDockerConfigPath, isTollgateError, runCredentialHelper } from '@tollgate/core';
import { normaliseServerKey } from '../../src/registry/credentials/server-key.js';

let dir: string;
let bin: string;
let oldPath: string | undefined;

async function helper(name: string, script: string): Promise<void> {
  const file = join(bin, `docker-credential-${name}`);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

async function config(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

async function code(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isTollgateError(error), String(error)).toBe(true);
  expect((error as Error).message).not.toContain('\n');
  return (error as { code: string }).code;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-creds-'));
  bin = join(dir, 'bin');
  await mkdir(bin);
  oldPath = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${oldPath ?? ''}`;
  await helper('good', `[ "$1" = get ] || exit 3\nread url\nprintf '{"ServerURL":"%s","Username":"u-%s","Secret":"s3cr:et"}' "$url" "$url"`);
  await helper('token', `cat >/dev/null\nprintf '{"ServerURL":"x","Username":"<token>","Secret":"refresh-123"}'`);
  await helper('missing', `cat >/dev/null\necho "credentials not found in native keychain"\nexit 1`);
  await helper('broken', `cat >/dev/null\necho "boom" >&2\nexit 7`);
  await helper('garbage', `cat >/dev/null\necho "not json"`);
  await helper('huge', `cat >/dev/null\nhead -c 200000 /dev/zero | tr '\\\\0' a`);
});

afterAll(async () => {
  process.env.PATH = oldPath;
  await rm(dir, { recursive: true, force: true });
});

describe('docker config credentials', () => {
  it('normalises server keys', () => {
    expect(normaliseServerKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseServerKey('index.docker.io')).toBe('docker.io');
    expect(normaliseServerKey('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseServerKey('http://Reg.Example.com:5000/v2/')).toBe('reg.example.com:5000');
    expect(normaliseServerKey('reg.example.com:5000')).toBe('reg.example.com:5000');
    expect(normaliseServerKey('')).toBeUndefined();
    expect(normaliseServerKey('https://')).toBeUndefined();
  });

  it('reads base64 auth (splitting on the first colon) and identity tokens', async () => {
    const path = await config('auths.json', {
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:pa:ss').toString('base64') },
        'reg.example.com': { auth: '', identitytoken: 'id-token-1' },
        'https://other.example:5000': { username: 'plain', password: 'pw' },
      },
    });
    expect(await credentialsFromDockerConfig('docker.io', path)).toEqual({ username: 'hubuser', password: 'pa:ss' });
    expect(await credentialsFromDockerConfig('index.docker.io', path)).toEqual({ username: 'hubuser', password: 'pa:ss' });
    expect(await credentialsFromDockerConfig('reg.example.com', path)).toEqual({ identityToken: 'id-token-1' });
    expect(await credentialsFromDockerConfig('other.example:5000', path)).toEqual({ username: 'plain', password: 'pw' });
    expect(await credentialsFromDockerConfig('nowhere.example', path)).toBeUndefined();
  });

  it('is quiet about a missing file and clear about a broken one', async () => {
    expect(await credentialsFromDockerConfig('docker.io', join(dir, 'absent.json'))).toBeUndefined();
    expect(await code(credentialsFromDockerConfig('docker.io', await config('bad.json', '{not json')))).toBe('CREDENTIALS');
    expect(await code(credentialsFromDockerConfig('docker.io', await config('array.json', '[1]')))).toBe('CREDENTIALS');
    const noColon = await config('nocolon.json', { auths: { 'docker.io': { auth: Buffer.from('justuser').toString('base64') } } });
    const error = await credentialsFromDockerConfig('docker.io', noColon).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('CREDENTIALS');
    expect((error as Error).message).not.toContain('justuser');
    const big = join(dir, 'big.json');
    await writeFile(big, Buffer.alloc(4 * 1024 * 1024 + 1, 32));
    expect(await code(credentialsFromDockerConfig('docker.io', big))).toBe('CREDENTIALS');
  });

  it('uses credHelpers per registry, then credsStore, passing the server URL on stdin', async () => {
    const path = await config('helpers.json', { credsStore: 'good', credHelpers: { 'tok.example': 'token', 'gone.example': 'missing' }, auths: { 'gone.example': { auth: Buffer.from('fb:pw').toString('base64') } } });
    expect(await credentialsFromDockerConfig('reg.example.com', path)).toEqual({ username: 'u-reg.example.com', password: 's3cr:et' });
    expect(await credentialsFromDockerConfig('docker.io', path)).toEqual({ username: 'u-https://index.docker.io/v1/', password: 's3cr:et' });
    expect(await credentialsFromDockerConfig('tok.example', path)).toEqual({ identityToken: 'refresh-123' });
    // the helper has nothing: fall back to the auths entry
    expect(await credentialsFromDockerConfig('gone.example', path)).toEqual({ username: 'fb', password: 'pw' });
  });

  it('fails clearly when a helper is missing, fails, prints garbage or too much, or is misnamed', async () => {
    expect(await code(runCredentialHelper('nonexistent-helper', 'x'))).toBe('CREDENTIALS');
    const missing = await runCredentialHelper('nonexistent-helper', 'x').catch((e: Error) => e.message);
    expect(missing).toMatch(/docker-credential-nonexistent-helper was not found on PATH/);
    expect(await runCredentialHelper('missing', 'x')).toBeUndefined();
    expect(await code(runCredentialHelper('broken', 'x'))).toBe('CREDENTIALS');
    expect(await code(runCredentialHelper('garbage', 'x'))).toBe('CREDENTIALS');
    expect(await code(runCredentialHelper('huge', 'x'))).toBe('CREDENTIALS');
    expect(await code(runCredentialHelper('../../bin/sh', 'x'))).toBe('CREDENTIALS');
    const path = await config('misnamed.json', { credsStore: 'a b' });
    expect(await code(credentialsFromDockerConfig('x.example', path))).toBe('CREDENTIALS');
  });

  it('kills a helper that hangs', async () => {
    await helper('hang', 'sleep 30');
    expect(await code(runCredentialHelper('hang', 'x', { timeoutMs: 200 }))).toBe('CREDENTIALS');
  });

  it('finds the default config path from DOCKER_CONFIG', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/cfg' })).toBe('/cfg/config.json');
    expect(defaultDockerConfigPath({})).toMatch(/\.docker\/config\.json$/);
  });
});
