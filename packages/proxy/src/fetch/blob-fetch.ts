import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { parseDigest, TollgateError } from '@tollgate/core';

/** Largest chunk a reader reads from the file at once (readers that keep up are served from the window). */
const READ_CHUNK = 256 * 1024;
/** Bytes received and hashed but not yet on disk before the download waits for the disk. */
const MAX_PENDING = 4 * 1024 * 1024;
/** Bytes written between two background flushes of the temp file to disk. */
const SYNC_EVERY = 16 * 1024 * 1024;
/** The most recently written bytes kept in memory, so readers at the tail need not read them back from the file. */
const WINDOW = 4 * 1024 * 1024;

/** Writes all of `buffers` at `position` (writev may write less than asked; the rest is written again). */
async function writeAllAt(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    if (bytesWritten === 0 && next.length > 0) throw new TollgateError('STORE_ERROR', 'writing a blob temp file made no progress; check the disk');
    rest = next;
  }
}

export type FetchState = 'pending' | 'streaming' | 'committed' | 'failed';

export interface BlobFetchOptions {
  digest: string;
  size: number;
  tempPath: string;
  /** Where the blob is once committed. */
  finalPath: string;
  /** Opens the upstream stream (after which the fetch is `streaming`). */
  open: (signal: AbortSignal) => Promise<Readable>;
  /** Moves the verified temp file into the store. */
  commit: (tempPath: string) => Promise<void>;
  /** Called for every chunk received from the upstream. */
  onBytes?: (n: number) => void;
}

/**
 * One upstream download of one blob, shared by every client that asks for it meanwhile. Bytes go through the hash
 * as they arrive and on to a temp file (written in batches while the next bytes arrive, at most MAX_PENDING ahead
 * of the disk); readers tail what is written, from an in-memory window of the latest bytes when they keep up, else
 * from the temp file. Each reader's last byte (the blob's, or its range's) is held back until the digest and size
 * are verified, so a client never receives a complete blob or range that failed verification: on failure every reader is destroyed (the client sees a cut
 * connection) and the temp file is removed. The last byte goes out once the verified temp file is fsynced and
 * renamed into the store, so a client that has the whole blob finds it cached.
 */
export class BlobFetch {
  state: FetchState = 'pending';
  error: Error | undefined;
  /** Resolves once the upstream answered with a body; rejects if it did not. */
  readonly ready: Promise<void>;
  /** Resolves once the blob is verified and committed; rejects on any failure. */
  readonly done: Promise<void>;
  private written = 0;
  /** The latest written bytes: `window[0]` starts at file offset `windowStart`; they end at `written`. */
  private window: Buffer[] = [];
  private windowStart = 0;
  private waiters: (() => void)[] = [];
  private readonly controller = new AbortController();

  constructor(private readonly options: BlobFetchOptions) {
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.done = this.run(readyResolve, readyReject);
    this.done.catch(() => undefined);
  }

  get digest(): string {
    return this.options.digest;
  }

  get size(): number {
    return this.options.size;
  }

