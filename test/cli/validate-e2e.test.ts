import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, open, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUmociImage } from '../support/umoci.js';
import { pushOciLayout, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { runCli } from '../support/cli.js';

const exec = promisify(execFile);

/** sha256 of `gzip -dc <file>` computed by the real tools, as the independent check of our diffIDs. */
async function gunzipSha256(file: string): Promise<string> {
  const { stdout } = await exec('bash', ['-c', 'gzip -dc "$1" | sha256sum', 'bash', file]);
  return `sha256:${stdout.split(' ')[0]}`;
}

async function flipByte(file: string, offset?: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const at = offset ?? Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x01;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

function registryBlobPath(registry: RunningRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.storageDirectory, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe('tollgate inspect / validate / digest against a real registry and real tools', () => {
  let work: string;
  let registry: RunningRegistry;
  let authRegistry: RunningRegistry;
  let layout: string;
  const creds = { username: 'alice', password: 's3cret-pass' };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-e2e-'));
    layout = join(work, 'umoci-layout');
    await buildUmociImage(
      layout,
      'v1',
      [
        async (rootfs) => {
          await mkdir(join(rootfs, 'etc'), { recursive: true });
          await writeFile(join(rootfs, 'etc/os-release'), 'ID=e2e\n');
        },
        async (rootfs) => {
          await mkdir(join(rootfs, 'app/bin'), { recursive: true });
          await writeFile(join(rootfs, 'app/bin/run'), '#!/bin/sh\necho run\n');
          await chmod(join(rootfs, 'app/bin/run'), 0o755);
          await writeFile(join(rootfs, 'app/data.bin'), Buffer.alloc(200_000, 7));
        },
      ],
      { config: { user: '1000', entrypoint: ['/app/bin/run'] } },
    );
    [registry, authRegistry] = await Promise.all([startRegistry(), startRegistry({ htpasswd: creds })]);
    await pushOciLayout(layout, 'v1', registry.host, 'e2e/app:v1');
    await pushOciLayout(layout, 'v1', authRegistry.host, 'e2e/app:v1', creds);
  });

  afterAll(async () => {
    await Promise.all([registry?.stop(), authRegistry?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('digest equals what skopeo reports', async () => {
    const result = await runCli(['digest', `${registry.host}/e2e/app:v1`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(await skopeoInspectDigest(`${registry.host}/e2e/app:v1`));
  });

  it('inspect --json shows config and layers whose diffIDs equal gzip -dc | sha256sum', async () => {
    const result = await runCli(['inspect', '--json', `docker://${registry.host}/e2e/app:v1`]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.image.user).toBe('1000');
    expect(report.image.entrypoint).toEqual(['/app/bin/run']);
    expect(report.image.layers).toHaveLength(2);
    for (const layer of report.image.layers) {
      const blob = join(layout, 'blobs/sha256', layer.digest.slice(7));
      expect(layer.diffID).toBe(await gunzipSha256(blob));
    }
  });

  it('validate passes on the pushed image, with diffIDs and file counts computed', async () => {
    const result = await runCli(['validate', '--json', '--no-cache', `${registry.host}/e2e/app:v1`]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    for (const layer of report.layers) {
      expect(layer.diffID).toBe(await gunzipSha256(join(layout, 'blobs/sha256', layer.digest.slice(7))));
      expect(layer.fileCount).toBeGreaterThan(0);
    }
  });

  it('validate uses the layer index cache on a second run and still passes', async () => {
    const data = join(work, 'data');
    const first = await runCli(['validate', '--json', '--data', data, `${registry.host}/e2e/app:v1`]);
    const second = await runCli(['validate', '--json', '--data', data, `${registry.host}/e2e/app:v1`]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const a = JSON.parse(first.stdout);
    const b = JSON.parse(second.stdout);
    expect(a.layers.map((l: { indexCached: boolean }) => l.indexCached)).toEqual([false, false]);
    expect(b.layers.map((l: { indexCached: boolean }) => l.indexCached)).toEqual([true, true]);
    expect(b.layers.map((l: { fileCount: number }) => l.fileCount)).toEqual(a.layers.map((l: { fileCount: number }) => l.fileCount));
  });

  it('needs credentials for the htpasswd registry: exit 2 without, 0 with --creds', async () => {
    const ref = `${authRegistry.host}/e2e/app:v1`;
    const denied = await runCli(['validate', ref], { env: { DOCKER_CONFIG: work } });
    expect(denied.code).toBe(2);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toMatch(/unauthorized|credentials|401/i);
    expect(denied.stderr).not.toContain(creds.password);
    const ok = await runCli(['validate', '--no-cache', '--creds', `${creds.username}:${creds.password}`, ref]);
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(creds.password);
  });

  it('reads credentials from a docker config file (--authfile)', async () => {
    const authfile = join(work, 'auth.json');
    const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    await writeFile(authfile, JSON.stringify({ auths: { [authRegistry.host]: { auth } } }));
    const result = await runCli(['digest', '--authfile', authfile, `${authRegistry.host}/e2e/app:v1`]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('a layer blob altered in the registry storage is caught and named (exit 1)', async () => {
    await pushOciLayout(layout, 'v1', registry.host, 'e2e/victim:v1');
    const report = JSON.parse((await runCli(['inspect', '--json', `${registry.host}/e2e/victim:v1`])).stdout);
    const layer = report.image.layers[1].digest as string;
    // Blobs are shared across repositories in distribution's storage; this test runs last on this registry.
    await flipByte(registryBlobPath(registry, layer));
    const result = await runCli(['validate', '--no-cache', `${registry.host}/e2e/victim:v1`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(layer);
    expect(result.stdout).toMatch(/FAILED/);
  });

  it('validates an OCI layout and a docker-archive written by skopeo', async () => {
    const archive = join(work, 'app.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${archive}:e2e/app:v1`]);
    for (const ref of [`oci:${layout}:v1`, `docker-archive:${archive}`]) {
      const result = await runCli(['validate', '--json', '--no-cache', ref]);
      expect(result.code, `${ref}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout).ok).toBe(true);
    }
  });

  it('a flipped byte in any blob of an OCI layout is caught and named', async () => {
    const report = JSON.parse((await runCli(['inspect', '--json', `oci:${layout}:v1`])).stdout);
    const blobs: string[] = [report.image.config.digest, ...report.image.layers.map((l: { digest: string }) => l.digest)];
    for (const digest of blobs) {
      const copy = join(work, `flip-${digest.slice(7, 19)}`);
      await exec('cp', ['-r', layout, copy]);
      await flipByte(join(copy, 'blobs/sha256', digest.slice(7)));
      const result = await runCli(['validate', '--no-cache', `oci:${copy}:v1`]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toContain(digest);
    }
    // The manifest itself: the index.json descriptor no longer matches, which is a failed check too.
    const copy = join(work, 'flip-manifest');
    await exec('cp', ['-r', layout, copy]);
    await flipByte(join(copy, 'blobs/sha256', report.image.digest.slice(7)));
    const result = await runCli(['validate', `oci:${copy}:v1`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('digest mismatch');
  });

  it.each([
    [['validate', 'Invalid/UPPER:tag'], /lowercase/i],
    [['validate', `${'127.0.0.1'}:1/none/app:v1`], /127\.0\.0\.1:1/],
    [['validate', 'oci:/nonexistent-dir-tollgate:v1'], /nonexistent-dir-tollgate/],
    [['inspect', 'containers-storage:foo'], /docker:\/\/|oci:|docker-archive:/],
    [['validate', '--platform', 'bogus', 'oci:/tmp:v1'], /platform/i],
  ])('bad input %j gives one clear line and exit 2', async (args, message) => {
    const result = await runCli(args as string[]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message as RegExp);
  });

  it('a missing tag is a one-line NOT_FOUND error with exit 2', async () => {
    const result = await runCli(['inspect', `${registry.host}/e2e/app:nope`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not found|unknown/i);
  });

  it('every command has --help, and --version works', async () => {
    for (const args of [['--help'], ['inspect', '--help'], ['validate', '--help'], ['digest', '--help'], ['demo', '--help']]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: tollgate/);
    }
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the demo runs offline and ends as designed', async () => {
    const result = await runCli(['demo']);
    expect(result.code, result.stderr).toBe(0);
    // The demo itself is tested in test/demo/demo.test.ts.
    expect(result.stdout).toContain('the unsigned image and the altered copy were refused');
  });
});

