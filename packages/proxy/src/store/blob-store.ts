import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '@tollgate/core';

/**
 * The content-addressed blob store on disk: `blobs/<alg>/<hex>` for committed (verified) blobs and `tmp/` for
 * fetches in progress. A blob enters `blobs/` only by an atomic rename after its digest matched, so a crash
 * leaves at most a temp file, and temp files are removed when the store opens.
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the directories and removes what an interrupted fetch left in tmp/. Returns how many were removed. */
  async open(): Promise<number> {
    await mkdir(join(this.blobsDir, 'sha256'), { recursive: true });
    await mkdir(join(this.blobsDir, 'sha512'), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const leftovers = await readdir(this.tmpDir);
    await Promise.all(leftovers.map((name) => rm(join(this.tmpDir, name), { force: true, recursive: true })));
    return leftovers.length;
  }

  path(digest: string): string {
    const parsed = parseDigest(digest);
    return join(this.blobsDir, parsed.algorithm, parsed.hex);
  }

  /** Synchronous on purpose: the single-flight check must not yield between "not committed" and "start a fetch". */
  hasSync(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
  }

  async commit(tempPath: string, digest: string): Promise<void> {
    await rename(tempPath, this.path(digest));
  }

  async remove(digest: string): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Every committed blob with its size and modification time. */
  async scan(): Promise<Map<string, { size: number; mtimeMs: number }>> {
    const out = new Map<string, { size: number; mtimeMs: number }>();
    for (const algorithm of ['sha256', 'sha512']) {
      const dir = join(this.blobsDir, algorithm);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const digest = `${algorithm}:${name}`;
        try {
          parseDigest(digest);
        } catch {
          continue;
        }
        const info = await stat(join(dir, name)).catch(() => undefined);
        if (info?.isFile()) out.set(digest, { size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    return out;
  }
}
