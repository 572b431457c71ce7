/**
 * Cross-replica locks on a real redis-server, each store on its own connection as replicas are: SET NX PX lets
 * exactly one of many racing clients in, only the owner's token extends or releases it, and a holder that dies
 * frees it when its TTL runs out.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisMetadataStore } from '../src/store/redis-metadata-store.js';
import { startRedis, type RunningRedis } from '../../../test/proxy/support/redis.js';
import { connectRawRedis, type RawRedis } from './raw-redis.js';

const REPLICAS = 8;
let redis: RunningRedis;
let stores: RedisMetadataStore[] = [];
let raw: RawRedis;

beforeAll(async () => {
  redis = await startRedis();
  stores = await Promise.all(Array.from({ length: REPLICAS }, () => RedisMetadataStore.open(redis.url(4))));
  raw = await connectRawRedis(redis.url(4));
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  raw?.destroy();
  await redis?.stop();
});

const key = (name: string) => `tollgate:lock:${name}`;

it(`lets exactly one of ${REPLICAS} clients racing for a lock take it, with the lock's TTL`, async () => {
  for (let round = 0; round < 25; round++) {
    const name = `race-${round}`;
    const tokens = await Promise.all(stores.map((s) => s.tryLock(name, 10_000)));
    const winners = tokens.filter((t) => t !== undefined);
    expect(winners).toHaveLength(1);
    expect(await raw.get(key(name))).toBe(winners[0]);
    const ttl = await raw.pTTL(key(name));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
    for (const s of stores) expect(await s.isLocked(name)).toBe(true);
  }
});

it('is extended and released only by its owner', async () => {
  const [owner, other] = [stores[0]!, stores[1]!];
  const token = (await owner.tryLock('owned', 5_000))!;
  expect(token).toMatch(/^[0-9a-f]{32}$/);

  expect(await other.extendLock('owned', 'f'.repeat(32), 60_000)).toBe(false);
  expect(await raw.pTTL(key('owned'))).toBeLessThanOrEqual(5_000);
  await other.releaseLock('owned', 'f'.repeat(32));
  expect(await other.isLocked('owned')).toBe(true);
  expect(await raw.get(key('owned'))).toBe(token);
  expect(await other.tryLock('owned', 5_000)).toBeUndefined();

  expect(await owner.extendLock('owned', token, 60_000)).toBe(true);
  expect(await raw.pTTL(key('owned'))).toBeGreaterThan(5_000);
  await owner.releaseLock('owned', token);
  expect(await other.isLocked('owned')).toBe(false);
  expect(await other.tryLock('owned', 5_000)).toBeDefined();
});

it('is freed when its TTL runs out; the late owner can then neither extend nor release the next holder\'s lock', async () => {
  const [dead, next] = [stores[2]!, stores[3]!];
  const token = (await dead.tryLock('expiring', 250))!;
  expect(token).toBeDefined();
  expect(await next.tryLock('expiring', 250)).toBeUndefined();
  // Waits for Redis to expire the key (PTTL -2: no such key), bounded.
  const deadline = Date.now() + 5_000;
  while ((await raw.pTTL(key('expiring'))) !== -2) {
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(await next.isLocked('expiring')).toBe(false);
  expect(await dead.extendLock('expiring', token, 60_000)).toBe(false);
  expect(await raw.exists(key('expiring'))).toBe(0);

  const taken = (await next.tryLock('expiring', 60_000))!;
  expect(taken).toBeDefined();
  await dead.releaseLock('expiring', token);
  expect(await raw.get(key('expiring'))).toBe(taken);
});
