import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LevelMetadataStore } from '../src/store/level-metadata-store.js';
import { takeLock, waitForPeer } from '../src/store/peer-lock.js';
import { ProcessLocks } from '../src/store/process-locks.js';

let dir: string;
let meta: LevelMetadataStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-peer-lock-'));
  meta = await LevelMetadataStore.open(join(dir, 'meta'));
});
afterEach(async () => {
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

it('one holder at a time; released by its holder only', async () => {
  const first = await takeLock(meta, 'blob:x');
  expect(first).toBeDefined();
  expect(await takeLock(meta, 'blob:x')).toBeUndefined();
  expect(await takeLock(meta, 'blob:y')).toBeDefined();
  await meta.releaseLock('blob:x', 'not-the-token');
  expect(await meta.isLocked('blob:x')).toBe(true);
  await first!.release();
  expect(await meta.isLocked('blob:x')).toBe(false);
  expect(await takeLock(meta, 'blob:x')).toBeDefined();
});

it('a lock expires unless extended, and only its owner extends it', async () => {
  let now = 1_000;
  const locks = new ProcessLocks(() => now);
  const token = (await locks.tryLock('a', 100))!;
  expect(await locks.extendLock('a', 'other', 1_000)).toBe(false);
  now += 99;
  expect(await locks.extendLock('a', token, 100)).toBe(true);
  now += 99;
  expect(await locks.isLocked('a')).toBe(true);
  now += 1;
  expect(await locks.isLocked('a')).toBe(false);
  expect(await locks.extendLock('a', token, 100)).toBe(false);
  expect(await locks.tryLock('a', 100)).toBeDefined();
});

it('a waiter gets the peer\'s result once it appears', async () => {
  const held = (await takeLock(meta, 'verdict:k'))!;
  let result: string | undefined;
  let looks = 0;
  const waiting = waitForPeer(meta, 'verdict:k', async () => {
    looks++;
    if (looks === 3) result = 'peer verdict';
    return result;
  }, 60_000);
  expect(await waiting).toBe('peer verdict');
  await held.release();
});

it('a waiter stops waiting when the peer lets go without a result, or after the bound', async () => {
  const held = (await takeLock(meta, 'blob:z'))!;
  let looks = 0;
  const waiting = waitForPeer(meta, 'blob:z', async () => {
    if (++looks === 2) await held.release();
    return undefined;
  }, 60_000);
  expect(await waiting).toBeUndefined();
  expect(looks).toBeGreaterThanOrEqual(3);

  const stuck = (await takeLock(meta, 'blob:w'))!;
  let clock = 0;
  const bounded = await waitForPeer(meta, 'blob:w', async () => {
    clock += 1_000;
    return undefined;
  }, 5_000, () => clock);
  expect(bounded).toBeUndefined();
  expect(await meta.isLocked('blob:w')).toBe(true);
  await stuck.release();
});
