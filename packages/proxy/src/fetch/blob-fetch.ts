import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parseDigest, TollgateError } from '@tollgate/core';

/** Largest chunk a reader pushes at once. */
const READ_CHUNK = 256 * 1024;

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
 * One upstream download of one blob, shared by every client that asks for it meanwhile. Bytes go to a temp file
 * and through the hash as they arrive; readers tail the temp file. The last byte is held back until the digest
 * and size are verified, so a client never receives a complete blob that failed verification: on failure every
 * reader is destroyed (the client sees a cut connection) and the temp file is removed.
 */
export class BlobFetch {
  state: FetchState = 'pending';
  error: Error | undefined;
  /** Resolves once the upstream answered with a body; rejects if it did not. */
  readonly ready: Promise<void>;
  /** Resolves once the blob is verified and committed; rejects on any failure. */
  readonly done: Promise<void>;
  private written = 0;
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
      for await (const chunk of upstream) {
        const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        if (this.written + bytes.length > size) {
          throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the upstream sent more than the ${size} bytes its descriptor declares`);
        }
        hash.update(bytes);
        let offset = 0;
        while (offset < bytes.length) {
          const { bytesWritten } = await writeHandle.write(bytes, offset, bytes.length - offset, this.written + offset);
          offset += bytesWritten;
        }
        this.written += bytes.length;
        this.options.onBytes?.(bytes.length);
        this.notify();
      }
      if (this.written !== size) {
        throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the upstream sent ${this.written} bytes, not the ${size} its descriptor declares; the blob is truncated`);
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new TollgateError('DIGEST_MISMATCH', `blob ${digest}: the upstream's bytes digest to ${actual}; it was altered or corrupted and is not served or cached`);
      }
      await writeHandle.sync();
      await writeHandle.close();
      writeHandle = undefined;
      await this.options.commit(tempPath);
      this.state = 'committed';
      this.notify();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.state = 'failed';
      this.error = failure;
      readyReject(failure);
      upstream?.destroy();
      await writeHandle?.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      this.notify();
      throw failure;
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

  /** Bytes a reader may send now: all when committed, else all but the last byte received. */
  private available(): number {
    if (this.state === 'committed') return this.options.size;
    return Math.max(0, Math.min(this.written, this.options.size - 1));
  }

  /** A stream of bytes [start, end] (inclusive) that follows the download and fails if the download fails. */
  createReader(start = 0, end = this.options.size - 1): Readable {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    async function* tail(): AsyncGenerator<Buffer> {
      let handle: FileHandle | undefined;
      try {
        let position = start;
        while (position <= end) {
          if (self.state === 'failed') throw self.error ?? new Error('blob fetch failed');
          const available = Math.min(self.available(), end + 1);
          if (position < available) {
            handle ??= await self.openBytes();
            const length = Math.min(available - position, READ_CHUNK);
            const buffer = Buffer.allocUnsafe(length);
            const { bytesRead } = await handle.read(buffer, 0, length, position);
            if (bytesRead === 0) throw new TollgateError('STORE_ERROR', 'blob temp file ended early');
            position += bytesRead;
            yield buffer.subarray(0, bytesRead);
          } else {
            await self.changed();
          }
        }
        // A range that ends early still waits for the verdict on the whole blob before it ends cleanly.
        while (self.state !== 'committed') {
          if (self.state === 'failed') throw self.error ?? new Error('blob fetch failed');
          await self.changed();
        }
      } finally {
        await handle?.close().catch(() => undefined);
      }
    }
    return Readable.from(tail(), { objectMode: false });
  }
}
