import { Worker } from 'node:worker_threads';
import { TollgateError } from '@tollgate/core';
import type { BlobHasher } from './blob-hasher.js';

/** Bytes copied into one buffer before it is handed to the worker (and later handed back, for reuse). */
const BATCH = 1024 * 1024;
/** Idle batch buffers kept for reuse across downloads. */
const POOL_MAX = 16;

/**
 * The worker's whole program (evaluated as a script: no file to resolve, from the build or from the sources). One
 * hash per download; buffers come in by transfer (not copied) and go back the same way once hashed.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'start') jobs.set(m.id, createHash(m.algorithm));
  else if (m.type === 'data') {
    const hash = jobs.get(m.id);
    if (hash !== undefined) hash.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ type: 'free', id: m.id, buffer: m.buffer, length: m.length }, [m.buffer]);
  } else if (m.type === 'end') {
    const hash = jobs.get(m.id);
    jobs.delete(m.id);
    parentPort.postMessage({ type: 'digest', id: m.id, hex: hash === undefined ? null : hash.digest('hex') });
  } else if (m.type === 'drop') jobs.delete(m.id);
});
`;

type FromWorker = { type: 'free'; id: number; buffer: ArrayBuffer; length: number } | { type: 'digest'; id: number; hex: string | null };

interface Job {
  progress: () => void;
  resolve: (hex: string) => void;
  reject: (error: Error) => void;
  hasher: WorkerHasher;
}

/** A hashing thread, started on first use and not keeping the process alive while idle. */
export class HashWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private readonly pool: ArrayBuffer[] = [];
  private nextId = 1;

  take(): ArrayBuffer {
    return this.pool.pop() ?? new ArrayBuffer(BATCH);
  }

  private giveBack(buffer: ArrayBuffer): void {
    if (this.pool.length < POOL_MAX && buffer.byteLength === BATCH) this.pool.push(buffer);
  }

  post(message: object, transfer: ArrayBuffer[] = []): void {
    this.started().postMessage(message, transfer);
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: FromWorker) => this.received(m));
    // A worker that fails fails every hash in progress: their downloads fail, nothing unverified is committed.
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      const jobs = [...this.jobs.values()];
      this.jobs.clear();
      for (const job of jobs) job.reject(new TollgateError('STORE_ERROR', `the hashing thread stopped (${error.message}); the blob was not verified`));
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`exit code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private received(m: FromWorker): void {
    const job = this.jobs.get(m.id);
    if (m.type === 'free') {
      this.giveBack(m.buffer);
      if (job !== undefined) {
        job.hasher.backlog -= m.length;
        job.progress();
      }
      return;
    }
    if (job === undefined) return;
    this.end(m.id);
    if (m.hex === null) job.reject(new TollgateError('STORE_ERROR', 'the hashing thread lost a hash; the blob was not verified'));
    else job.resolve(m.hex);
  }

  begin(algorithm: string, progress: () => void): WorkerHasher {
    const id = this.nextId++;
    const hasher = new WorkerHasher(this, id);
    let resolve!: (hex: string) => void;
    let reject!: (error: Error) => void;
    hasher.result = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    hasher.result.catch(() => undefined);
    if (this.jobs.size === 0) this.started().ref();
    this.jobs.set(id, { progress, resolve, reject, hasher });
    this.post({ type: 'start', id, algorithm });
    return hasher;
  }

  end(id: number): void {
    if (!this.jobs.delete(id)) return;
    if (this.jobs.size === 0) this.worker?.unref();
  }

  /** Stops the thread; hashes in progress fail. The next hash starts a new one. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  drop(id: number): void {
    if (!this.jobs.has(id)) return;
    this.worker?.postMessage({ type: 'drop', id });
    this.end(id);
  }
}

/**
 * A hash computed on the worker thread: `update` copies the bytes into a batch buffer (the caller keeps its chunk
 * and may send it on at once), full batches go to the worker by transfer. `backlog` is what the worker has not
 * hashed yet; `progress` (given to `hashOffThread`) is called as it shrinks.
 */
export class WorkerHasher implements BlobHasher {
  backlog = 0;
  result!: Promise<string>;
  private current: ArrayBuffer | undefined;
  private view: Buffer | undefined;
  private filled = 0;

  constructor(
    private readonly owner: HashWorker,
    private readonly id: number,
  ) {}

  update(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.current === undefined) {
        this.current = this.owner.take();
        this.view = Buffer.from(this.current);
        this.filled = 0;
      }
      const copied = chunk.copy(this.view!, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === BATCH) this.flush();
    }
  }

  private flush(): void {
    if (this.current === undefined || this.filled === 0) return;
    const buffer = this.current;
    this.backlog += this.filled;
    this.owner.post({ type: 'data', id: this.id, buffer, length: this.filled }, [buffer]);
    this.current = undefined;
    this.view = undefined;
    this.filled = 0;
  }

  /** The hex digest of every byte given to `update`. */
  digest(): Promise<string> {
    this.flush();
    this.owner.post({ type: 'end', id: this.id });
    return this.result;
  }

  /** Forgets the hash (a failed download). */
  dispose(): void {
    this.current = undefined;
    this.view = undefined;
    this.owner.drop(this.id);
  }
}

const shared = new HashWorker();

/** Starts a hash of `algorithm` (sha256, sha512) on the process's shared hashing thread. */
export function hashOffThread(algorithm: string, progress: () => void): WorkerHasher {
  return shared.begin(algorithm, progress);
}
