/**
 * `tollgate diff` end to end: the built CLI against images made by umoci, served by a real docker-registry and
 * exported by skopeo to a docker-archive, so every source kind meets every other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFile, chmod, cp, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildUmociImage, umoci } from '../support/umoci.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { runCli } from '../support/cli.js';

const exec = promisify(execFile);

describe('tollgate diff (built CLI, real registry, skopeo, umoci)', () => {
  let work: string;
  let layout: string;
  let archive: string;
  let registry: RunningRegistry;
  let data: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-diff-e2e-'));
    layout = join(work, 'layout');
    data = join(work, 'data');
    await buildUmociImage(layout, 'v1', [
      async (root) => {
        await mkdir(join(root, 'etc'), { recursive: true });
        await writeFile(join(root, 'etc/app.conf'), 'port=80\n');
        await writeFile(join(root, 'etc/old'), 'old\n');
        await mkdir(join(root, 'usr/bin'), { recursive: true });
        await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
        await chmod(join(root, 'usr/bin/tool'), 0o755);
      },
    ], { config: { user: '1000', env: ['PATH=/usr/bin'] } });
    await umoci(['tag', '--image', `${layout}:v1`, 'v2']);
    const bundle = join(work, 'bundle');
    await umoci(['unpack', '--rootless', '--image', `${layout}:v2`, bundle]);
    const root = join(bundle, 'rootfs');
    await appendFile(join(root, 'etc/app.conf'), 'debug=1\n');
    await chmod(join(root, 'etc/app.conf'), 0o755);
    await rm(join(root, 'etc/old'));
    await chmod(join(root, 'usr/bin/tool'), 0o4755);
    await writeFile(join(root, 'zeros'), Buffer.alloc(4 * 1024 * 1024));
    await umoci(['repack', '--image', `${layout}:v2`, bundle]);
    await umoci(['config', '--image', `${layout}:v2`, '--config.user', 'root']);
    registry = await startRegistry();
    await pushOciLayout(layout, 'v2', registry.host, 'e2e/app:v2');
    archive = join(work, 'v1.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${archive}:e2e/app:v1`]);
  });

  afterAll(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('exit 0 and "Identical." for the same image', async () => {
    const result = await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v1`, '--data', data]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Files: +0 added, 0 removed, 0 modified/);
    expect(result.stdout.trim().endsWith('Identical.')).toBe(true);
  });

  it('docker-archive vs registry: exit 1, summary, flagged items first, then the changed paths', async () => {
    const result = await runCli(['diff', `docker-archive:${archive}`, `${registry.host}/e2e/app:v2`, '--data', data]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toMatch(/Files: +1 added, 1 removed, 2 modified/);
    expect(out).toMatch(/Layers: +1 shared, 1 added, 0 removed, 0 reordered, 1 recompressed/);
    expect(out).toMatch(/Flagged: +2 security-relevant changes/);
    const start = out.indexOf('\nFiles:\n') + 1;
    const files = out.slice(start, out.indexOf('\n\n', start));
    const rows = files.split('\n').filter((l) => /^ {2}[+~-] /.test(l)).map((l) => l.trim().replace(/\s+/g, ' '));
    expect(rows).toEqual([
      '~ /usr/bin/tool mode 0755→4755 [setuid-added]',
      '~ /etc/app.conf content 8 B→16 B, mode 0644→0755',
      '- /etc/old file 0644 0:0 4 B',
      '+ /zeros file 0644 0:0 4.0 MiB',
    ]);
    expect(out.indexOf('Flagged:\n')).toBeLessThan(out.indexOf('\nFiles:\n'));
    expect(out).toMatch(/config\.User +"1000" → "root" +\[user-root\]/);
    expect(out.trim().endsWith('Different.')).toBe(true);
  });

  it('--json prints the documented schema with before/after values', async () => {
    const result = await runCli(['diff', `oci:${layout}:v1`, `${registry.host}/e2e/app:v2`, '--json', '--data', data]);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout);
    expect(Object.keys(diff)).toEqual(['schemaVersion', 'identical', 'a', 'b', 'options', 'summary', 'files', 'config', 'layers', 'manifest', 'flagged', 'unsafe', 'stats']);
    expect(diff.schemaVersion).toBe(1);
    expect(diff.identical).toBe(false);
    expect(diff.a).toMatchObject({ reference: `oci:${layout}:v1`, platform: 'linux/amd64', layers: 1 });
    expect(diff.files.map((f: { kind: string; path: string; changes: string[] }) => `${f.kind} ${f.path} ${f.changes.join(',')}`)).toEqual([
      'modified /etc/app.conf content,mode',
      'removed /etc/old ',
      'modified /usr/bin/tool special-bits',
      'added /zeros ',
    ]);
    const conf = diff.files[0];
    expect(conf.before).toMatchObject({ type: 'file', mode: '0644', size: 8 });
    expect(conf.after).toMatchObject({ type: 'file', mode: '0755', size: 16 });
    expect(conf.before.sha256).not.toBe(conf.after.sha256);
    expect(diff.config).toEqual([
      { field: 'config.User', before: '1000', after: 'root', flags: ['user-root'] },
      expect.objectContaining({ field: 'history' }),
    ]);
    expect(diff.flagged).toEqual([
      { section: 'files', target: '/usr/bin/tool', flags: ['setuid-added'] },
      { section: 'config', target: 'config.User', flags: ['user-root'] },
    ]);
    expect(diff.layers.shared).toHaveLength(1);
    expect(diff.layers.added).toHaveLength(1);
  });

  it('--ignore, --only and --semantic', async () => {
    const ignored = JSON.parse((await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--json', '--no-cache', '--ignore', '/etc/**', '--ignore', 'zeros'])).stdout);
    expect(ignored.files.map((f: { path: string }) => f.path)).toEqual(['/usr/bin/tool']);
    const config = await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--json', '--no-cache', '--only', 'config']);
    expect(config.code).toBe(1);
    const parsed = JSON.parse(config.stdout);
    expect(parsed.files).toEqual([]);
    expect(parsed.options.only).toEqual(['config']);
    expect(parsed.stats.layersIndexed).toBe(0);
    // The same image from a docker-archive: layers stored uncompressed (recompressed), Docker media types.
    const plain = await runCli(['diff', `oci:${layout}:v1`, `docker-archive:${archive}`, '--no-cache']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/1 recompressed/);
    const semantic = await runCli(['diff', `oci:${layout}:v1`, `docker-archive:${archive}`, '--no-cache', '--semantic']);
    expect(semantic.stderr).toBe('');
    expect(semantic.code).toBe(0);
    expect(semantic.stdout).toContain('Identical.');
  });

  it('the index cache makes the second run read no layer', async () => {
    const dataDir = join(work, 'data-cache');
    const first = JSON.parse((await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--json', '--data', dataDir])).stdout);
    const second = JSON.parse((await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--json', '--data', dataDir])).stdout);
    expect(first.stats).toMatchObject({ layersIndexed: 2, layersFromCache: 0 });
    expect(second.stats).toMatchObject({ layersIndexed: 2, layersFromCache: 2, bytesRead: 0 });
    expect(second.files).toEqual(first.files);
  });

  it('exit 2 with a clear error: a corrupted layer, a decompression limit, bad usage, a missing image', async () => {
    const broken = join(work, 'broken');
    await cp(layout, broken, { recursive: true });
    const blobs = join(broken, 'blobs', 'sha256');
    let biggest = '';
    let size = 0;
    for (const name of await readdir(blobs)) {
      const s = (await stat(join(blobs, name))).size;
      if (s > size) [biggest, size] = [name, s];
    }
    const handle = await open(join(blobs, biggest), 'r+');
    await handle.write(Buffer.from([0x42]), 0, 1, Math.floor(size / 2));
    await handle.close();
    const corrupt = await runCli(['diff', `oci:${layout}:v1`, `oci:${broken}:v2`, '--no-cache']);
    expect(corrupt.code).toBe(2);
    expect(corrupt.stdout).toBe('');
    expect(corrupt.stderr).toMatch(new RegExp(`^Error: layer sha256:${biggest}`));

    const bomb = await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--no-cache', '--max-compression-ratio', '2']);
    expect(bomb.code).toBe(2);
    expect(bomb.stderr).toMatch(/compression ratio above 2 .*maxCompressionRatio/);

    const usage = await runCli(['diff', `oci:${layout}:v1`, `oci:${layout}:v2`, '--only', 'nope']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--only takes files, config, layers/);
    expect((await runCli(['diff', `oci:${layout}:v1`])).code).toBe(2);
    const missing = await runCli(['diff', `oci:${layout}:v1`, `oci:${join(work, 'nope')}:v1`, '--no-cache']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error: /);
  });

  it('--help documents the flags and exit codes', async () => {
    const help = await runCli(['diff', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--platform', '--json', '--semantic', '--timestamps', '--ignore', '--only', 'Exit status: 0 identical, 1 different, 2 error']) {
      expect(help.stdout).toContain(flag);
    }
  });
});
