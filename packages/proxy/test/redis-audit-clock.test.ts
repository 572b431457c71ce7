/**
 * Audit events are stream entries whose ids are their times. Replicas' clocks differ and their appends race, so an
 * event may be older than the newest entry: Redis refuses such an id, and the event must be kept anyway.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisMetadataStore } from '../src/store/redis-metadata-store.js';
import { startRedis, type RunningRedis } from '../../../test/proxy/support/redis.js';
import { connectRawRedis, type RawRedis } from './raw-redis.js';

let redis: RunningRedis;
let store: RedisMetadataStore;
let raw: RawRedis;

beforeAll(async () => {
  redis = await startRedis();
  store = await RedisMetadataStore.open(redis.url(1));
  raw = await connectRawRedis(redis.url(1));
});

afterAll(async () => {
  await store?.close();
  raw?.destroy();
  await redis?.stop();
});

it('keeps an event older than the newest entry (another replica with a clock ahead) instead of losing it', async () => {
  const ahead = Date.now() + 60_000;
  await raw.xAdd('tollgate:audit', `${ahead}-0`, { e: JSON.stringify({ type: 'access', at: ahead, time: new Date(ahead).toISOString(), repository: 'ahead' }) });
  const stored = await store.audit({ type: 'access', repository: 'behind' });
  expect(stored.at).toBeLessThan(ahead);
  const events = await store.listAudit(10);
  expect(events.map((e) => e.repository)).toEqual(['behind', 'ahead']);
  expect(events[0]).toEqual(stored);
  expect(await raw.xLen('tollgate:audit')).toBe(2);
});
