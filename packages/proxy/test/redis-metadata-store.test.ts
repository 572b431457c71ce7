/** The metadata-store contract against a real redis-server started on a random port. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMetadataStore } from '../src/store/redis-metadata-store.js';
import { openMetadataStore } from '../src/index.js';
import { startRedis, type RunningRedis } from '../../../test/proxy/support/redis.js';
import { connectRawRedis } from './raw-redis.js';
import { freePort } from '../../../test/support/registry.js';
import { metadataStoreContract } from './metadata-store-contract.js';

let redis: RunningRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('RedisMetadataStore', () => {
  let n = 0;
  // One database per test, 7 to 12 (5 and 6 are the tests below); the reopen test shares db 15 between its two opens.
  // The audit-trim test must not share one with the audit test: Redis trims approximately, by whole stream nodes, so
  // the other test's 1,201 events would leave more than the 30 it wrote.
  metadataStoreContract(async () => RedisMetadataStore.open(redis.url(n++ < 6 ? n + 6 : 15)));

  it('keeps each machine\'s blob table apart (blob stores are local), everything else shared', async () => {
    const a = await openMetadataStore({ kind: 'redis', url: redis.url(5) }, '/unused', '/data/a');
    const b = await openMetadataStore({ kind: 'redis', url: redis.url(5) }, '/unused', '/data/b');
    try {
      await a.putBlob('sha256:' + 'a'.repeat(64), { size: 1, lastAccess: 1 });
      expect((await b.listBlobs()).size).toBe(0);
      await a.putTag('hub', 'x', 'v1', { digest: 'sha256:' + 'b'.repeat(64), mediaType: 'm', resolvedAt: 1 });
      expect((await b.getTag('hub', 'x', 'v1'))?.digest).toBe('sha256:' + 'b'.repeat(64));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails with a clear error (no endless retry) when no server answers', async () => {
    const port = await freePort();
    await expect(openMetadataStore({ kind: 'redis', url: `redis://127.0.0.1:${port}/0` }, '/unused', '/data')).rejects.toThrow(/cannot reach the Redis metadata store at 127\.0\.0\.1:\d+/);
  });

  it('refuses values it did not write instead of trusting them', async () => {
    const store = await RedisMetadataStore.open(redis.url(6));
    const raw = await connectRawRedis(redis.url(6));
    try {
      await raw.set(`tollgate:verdict:${JSON.stringify(['r', 'hub', 'x', 'sha256:' + 'c'.repeat(64)])}`, 'not json{');
      await expect(store.getVerdict('r', 'hub', 'x', 'sha256:' + 'c'.repeat(64))).rejects.toThrow(/not JSON/);
    } finally {
      raw.destroy();
      await store.close();
    }
  });
});
