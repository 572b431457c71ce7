import { createHash } from 'node:crypto';
import { onWithSpareCores } from '../ops/cores-switch.js';
import { hashOffThread } from './hash-worker.js';

/** The running digest of a download: every byte received goes through `update`, in order. */
export interface BlobHasher {
  update(chunk: Buffer): void;
  /** Bytes given to `update` that are not hashed yet (the download pauses while too many are). */
  readonly backlog: number;
  /** The hex digest of all the bytes; rejects if they could not be hashed. */
  digest(): Promise<string>;
  /** Forgets the hash (the download failed). */
  dispose(): void;
}

/** Blobs smaller than this are hashed inline: configs and signatures are not worth a thread hop. */
const OFF_THREAD_FROM = 8 * 1024 * 1024;

/** Hashing on the calling thread. */
export function inlineHasher(algorithm: string): BlobHasher {
  const hash = createHash(algorithm);
  return { update: (chunk) => hash.update(chunk), backlog: 0, digest: async () => hash.digest('hex'), dispose: () => undefined };
}

/**
 * Whether large blobs are hashed on the hashing thread: `TOLLGATE_HASH_THREAD=1` or `0` decides; otherwise only
 * with more than two cores. Measured on two cores (docs/benchmarks.md, "Proxy"): the thread took ~25 % of the
 * event loop's CPU per cold blob but added a copy and cross-thread wake-ups, and with the upstream, the client, the
 * temp-file writes and V8's compiler sharing the second core it made no pull faster; with cores to spare, the
 * SHA-256 (~0.7 ms per MB) leaves the thread that moves every byte.
 */
function offThread(): boolean {
  return onWithSpareCores(process.env.TOLLGATE_HASH_THREAD);
}

/** The hash for a download of `size` bytes; `progress` is called as an off-thread hash catches up. */
export function createBlobHasher(algorithm: string, size: number, progress: () => void): BlobHasher {
  return size >= OFF_THREAD_FROM && offThread() ? hashOffThread(algorithm, progress) : inlineHasher(algorithm);
}
