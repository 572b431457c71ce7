import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '@tollgate/core';

/**
 * A replica's own disk copies of verified blobs from the shared store, so that a blob read again on this replica is
 * sent from a local file (as the filesystem store sends it) instead of being fetched from S3 and hashed every time.
 * Copies enter only verified: the temp file of a download from the upstream, or of a read from S3, once its digest
 * and size matched. `<dir>/<alg>/<hex>`, least recently read evicted past `maxBytes`. The directory is this process's
 * (like the filesystem store's): what is in it was checked when it was written, as in that store.
 */
export class LocalCopies {
  private readonly entries = new Map<string, { size: number; lastRead: number }>();
  /** Copies being kept right now: a read waits for them rather than miss a copy about to appear. */
  private readonly adopting = new Map<string, Promise<void>>();
  private total = 0;
  private clock = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get totalBytes(): number {
    return this.total;
  }

  get count(): number {
    return this.entries.size;
  }

  /** Reads what the directory holds (oldest write first in the eviction order) and removes what is not a copy. */
  async open(): Promise<void> {
    if (!this.enabled) {
      await rm(this.dir, { recursive: true, force: true });
      return;
    }
    const found: { digest: string; size: number; mtimeMs: number }[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      const dir = join(this.dir, algorithm);
      await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        const digest = `${algorithm}:${name}`;
        if (info?.isFile() !== true || !isDigest(digest)) {
          await rm(path, { recursive: true, force: true });
          continue;
        }
        found.push({ digest, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const copy of found) this.remember(copy.digest, copy.size);
    await this.evict();
  }

  has(digest: string): boolean {
    return this.entries.has(digest);
  }

  /** The copy opened for reading, or undefined (none, or removed meanwhile). */
  async read(digest: string): Promise<{ handle: FileHandle; size: number } | undefined> {
    await this.adopting.get(digest);
    const entry = this.entries.get(digest);
    if (entry === undefined) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.path(digest), 'r');
    } catch {
      this.forget(digest);
      return undefined;
    }
    entry.lastRead = ++this.clock;
    return { handle, size: entry.size };
  }

  /**
   * Keeps a fully written temp file whose digest and size were verified as the copy of `digest` (flushed to disk
   * first: a copy is never checked again); removes it instead when copies are off, it is one already, or too big.
   * Never throws: a copy is an optimisation.
   */
  adopt(tempPath: string, digest: string, size: number): Promise<void> {
    if (!this.enabled || this.entries.has(digest) || this.adopting.has(digest) || size > this.maxBytes || !isDigest(digest)) {
      return unlink(tempPath).catch(() => undefined);
    }
    // Registered before anything is awaited: from this call on, a read of `digest` waits for the outcome.
    const adoption = this.keep(tempPath, digest, size).finally(() => this.adopting.delete(digest));
    this.adopting.set(digest, adoption);
    return adoption;
  }

  private async keep(tempPath: string, digest: string, size: number): Promise<void> {
    try {
      const handle = await open(tempPath, 'r+');
      try {
        if ((await handle.stat()).size !== size) throw new Error('size changed');
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, this.path(digest));
      this.remember(digest, size);
      await this.evict();
    } catch {
      await unlink(tempPath).catch(() => undefined);
    }
  }

  async remove(digest: string): Promise<void> {
    if (!this.entries.has(digest)) return;
    this.forget(digest);
    await unlink(this.path(digest)).catch(() => undefined);
  }

  private path(digest: string): string {
    const parsed = parseDigest(digest);
    return join(this.dir, parsed.algorithm, parsed.hex);
  }

  private remember(digest: string, size: number): void {
    if (this.entries.has(digest)) return;
    this.entries.set(digest, { size, lastRead: ++this.clock });
    this.total += size;
  }

  private forget(digest: string): void {
    const entry = this.entries.get(digest);
    if (entry === undefined) return;
    this.entries.delete(digest);
    this.total -= entry.size;
  }

  /** Least recently read first, until the copies fit. An open reader keeps its bytes (unlinked, not truncated). */
  private async evict(): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const oldest = [...this.entries].sort((a, b) => a[1].lastRead - b[1].lastRead);
    for (const [digest] of oldest) {
      if (this.total <= this.maxBytes) return;
      await this.remove(digest);
    }
  }
}

function isDigest(value: string): boolean {
  try {
    return parseDigest(value).value === value;
  } catch {
    return false;
  }
}
