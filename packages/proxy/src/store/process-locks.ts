import { randomBytes } from 'node:crypto';

/**
 * Locks within one process, for the metadata store that only one process can open (level): the same contract as
 * the Redis locks (owner token, expiry, compare-and-delete), so the serving code has one path.
 */
export class ProcessLocks {
  private readonly held = new Map<string, { token: string; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  private current(name: string): { token: string; until: number } | undefined {
    const lock = this.held.get(name);
    if (lock !== undefined && lock.until <= this.now()) {
      this.held.delete(name);
      return undefined;
    }
    return lock;
  }

  tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    if (this.current(name) !== undefined) return Promise.resolve(undefined);
    const token = randomBytes(16).toString('hex');
    this.held.set(name, { token, until: this.now() + ttlMs });
    return Promise.resolve(token);
  }

  extendLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    const lock = this.current(name);
    if (lock?.token !== token) return Promise.resolve(false);
    lock.until = this.now() + ttlMs;
    return Promise.resolve(true);
  }

  releaseLock(name: string, token: string): Promise<void> {
    if (this.current(name)?.token === token) this.held.delete(name);
    return Promise.resolve();
  }

  isLocked(name: string): Promise<boolean> {
    return Promise.resolve(this.current(name) !== undefined);
  }
}
