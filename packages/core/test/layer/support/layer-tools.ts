/**
 * Helpers for layer tests: temp dirs, running the real tools (GNU tar, gzip, zstd, sha256sum, python3 tarfile,
 * umoci) and reading a blob file through readLayer.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLayer, type LayerReadResult, type ReadLayerOptions } from '@tollgate/core';

export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `tollgate-layer-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a shell command (the tools are real; quoting is the caller's job) and returns stdout. */
export function sh(cmd: string, cwd?: string): string {
  return execFileSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** `sha256sum` of a command's stdout, as 'sha256:<hex>'. */
export function sha256Of(cmd: string, cwd?: string): string {
  return `sha256:${sh(`${cmd} | sha256sum`, cwd).split(' ')[0]}`;
}

export function sha256File(path: string): string {
  return `sha256:${sh(`sha256sum '${path}'`).split(' ')[0]}`;
}

export function hasTool(name: string): boolean {
  try {
    sh(`command -v ${name}`);
    return true;
  } catch {
    return false;
  }
}

export function readFileLayer(
  path: string,
  options: ReadLayerOptions,
  highWaterMark = 64 * 1024,
): Promise<LayerReadResult> {
  return readLayer(createReadStream(path, { highWaterMark }), options);
}

/** Streams a shell pipeline's stdout into readLayer, so nothing is materialised on disk or in memory. */
export async function readCommandLayer(
  cmd: string,
  options: ReadLayerOptions,
): Promise<LayerReadResult> {
  const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    return await readLayer(child.stdout, options);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
}

/** Runs a python3 script (tarfile builds archives GNU tar refuses to write). */
export function python(script: string, cwd: string): void {
  execFileSync('python3', ['-c', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}
