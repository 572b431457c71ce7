/**
 * The built `tollgate proxy` command: serve refuses to start without a gate, refuses unknown config keys, serves an
 * oci: upstream to skopeo, shuts down on SIGTERM with status 0; gc reports on the stopped proxy's cache.
 * Run `pnpm build` first (npm test does).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/registry.js';
import { buildUmociImage } from '../support/umoci.js';
import { layoutDigest } from './support/images.js';
import { skopeoPull } from './support/skopeo.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));
let work: string;
let layout: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-cli-'));
  layout = join(work, 'layout');
  await buildUmociImage(layout, 'v1', [async (rootfs) => writeFile(join(rootfs, 'hello.txt'), 'hello from an air-gapped layout\n')]);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function writeConfig(name: string, extra: string): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `dataDir: ./data-${name}\nupstreams:\n  - name: airgap\n    oci: ${layout}\n    default: true\n${extra}`);
  return file;
}

it('serve refuses to start without a gate, naming what to configure', async () => {
  const config = await writeConfig('nogate.yaml', '');
  const result = await runCli(['proxy', 'serve', '--config', config, '--listen', '127.0.0.1:0']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/configure a policy/);
});

it('serve refuses an unknown config key, naming it', async () => {
  const config = await writeConfig('typo.yaml', 'gate: allow-all\ncache:\n  maxByte: 10\n');
  const result = await runCli(['proxy', 'serve', '--config', config]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('cache.maxByte');
});

it('serve admits pinned digests to skopeo, stops cleanly on SIGTERM, and gc reports the cache', async () => {
  const digest = await layoutDigest(layout);
  const config = await writeConfig('pinned.yaml', `gate:\n  allowDigests:\n    airgap/demo/app: ["${digest}"]\n`);
  const child = spawn(process.execPath, [BIN, 'proxy', 'serve', '--config', config, '--listen', '127.0.0.1:0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TOLLGATE_PROXY_LOG_LEVEL: 'silent' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  const host = url.replace('http://', '');
  const pulled = await skopeoPull(`${host}/demo/app:v1`, join(work, 'pulled'));
  expect(pulled.stderr).toBe('');
  expect(await layoutDigest(join(work, 'pulled'))).toBe(digest);
  const denied = await skopeoPull(`${host}/demo/other:v1`, join(work, 'denied'));
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toMatch(/denied/i);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);

  const gc = await runCli(['proxy', 'gc', '--config', config, '--json']);
  expect(gc.code).toBe(0);
  const report = JSON.parse(gc.stdout) as { blobsKept: number; bytesKept: number; blobsEvicted: number };
  expect(report.blobsKept).toBeGreaterThanOrEqual(2);
  const emptied = await runCli(['proxy', 'gc', '--config', config, '--max-bytes', '0', '--json']);
  expect(JSON.parse(emptied.stdout)).toMatchObject({ blobsKept: 0, bytesKept: 0, blobsEvicted: report.blobsKept });
});

it('serve logs the TUF fallback as a JSON line of its own log, then starts', async () => {
  await writeFile(join(work, 'keyless.yaml'), 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: ci\n    images: ["**"]\n    authorities: [{name: ci, keyless: {issuer: "https://issuer.example", subject: "ci@example.com"}}]\n');
  const config = await writeConfig('tuf.yaml', `gate:\n  policy: keyless.yaml\n  tuf: {mirror: "http://127.0.0.1:${await freePort()}"}\n`);
  const child = spawn(process.execPath, [BIN, 'proxy', 'serve', '--config', config, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (lines.at(-1)!.msg === 'tollgate proxy listening') resolve();
    });
    child.once('exit', () => reject(new Error('serve exited early')));
  });
  const notice = lines.find((l) => l.component === 'trust');
  expect(notice?.level).toBe(40);
  expect(notice?.msg).toMatch(/TUF mirror http:\/\/127\.0\.0\.1:\d+ could not be reached .*embedded in tollgate/);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});

it('proxy --help lists serve and gc', async () => {
  const result = await runCli(['proxy', '--help']);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('serve');
  expect(result.stdout).toContain('gc');
});
