import type { MetadataStore } from './metadata-store.js';

/** A lock lives this long unless its holder extends it: a replica killed mid-download frees it within this time. */
const LOCK_TTL_MS = 15_000;
/** The holder extends its lock this often while its work runs. */
const EXTEND_EVERY_MS = 5_000;
/** First and largest pause between two looks at a peer's result. */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 500;

export interface HeldLock {
  /** Stops extending and releases the lock (compare-and-delete: never someone else's). Never throws. */
  release(): Promise<void>;
}

/**
 * Takes `name` for this replica, extended in the background until released; undefined when a peer holds it. A
 * store that cannot be reached is an error (the caller fails the request as unavailable rather than guessing).
 */
export async function takeLock(meta: MetadataStore, name: string): Promise<HeldLock | undefined> {
  const token = await meta.tryLock(name, LOCK_TTL_MS);
  if (token === undefined) return undefined;
  const timer = setInterval(() => void meta.extendLock(name, token, LOCK_TTL_MS).catch(() => undefined), EXTEND_EVERY_MS);
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await meta.releaseLock(name, token).catch(() => undefined);
    },
  };
}

/**
 * Waits for a peer replica's result: looks with `check` (backing off from 25 to 500 ms) until it gives one, the
 * peer's lock is gone (the peer finished without a result, failed or died) or `maxWaitMs` passed. Undefined means
 * "do it yourself" — correctness never depends on the peer, only how much work is repeated.
 */
export async function waitForPeer<T>(meta: MetadataStore, name: string, check: () => Promise<T | undefined>, maxWaitMs: number, now: () => number = Date.now): Promise<T | undefined> {
  const deadline = now() + maxWaitMs;
  let pause = FIRST_POLL_MS;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (!(await meta.isLocked(name))) return check();
    if (now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}
