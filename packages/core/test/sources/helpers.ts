import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { isTollgateError, type ContentSource, type Descriptor, type ImageManifest } from '@tollgate/core';

const execFileAsync = promisify(execFile);

/** A fresh temp dir, and a function removing every dir made so far (call it in afterAll/afterEach). */
export function tempDirs(): { make(prefix?: string): Promise<string>; cleanup(): Promise<void> } {
  const dirs: string[] = [];
  return {
    async make(prefix = 'tollgate-src-') {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

export async function run(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** skopeo with no policy surprises (insecure-accept-anything is fine for local files in tests). */
export async function skopeo(args: string[], policyDir: string): Promise<string> {
  const policy = join(policyDir, 'policy.json');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  return run('skopeo', ['--policy', policy, ...args]);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Reads the root manifest and every blob it names, checking each against its descriptor's digest and size; closes
 * the source afterwards.
 */
export async function readWholeImage(source: ContentSource): Promise<{ manifest: ImageManifest; manifestDigest: string; config: Record<string, unknown>; layers: Buffer[] }> {
  try {
    return await readImage(source);
  } finally {
    await source.close?.();
  }
}

async function readImage(source: ContentSource): Promise<{ manifest: ImageManifest; manifestDigest: string; config: Record<string, unknown>; layers: Buffer[] }> {
  const root = await source.resolveRoot();
  const manifestDigest = sha256(root.bytes);
  if (root.expectedDigest !== undefined && root.expectedDigest !== manifestDigest) throw new Error(`manifest digest ${manifestDigest} != ${root.expectedDigest}`);
  const manifest = JSON.parse(Buffer.from(root.bytes).toString('utf8')) as ImageManifest;
  const blob = async (d: Descriptor) => {
    const bytes = await readAll(await source.openBlob(d));
    if (sha256(bytes) !== d.digest || bytes.length !== d.size) throw new Error(`blob ${d.digest} does not verify`);
    return bytes;
  };
  const config = JSON.parse((await blob(manifest.config)).toString('utf8')) as Record<string, unknown>;
  const layers: Buffer[] = [];
  for (const d of manifest.layers) layers.push(await blob(d));
  return { manifest, manifestDigest, config, layers };
}

/** The names in an uncompressed (or gzip) tar, via GNU tar, an independent reader. */
export async function tarNames(path: string): Promise<string[]> {
  return (await run('tar', ['-tf', path])).split('\n').filter((l) => l !== '');
}

/** Awaits a promise that must reject with a one-line TollgateError of `code` whose message matches. */
export async function expectError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTollgateError(error), `expected a TollgateError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain('\n');
}
