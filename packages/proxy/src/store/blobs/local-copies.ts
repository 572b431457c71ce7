import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '@tollgate/core';

/** A copy being written stops (and is dropped) when the disk falls this far behind the bytes it was given. */
const MAX_UNWRITTEN = 8 * 1024 * 1024;

/**
 * A replica's own disk copies of verified blobs from the shared store, so that a blob read again on this replica is
 * sent from a local file (as the filesystem store sends it) instead of being fetched from S3 and hashed every time.
 * Copies enter only verified: a download's temp file once its digest matched, or the bytes of a read from S3 that
 * digested right. `<dir>/<alg>/<hex>`, least recently read evicted past `maxBytes`. The directory is this process's
 * (like the filesystem store's): what is in it was checked when it was written, as in that store.
 */
export class LocalCopies {
  private readonly entries = new Map<string, { size: number; lastRead: number }>();
  private readonly writing = new Set<string>();
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
  async adopt(tempPath: string, digest: string, size: number): Promise<void> {
    if (!this.enabled || this.entries.has(digest) || size > this.maxBytes || !isDigest(digest)) {
      await unlink(tempPath).catch(() => undefined);
      return;
    }
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

  /**
   * A writer for the bytes of a read from the shared store, from its first byte: undefined when copies are off, the
   * blob has a copy or one is being written, or it does not fit. `finish` once the read's digest matched.
   */
  writer(digest: string, size: number, tempPath: string): LocalCopyWriter | undefined {
    if (!this.enabled || size > this.maxBytes || this.entries.has(digest) || this.writing.has(digest)) return undefined;
    this.writing.add(digest);
    return new LocalCopyWriter(tempPath, () => this.writing.delete(digest), (path) => this.adopt(path, digest, size));
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

/**
 * Writes a read's bytes to a temp file beside the client's copy. Gives up (drops the file) rather than buffer: when
 * the disk falls behind, on a write error, or when the read ends without a verified digest.
 */
export class LocalCopyWriter {
  private readonly stream: WriteStream;
  private failed = false;
  private settled = false;

  constructor(
    private readonly tempPath: string,
    private readonly release: () => void,
    private readonly keep: (path: string) => Promise<void>,
  ) {
    this.stream = createWriteStream(tempPath, { flags: 'wx' });
    this.stream.on('error', () => {
      this.failed = true;
    });
  }

  write(chunk: Buffer): void {
    if (this.failed || this.settled) return;
    if (this.stream.writableLength > MAX_UNWRITTEN) {
      this.failed = true;
      return;
    }
    this.stream.write(chunk);
  }

  /** The read verified every byte: flush, then keep the file as the copy (never throws). */
  async finish(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    const ended =
      !this.failed &&
      (await new Promise<boolean>((resolve) => {
        this.stream.once('error', () => resolve(false));
        this.stream.end((error?: Error | null) => resolve(error === undefined || error === null));
      }));
    if (ended && !this.failed) {
      await this.keep(this.tempPath);
      this.release();
    } else await this.drop();
  }

  /** The read failed or stopped early: drop what was written (never throws). */
  async abandon(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.drop();
  }

  private async drop(): Promise<void> {
    this.failed = true;
    await new Promise<void>((resolve) => {
      if (this.stream.closed) return resolve();
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
    await unlink(this.tempPath).catch(() => undefined);
    this.release();
  }
}
