import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, isTollgateError, RegistryClient } from '@tollgate/core';
import { pushOciLayout, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { buildUmociImage, layoutPath } from './image-fixture.js';

const creds = { username: 'alice', password: 'correct horse:battery' };
let registry: RunningRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: creds });
  dir = await mkdtemp(join(tmpdir(), 'tollgate-basic-auth-'));
  await buildUmociImage(dir, 'v1', { 'a.txt': 'basic auth image' });
  await pushOciLayout(layoutPath(dir), 'v1', registry.host, 'secret/app:v1', creds);
});

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error & { code: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isTollgateError(error), String(error)).toBe(true);
  return error as Error & { code: string };
}

const noConfig = () => join(dir, 'no-such-config.json');

describe('RegistryClient against docker-registry with htpasswd (Basic)', () => {
  it('works with the right password, sent as Basic after the 401', async () => {
    const client = new RegistryClient(registry.host, { credentials: creds, dockerConfigPath: noConfig() });
    await client.ping();
    const manifest = await client.getManifest('secret/app', 'v1');
    expect(manifest.digest).toBe(await skopeoInspectDigest(`${registry.host}/secret/app:v1`, creds));
    const blob = Buffer.from('pushed with basic auth');
    await client.pushBlob('secret/app', blob, digestOf(blob), blob.length);
    expect(await client.headBlob('secret/app', digestOf(blob))).toEqual({ size: blob.length });
  });

  it('says UNAUTHORIZED for a wrong password, without the password in the message', async () => {
    const client = new RegistryClient(registry.host, { credentials: { username: 'alice', password: 'wrong-secret' }, dockerConfigPath: noConfig() });
    const error = await failure(client.getManifest('secret/app', 'v1'));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toContain(`${registry.host}/secret/app:v1`);
    expect(error.message).toMatch(/check the username and password/);
    expect(error.message).not.toContain('wrong-secret');
    expect(JSON.stringify(error)).not.toContain('wrong-secret');
    expect((await failure(client.ping())).code).toBe('UNAUTHORIZED');
  });

  it('says credentials are needed when none are configured', async () => {
    const client = new RegistryClient(registry.host, { dockerConfigPath: noConfig() });
    const error = await failure(client.getManifest('secret/app', 'v1'));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(/no credentials were found; run docker login/);
  });

  it('takes credentials from a docker config auths entry, in any key spelling', async () => {
    for (const key of [registry.host, `http://${registry.host}`, `https://${registry.host}/v1/`]) {
      const config = join(dir, 'config.json');
      const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      await writeFile(config, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: 'eDp5' }, [key]: { auth } } }));
      const client = new RegistryClient(registry.host, { dockerConfigPath: config });
      expect((await client.getManifest('secret/app', 'v1')).digest).toMatch(/^sha256:/);
    }
  });

  it('takes credentials from a credential helper found on PATH', async () => {
    const bin = join(dir, 'bin');
    await rm(bin, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(bin));
    const helper = join(bin, 'docker-credential-tollgatetest');
    const log = join(dir, 'helper-stdin.txt');
    await writeFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > ${JSON.stringify(log)}\nprintf '%s' '${JSON.stringify({ ServerURL: registry.host, Username: creds.username, Secret: creds.password })}'\n`,
    );
    await chmod(helper, 0o755);
    const config = join(dir, 'helper-config.json');
    await writeFile(config, JSON.stringify({ auths: {}, credHelpers: { [registry.host]: 'tollgatetest' } }));
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}${delimiter}${oldPath ?? ''}`;
    try {
      const client = new RegistryClient(registry.host, { dockerConfigPath: config });
      expect((await client.getManifest('secret/app', 'v1')).digest).toMatch(/^sha256:/);
      const { readFile } = await import('node:fs/promises');
      expect(await readFile(log, 'utf8')).toBe(registry.host);
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
