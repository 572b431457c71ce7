/**
 * Redis keys that are not pruned carry a TTL: manifests and listings 30 days from their last write (manifests also
 * from their last read, so one served every day stays while its upstream is down), blob tables 90 days from their
 * last write or listing (the table of a machine that is gone goes too).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisMetadataStore } from '../src/store/redis-metadata-store.js';
import { startRedis, type RunningRedis } from '../../../test/proxy/support/redis.js';
import { connectRawRedis, type RawRedis } from './raw-redis.js';

const DAY_MS = 86_400_000;
const d = (c: string) => `sha256:${c.repeat(64)}`;
let redis: RunningRedis;
let store: RedisMetadataStore;
let raw: RawRedis;

beforeAll(async () => {
  redis = await startRedis();
  store = await RedisMetadataStore.open(redis.url(3), 'host-a');
  raw = await connectRawRedis(redis.url(3));
});

afterAll(async () => {
  await store?.close();
  raw?.destroy();
  await redis?.stop();
});

it('gives a manifest 30 days from its last write or read', async () => {
  await store.putManifest('hub', 'lib/a', d('a'), { bytes: new Uint8Array([1, 2, 3]), mediaType: 'm' });
  const key = `tollgate:manifest:${JSON.stringify(['hub', 'lib/a', d('a')])}`;
  expect(await raw.pTTL(key)).toBeGreaterThan(30 * DAY_MS - 60_000);
  await raw.pExpire(key, 1_000_000);
  expect(Buffer.from((await store.getManifest('hub', 'lib/a', d('a')))!.bytes)).toEqual(Buffer.from([1, 2, 3]));
  expect(await raw.pTTL(key)).toBeGreaterThan(30 * DAY_MS - 60_000);
  // A manifest stored without a TTL (by an older tollgate) is still read, and gets one.
  await raw.set(key, JSON.stringify({ data: Buffer.from([9]).toString('base64'), mediaType: 'm' }));
  expect(await raw.pTTL(key)).toBe(-1);
  expect(Buffer.from((await store.getManifest('hub', 'lib/a', d('a')))!.bytes)).toEqual(Buffer.from([9]));
  expect(await raw.pTTL(key)).toBeGreaterThan(30 * DAY_MS - 60_000);
  expect(await store.getManifest('hub', 'lib/a', d('b'))).toBeUndefined();
});

it('gives a listing 30 days from its last write', async () => {
  await store.putListing('tags', 'hub', 'lib/a', '[null,null]', { value: { tags: ['1'] }, at: 5 });
  const key = `tollgate:listing:${JSON.stringify(['tags', 'hub', 'lib/a', '[null,null]'])}`;
  expect(await raw.pTTL(key)).toBeGreaterThan(30 * DAY_MS - 60_000);
});

it('gives a blob table 90 days from its last write or listing', async () => {
  await store.putBlob(d('c'), { size: 3, lastAccess: 1 });
  const table = 'tollgate:blob:host-a';
  expect(await raw.pTTL(table)).toBeGreaterThan(90 * DAY_MS - 60_000);
  await raw.pExpire(table, 1_000_000);
  expect([...(await store.listBlobs()).keys()]).toEqual([d('c')]);
  expect(await raw.pTTL(table)).toBeGreaterThan(90 * DAY_MS - 60_000);
  await store.deleteBlob(d('c'));
  expect(await raw.exists(table)).toBe(0);
});
