import { open, unlink, type FileHandle } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { parseDigest, TollgateError } from '@tollgate/core';
import { createBlobHasher, type BlobHasher } from './blob-hasher.js';
import { ByteWindow } from './byte-window.js';
import type { BlobUpload } from '../store/blobs/types.js';
import { openTempFile, TempFileWriter, type TempFile } from './temp-file.js';

/** Largest chunk a reader reads from the file at once (readers that keep up are served from the window). */
const READ_CHUNK = 256 * 1024;
/**
 * Bytes received but not yet on disk (or not yet hashed, off-thread) before the download stops reading from the
 * upstream; it reads again once they are down to half. Measured on a 245 MB blob on a busy two-core machine: more
 * room means fewer pauses (the upstream stood paused 41–120 ms per pull at 8 MiB, 22–60 ms at 16 MiB) but more of
 * the process's CPU (curl: 0.84 s at 16 MiB against 0.67 s at 4 MiB, medians of five) and slower pulls by a slow
 * client (skopeo: 3.79 s against 3.19 s), so 4 MiB.
 */
const MAX_PENDING = 4 * 1024 * 1024;
/** The most recent bytes kept in memory (more while the disk lags: bytes not yet written are never dropped). */
const WINDOW = 4 * 1024 * 1024;
/** The most bytes a reader hands its socket in one corked batch. */
const MAX_BATCH = 2 * 1024 * 1024;

export type FetchState = 'pending' | 'streaming' | 'committed' | 'failed';

export interface BlobFetchOptions {
  digest: string;
  size: number;
  tempPath: string;
  /** Where the blob's bytes are read from once committed (the temp file itself when the store keeps it). */
  finalPath: string;
  /**
   * The durable copy made while the bytes arrive (a shared store): told of every byte on disk, completed after the
   * digest matched and before `commit`, aborted on any failure.
   */
  upload?: BlobUpload;
  /** Where the bytes come from, for errors (default "the upstream"; "the shared store" for a read of S3). */
  source?: string;
  /** Opens the upstream stream (after which the fetch is `streaming`). */
  open: (signal: AbortSignal) => Promise<Readable>;
  /** Moves the verified temp file into the store. */
  commit: (tempPath: string) => Promise<void>;
  /** Called as bytes from the upstream are written to the temp file. */
  onBytes?: (n: number) => void;
  /** Creates the temp file (default: `open(tempPath, 'wx', 0o600)`). */
  openTempFile?: (path: string) => Promise<TempFile>;
  /** Starts the digest of the bytes (default: `createBlobHasher`, inline or on the hashing thread). */
  createHasher?: typeof createBlobHasher;
}

/**
 * One upstream download of one blob, shared by every client that asks for it meanwhile. Bytes go through the hash
 * as they arrive, into an in-memory window and on to a temp file (written in batches while the next bytes arrive,
 * at most MAX_PENDING ahead of the disk). Readers follow the bytes RECEIVED (and given to the hash), not the bytes
 * written: a fast client is not held to the disk's pace. A reader that fell behind the window reads the temp file,
 * which holds every byte the window has dropped (bytes not yet written are never dropped from it).
 *
 * Each reader's last byte (the blob's, or its range's) is held back until the digest and size are verified, so a
 * client never receives a complete blob or range that failed verification: on any failure (upstream, digest, size,
 * disk) every reader is destroyed (the client sees a cut connection) and the temp file is removed. The last byte
 * goes out as soon as the digest and size matched; storing the blob (fsync and rename, or completing the S3 upload)
 * follows without holding the client (a failure there costs the cache, never correctness: `done` rejects).
 */
export class BlobFetch {
  state: FetchState = 'pending';
  error: Error | undefined;
  /** Resolves once the upstream answered with a body; rejects if it did not. */
  readonly ready: Promise<void>;
  /** Resolves once the blob is verified and committed; rejects on any failure. */
  readonly done: Promise<void>;
  /** Bytes received from the upstream and given to the hash. */
  private received = 0;
  /** The whole blob arrived with the right size and digest (it may not be stored yet). */
  private verified = false;
  private readonly window = new ByteWindow();
  private writer: TempFileWriter | undefined;
  private waiters: (() => void)[] = [];
  private notifyScheduled = false;
  private readonly controller = new AbortController();
  /** writeTo calls running plus leases handed out (see acquire); the kept temp file goes once both are done. */
  private readers = 0;
  private retired: (() => void) | undefined;

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

