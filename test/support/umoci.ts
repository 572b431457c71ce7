/**
 * Test harness: builds OCI image layouts with umoci, an image tool independent of tollgate. Each layer is made by
 * unpacking the image into a bundle, letting the callback change bundle/rootfs with plain node fs, and repacking
 * (umoci computes the diff and writes a gzip layer). Images built here are what our readers are checked against.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface UmociImageOptions {
  config?: {
    user?: string;
    entrypoint?: string[];
    env?: string[];
    labels?: Record<string, string>;
  };
}

export type UmociLayer = (rootfs: string) => Promise<void> | void;

/** Runs umoci with arguments (no shell), failing with its stderr. */
export async function umoci(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('umoci', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`umoci ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Builds `layoutDir:tag` with umoci: `init --layout` (when the layout does not exist yet), `new`, one
 * unpack → callback → repack per layer, then `config` for the options. Returns where the image is.
 */
export async function buildUmociImage(
  layoutDir: string,
  tag: string,
  layers: UmociLayer[],
  options: UmociImageOptions = {},
): Promise<{ layoutDir: string; tag: string }> {
  if (!(await exists(join(layoutDir, 'oci-layout')))) await umoci(['init', '--layout', layoutDir]);
  const image = `${layoutDir}:${tag}`;
  await umoci(['new', '--image', image]);
  for (const layer of layers) {
    const work = await mkdtemp(join(tmpdir(), 'tollgate-umoci-'));
    const bundle = join(work, 'bundle');
    try {
      await umoci(['unpack', '--rootless', '--image', image, bundle]);
      await layer(join(bundle, 'rootfs'));
      await umoci(['repack', '--image', image, bundle]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const config = options.config;
  if (config !== undefined) {
    const args = ['config', '--image', image];
    if (config.user !== undefined) args.push('--config.user', config.user);
    for (const part of config.entrypoint ?? []) args.push('--config.entrypoint', part);
    for (const env of config.env ?? []) args.push('--config.env', env);
    for (const [key, value] of Object.entries(config.labels ?? {})) args.push('--config.label', `${key}=${value}`);
    if (args.length > 3) await umoci(args);
  }
  return { layoutDir, tag };
}
