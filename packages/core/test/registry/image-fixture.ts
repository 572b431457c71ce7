/** Small images built by umoci (an independent tool) for registry tests. */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Builds an OCI layout at `dir` with image `tag` whose single layer holds `files` (path → content). */
export async function buildUmociImage(dir: string, tag: string, files: Record<string, string | Buffer>): Promise<void> {
  const layout = join(dir, 'layout');
  const bundle = join(dir, `bundle-${tag}`);
  await run('umoci', ['init', '--layout', layout]).catch(async (error: unknown) => {
    // A second image in the same layout: init fails because the layout exists.
    if (!/exist/i.test(String((error as { stderr?: string }).stderr ?? error))) throw error;
  });
  await run('umoci', ['new', '--image', `${layout}:${tag}`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
  for (const [path, content] of Object.entries(files)) {
    const full = join(bundle, 'rootfs', path);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content);
  }
  await run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
}

export function layoutPath(dir: string): string {
  return join(dir, 'layout');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
