import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '@tollgate/core';
import type { BlobStore, BlobUpload, StoredBlob, StoredRead } from './types.js';

/**
 * The content-addressed blob store on disk: `blobs/<alg>/<hex>` for committed (verified) blobs and `tmp/` for
 * fetches in progress. A blob enters `blobs/` only by an atomic rename after its digest matched, so a crash
 * leaves at most a temp file, and temp files are removed when the store opens.
 */
export class FilesystemBlobStore implements BlobStore {
  readonly kind = 'filesystem';
  readonly keepsTempAfterCommit = false;
  readonly blobsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  async open(options: { keepTemp?: boolean } = {}): Promise<number> {
    await mkdir(join(this.blobsDir, 'sha256'), { recursive: true });
    await mkdir(join(this.blobsDir, 'sha512'), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    if (options.keepTemp === true) return 0;
    const leftovers = await readdir(this.tmpDir);
    await Promise.all(leftovers.map((name) => rm(join(this.tmpDir, name), { force: true, recursive: true })));
    return leftovers.length;
  }

  path(digest: string): string {
    const parsed = parseDigest(digest);
    return join(this.blobsDir, parsed.algorithm, parsed.hex);
  }

  hasSync(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
  }

  beginUpload(): BlobUpload | undefined {
    return undefined;
  }

  async commit(tempPath: string, digest: string): Promise<void> {
    await rename(tempPath, this.path(digest));
  }

  committedPath(_tempPath: string, digest: string): string {
    return this.path(digest);
  }

  async stat(digest: string): Promise<StoredBlob | undefined> {
    const info = await stat(this.path(digest)).catch(() => undefined);
    return info?.isFile() ? { size: info.size, mtimeMs: info.mtimeMs } : undefined;
  }

  async openRead(digest: string): Promise<StoredRead | undefined> {
    let handle;
    try {
      handle = await open(this.path(digest), 'r');
    } catch {
      return undefined;
    }
    try {
      return { kind: 'file', handle, size: (await handle.stat()).size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async remove(digest: string): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async scan(): Promise<Map<string, StoredBlob>> {
    const out = new Map<string, StoredBlob>();
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

  describe(): string {
    return this.root;
  }

  async close(): Promise<void> {}
}