  private get source(): string {
    return this.options.source ?? 'the upstream';
  }

  get size(): number {
    return this.options.size;
  }

  /** Aborts the upstream download (shutdown). */
  abort(reason = 'the proxy is shutting down'): void {
    this.controller.abort(new TollgateError('NETWORK_ERROR', reason));
  }

  private notify(): void {
    this.notifyScheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Wakes the readers once per turn of the event loop, not once per upstream chunk: what arrived meanwhile goes
   * out in one corked batch (one writev per client), which is what keeps the per-chunk cost down.
   */
  private notifySoon(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => this.notify());
  }

  private async run(readyResolve: () => void, readyReject: (e: Error) => void): Promise<void> {
    const { digest, size, tempPath } = this.options;
    const algorithm = parseDigest(digest).algorithm;
    let upstream: Readable | undefined;
    let hasher: BlobHasher | undefined;
    try {
      const file = await (this.options.openTempFile ?? openTempFile)(tempPath);
      this.writer = new TempFileWriter(file, {
        written: (bytes) => {
          this.window.trim(WINDOW, this.writer!.written);
          this.options.upload?.written(this.writer!.written);
          this.options.onBytes?.(bytes);
          this.caughtUp?.();
          // Readers behind the window wait for the file.
          this.notifySoon();
        },
        failed: () => upstream?.destroy(),
      });
      upstream = await this.options.open(this.controller.signal);
      // `receive` sees the stream's error; this listener only keeps an early one from being "unhandled".
      upstream.on('error', () => undefined);
      this.state = 'streaming';
      readyResolve();
      hasher = (this.options.createHasher ?? createBlobHasher)(algorithm, size, () => this.caughtUp?.());
      await this.receive(upstream, hasher);
      if (this.writer.error !== undefined) throw this.writer.error;
      if (this.received !== size) {
        throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: ${this.source} sent ${this.received} bytes, not the ${size} its descriptor declares; the blob is truncated`);
      }
      const actual = `${algorithm}:${await hasher.digest()}`;
      if (actual !== digest) {
        throw new TollgateError('DIGEST_MISMATCH', `blob ${digest}: the bytes ${this.source} sent digest to ${actual}; they were altered or corrupted and are not served or cached`);
      }
      // Verified: every reader may have its last byte now. Storing the blob (fsync and rename, or the rest of the
      // S3 upload) is the cache's business, not the client's: it goes on while the readers finish.
      this.verified = true;
      this.notify();
      await this.writer.finish();
      await this.options.upload?.complete();
      await this.options.commit(tempPath);
      this.state = 'committed';
      this.window.clear();
      this.notify();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.state = 'failed';
      this.error = failure;
      this.window.clear();
      readyReject(failure);
      upstream?.destroy();
      hasher?.dispose();
      this.notify();
      await this.writer?.abandon();
      await this.options.upload?.abort(failure);
      await unlink(tempPath).catch(() => undefined);
      throw failure;
    }
  }

  /**
   * Reads the upstream to its end: every chunk is hashed, kept in the window for the readers and queued for the
   * temp file. Reading pauses while the disk is MAX_PENDING behind, and stops at the first byte past the declared
   * size, a disk failure or an upstream error.
   */
  private receive(upstream: Readable, hasher: BlobHasher): Promise<void> {
    const { digest, size } = this.options;
    const writer = this.writer!;
    return new Promise<void>((resolve, reject) => {
      // A stream that failed or closed before anyone read it (its events are gone) fails the download at once.
      if (upstream.errored !== null) {
        reject(upstream.errored);
        return;
      }
      if (upstream.destroyed || upstream.readableEnded) {
        reject(new TollgateError('NETWORK_ERROR', `blob ${digest}: the stream from ${this.source} was closed before it was read`));
        return;
      }
      let paused = false;
      const finish = (error?: Error) => {
        upstream.off('data', onData);
        upstream.off('end', onEnd);
        upstream.off('error', onError);
        upstream.off('close', onClose);
        if (error !== undefined) reject(error);
        else resolve();
      };
      const onData = (data: Buffer | string) => {
        const chunk = typeof data === 'string' ? Buffer.from(data) : data;
        if (this.received + chunk.length > size) {
          finish(new TollgateError('SIZE_MISMATCH', `blob ${digest}: ${this.source} sent more than the ${size} bytes its descriptor declares`));
          upstream.destroy();
          return;
        }
        if (writer.error !== undefined) {
          finish(writer.error);
          return;
        }
        hasher.update(chunk);
        this.received += chunk.length;
        this.window.push(chunk);
        writer.append(chunk);
        this.notifySoon();
        if (!paused && (writer.backlog >= MAX_PENDING || hasher.backlog >= MAX_PENDING)) {
          paused = true;
          upstream.pause();
        }
      };
      const onEnd = () => finish();
      const onError = (error: Error) => finish(writer.error ?? error);
      const onClose = () => finish(writer.error ?? new TollgateError('NETWORK_ERROR', `blob ${digest}: the connection to ${this.source} closed before the body ended`));
      // Reading resumes once the disk and the hash have caught up halfway (checked as each batch is done).
      this.caughtUp = () => {
        if (paused && writer.backlog < MAX_PENDING / 2 && hasher.backlog < MAX_PENDING / 2) {
          paused = false;
          upstream.resume();
        }
      };
      upstream.on('data', onData);
      upstream.once('end', onEnd);
      upstream.once('error', onError);
      upstream.once('close', onClose);
    }).finally(() => {
      this.caughtUp = undefined;
    });
  }

  /** Set while `receive` runs: resumes the upstream once the disk and the hash caught up. */
  private caughtUp: (() => void) | undefined;

  /**
   * Holds the fetch's bytes for a reader about to call writeTo (a response whose headers are not out yet): the
   * kept temp file is not removed before the returned release is called. Call it once writeTo has started.
   */
  acquire(): () => void {
    this.readers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.readerDone();
    };
  }

  /**
   * Once the download settled and the last reader is done, `cleanup` runs (the store's kept temp file is removed or
   * kept as a copy). A reader that joins before it runs (a fetch still in a map) puts it off until that reader is done.
   */
  retire(cleanup: () => Promise<void>): void {
    const run = (): void =>
      void this.done
        .catch(() => undefined)
        .then(() => {
          if (this.readers > 0) {
            this.retired = run;
            return;
          }
          return cleanup();
        })
        .catch(() => undefined);
    if (this.readers === 0) run();
    else this.retired = run;
  }

  private readerDone(): void {
    this.readers--;
    if (this.readers === 0 && this.retired !== undefined) {
      const run = this.retired;
      this.retired = undefined;
      run();
    }
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
   * The offset up to which (exclusive) a reader of bytes [.., end] may send now: what has been received and hashed.
   * Until the whole blob is verified, the last byte the reader asked for is held back whatever it is: a
   * range that ends before the blob does must not complete (a clean 206) on bytes that may yet fail verification,
   * any more than a full GET may.
   */
  private sendableUpTo(end: number): number {
    if (this.state === 'committed' || this.verified) return end + 1;
    return Math.min(this.received, end);
  }

  /** How far the temp file holds the bytes (readers behind the window read up to here). */
  private get onDisk(): number {
    return this.writer?.written ?? 0;
  }

  /**
   * Writes bytes [start, end] (inclusive) to `sink` as the download makes them available, then ends it once the
   * whole blob is verified and committed; destroys it if the download fails. Returns the bytes written. Whatever the
   * window holds goes out in one corked batch (one writev, not one write per upstream chunk); a sink that fell
   * behind the window is fed from the file. Stops early, without error, when the sink closes.
   */
  async writeTo(sink: ByteSink, start = 0, end = this.options.size - 1): Promise<number> {
    this.readers++;
    try {
      return await this.send(sink, start, end);
    } finally {
      this.readerDone();
    }
  }

  private async send(sink: ByteSink, start: number, end: number): Promise<number> {
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
        let slices = this.window.slices(position, available, MAX_BATCH);
        if (slices.length === 0) {
          // Behind the window (or the fetch committed): from the file, which holds every byte the window dropped.
          const limit = this.state === 'committed' ? available : Math.min(available, this.onDisk);
          if (position >= limit) {
            await changedOrClosed();
            continue;
          }
          handle ??= await this.openBytes();
          const length = Math.min(limit - position, READ_CHUNK);
          const buffer = Buffer.allocUnsafe(length);
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          if (bytesRead === 0) throw new TollgateError('STORE_ERROR', 'blob temp file ended early');
          if ((this.state as FetchState) === 'failed') throw this.error ?? new Error('blob fetch failed');
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
      // Reached only once verified (the held-back last byte is sent then), or when the sink closed.
      while (!closed && this.state !== 'committed' && !this.verified) {
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