  /** Aborts the upstream download (shutdown). */
  abort(reason = 'the proxy is shutting down'): void {
    this.controller.abort(new TollgateError('NETWORK_ERROR', reason));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async run(readyResolve: () => void, readyReject: (e: Error) => void): Promise<void> {
    const { digest, size, tempPath } = this.options;
    const algorithm = parseDigest(digest).algorithm;
    const hash = createHash(algorithm);
    let writeHandle: FileHandle | undefined;
    let upstream: Readable | undefined;
    try {
      writeHandle = await open(tempPath, 'wx', 0o600);
      upstream = await this.options.open(this.controller.signal);
      // The loop below sees the stream's error; this listener only keeps an early one from being "unhandled".
      upstream.on('error', () => undefined);
      this.state = 'streaming';
      readyResolve();
      const file = writeHandle;
      let received = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let flushing: Promise<void> | undefined;
      let writeError: unknown;
      // Flushed to disk while the download goes on, so the fsync before the commit (which the last byte waits for)
      // only has the tail left: on this machine's disk a 93 MB blob's final fsync went from ~30 ms to a few.
      let syncedUpTo = 0;
      let syncing: Promise<void> | undefined;
      const syncAhead = () => {
        if (syncing !== undefined || this.written - syncedUpTo < SYNC_EVERY) return;
        const upTo = this.written;
        syncing = file.datasync().then(
          () => {
            syncedUpTo = upTo;
            syncing = undefined;
          },
          (error: unknown) => {
            writeError ??= error;
            syncing = undefined;
          },
        );
      };
      // Writes what has been received, in order, batch after batch, while the loop below keeps receiving.
      const flush = async (): Promise<void> => {
        while (pending.length > 0) {
          const batch = pending;
          const bytes = pendingBytes;
          pending = [];
          pendingBytes = 0;
          await writeAllAt(file, batch, this.written);
          this.written += bytes;
          this.remember(batch, bytes);
          syncAhead();
          this.options.onBytes?.(bytes);
          this.notify();
        }
      };
      const startFlush = () => {
        flushing ??= flush().then(
          () => {
            flushing = undefined;
          },
          (error: unknown) => {
            writeError ??= error;
            flushing = undefined;
          },
        );
      };
      for await (const chunk of upstream) {
        if (writeError !== undefined) throw writeError;
        const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        if (received + bytes.length > size) {
          throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the upstream sent more than the ${size} bytes its descriptor declares`);
        }
        hash.update(bytes);
        received += bytes.length;
        pending.push(bytes);
        pendingBytes += bytes.length;
        startFlush();
        if (pendingBytes >= MAX_PENDING) await flushing;
      }
      while (flushing !== undefined) await flushing;
      if (writeError !== undefined) throw writeError;
      if (this.written !== size) {
        throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the upstream sent ${this.written} bytes, not the ${size} its descriptor declares; the blob is truncated`);
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new TollgateError('DIGEST_MISMATCH', `blob ${digest}: the upstream's bytes digest to ${actual}; it was altered or corrupted and is not served or cached`);
      }
      await syncing;
      if (writeError !== undefined) throw writeError;
      await writeHandle.sync();
      await writeHandle.close();
      writeHandle = undefined;
      await this.options.commit(tempPath);
      this.state = 'committed';
      this.window = [];
      this.notify();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.state = 'failed';
      this.error = failure;
      this.window = [];
      readyReject(failure);
      upstream?.destroy();
      await writeHandle?.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      this.notify();
      throw failure;
    }
  }

  /** Keeps `batch` (just written, ending at `written`) in the window, dropping the oldest bytes beyond WINDOW. */
  private remember(batch: Buffer[], bytes: number): void {
    if (this.window.length === 0) this.windowStart = this.written - bytes;
    this.window.push(...batch);
    while (this.window.length > 1 && this.written - this.windowStart - this.window[0]!.length >= WINDOW) {
      this.windowStart += this.window.shift()!.length;
    }
  }

  /** Slices of the window covering `position` up to `limit` (exclusive), without copying; empty if not held there. */
  private fromWindow(position: number, limit: number): Buffer[] {
    const slices: Buffer[] = [];
    if (position < this.windowStart) return slices;
    let start = this.windowStart;
    for (const chunk of this.window) {
      const end = start + chunk.length;
      if (position < end && start < limit) slices.push(chunk.subarray(Math.max(0, position - start), Math.min(chunk.length, limit - start)));
      start = end;
    }
    return slices;
  }

  /** A handle on the bytes so far: the temp file while downloading, the committed file after. */
  private async openBytes(): Promise<FileHandle> {
    if (this.state !== 'committed') {
      try {
        return await open(this.options.tempPath, 'r');
      } catch (error) {
        // The state may have moved on while open() ran: the temp file was renamed into the store.
        if ((this.state as FetchState) !== 'committed') throw error;
      }
    }
    return open(this.options.finalPath, 'r');
  }

  /**
   * The offset up to which (exclusive) a reader of bytes [.., end] may send now. Until the blob is verified and
   * committed, the last byte the reader asked for is held back whatever it is: a range that ends before the blob
   * does must not complete (a clean 206) on bytes that may yet fail verification, any more than a full GET may.
   */
  private sendableUpTo(end: number): number {
    if (this.state === 'committed') return end + 1;
    return Math.min(this.written, end);
  }

  /**
   * Writes bytes [start, end] (inclusive) to `sink` as the download makes them available, then ends it once the
   * whole blob is verified and committed; destroys it if the download fails. Returns the bytes written. Whatever the
   * window holds goes out in one corked batch (one writev, not one write per upstream chunk); a sink that fell
   * behind the window is fed from the file. Stops early, without error, when the sink closes.
   */
  async writeTo(sink: ByteSink, start = 0, end = this.options.size - 1): Promise<number> {
    let handle: FileHandle | undefined;
    let position = start;
    let closed = false;
    let wakeOnClose: (() => void) | undefined;
    const onClose = () => {
      closed = true;
      wakeOnClose?.();
    };
    const changedOrClosed = () =>
      new Promise<void>((resolve) => {
        wakeOnClose = resolve;
        this.waiters.push(resolve);
      });
    const drainedOrClosed = () =>
      new Promise<void>((resolve) => {
        wakeOnClose = resolve;
        sink.once('drain', resolve);
      });
    sink.once('close', onClose);
    try {
      while (position <= end && !closed) {
        if (this.state === 'failed') throw this.error ?? new Error('blob fetch failed');
        const available = this.sendableUpTo(end);
        if (position >= available) {
          await changedOrClosed();
          continue;
        }
        let slices = this.fromWindow(position, available);
        if (slices.length === 0) {
          handle ??= await this.openBytes();
          const length = Math.min(available - position, READ_CHUNK);
          const buffer = Buffer.allocUnsafe(length);
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          if (bytesRead === 0) throw new TollgateError('STORE_ERROR', 'blob temp file ended early');
          slices = [buffer.subarray(0, bytesRead)];
        }
        if (sink.destroyed) closed = true;
        if (closed) break;
        let flowing = true;
        sink.cork();
        for (const slice of slices) {
          flowing = sink.write(slice);
          position += slice.length;
        }
        sink.uncork();
        if (!flowing && !closed) await drainedOrClosed();
      }
      // Reached only once committed (the held-back last byte is sent then), or when the sink closed.
      while (!closed && this.state !== 'committed') {
        if (this.state === 'failed') throw this.error ?? new Error('blob fetch failed');
        await changedOrClosed();
      }
      if (!closed) sink.end();
    } catch (error) {
      sink.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      sink.off('close', onClose);
      await handle?.close().catch(() => undefined);
    }
    return position - start;
  }

  /** A stream of bytes [start, end] (inclusive) that follows the download and fails if the download fails. */
  createReader(start = 0, end = this.options.size - 1): Readable {
    const reader = new PassThrough();
    void this.writeTo(reader, start, end);
    return reader;
  }
}

/** Where writeTo sends bytes: an HTTP response or any Writable. */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  end(): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}
