import { SingleFlight } from '../fetch/single-flight.js';

/**
 * Bounds of what the gateway shares between concurrent identical reads. Sharing holds a result in memory only while
 * it is in flight (nothing is kept afterwards: caching is the stores' business), so the bound is on what is in
 * flight: a number of reads per table, and for buffered blobs their bytes.
 */
export interface SharedReadLimits {
  /** Distinct reads shared at once per kind; past it, reads run unshared. */
  maxShared: number;
  /** A blob is shared (read whole into memory) only up to this size; larger ones stream through unshared. */
  maxBlobBytes: number;
  /** Bytes of shared blobs in flight at once; past it, reads stream through unshared. */
  maxBlobBytesInFlight: number;
}

export const DEFAULT_SHARED_READ_LIMITS: SharedReadLimits = {
  maxShared: 1024,
  // Signature bundles and DSSE envelopes are kilobytes; attestations (SBOMs) can reach a few MiB.
  maxBlobBytes: 4 * 1024 * 1024,
  maxBlobBytesInFlight: 64 * 1024 * 1024,
};

/** Small blobs read once for all concurrent askers, within a byte budget. */
export class SharedBlobReads {
  private readonly flights: SingleFlight<Uint8Array>;
  private bytesInFlight = 0;

  constructor(private readonly limits: SharedReadLimits) {
    this.flights = new SingleFlight(limits.maxShared);
  }

  /**
   * The bytes of the blob named by `key` (of `size` bytes), read by `load` once for every concurrent asker; or
   * undefined when it may not be shared (too big, or the budget is spent): the caller then reads it itself.
   */
  run(key: string, size: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> | undefined {
    if (this.flights.has(key)) return this.flights.run(key, load);
    if (size > this.limits.maxBlobBytes || this.bytesInFlight + size > this.limits.maxBlobBytesInFlight || this.flights.size >= this.limits.maxShared) return undefined;
    this.bytesInFlight += size;
    return this.flights.run(key, () => load().finally(() => (this.bytesInFlight -= size)));
  }
}

/** Waits for a shared read, but lets one asker give up (its signal) without cancelling the read for the others. */
export function awaitAbortable<T>(shared: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return shared;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    shared.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error as Error);
      },
    );
  });
}
