/**
 * `--since`/`--until` over the Redis stream: the window is an XREVRANGE id range (ids are event times), so a query
 * of a past day asks Redis for that day only — seen in the server's slow log (every command logged, with its
 * arguments), not by wrapping the store. An event kept under a later id (another replica's clock ahead) still
 * falls in its window by its own time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryAuditStore } from '../src/audit/query.js';
import { AUDIT_ID_SLACK_MS, RedisMetadataStore } from '../src/store/redis-metadata-store.js';
import { startRedis, type RunningRedis } from '../../../test/proxy/support/redis.js';
import { connectRawRedis, type RawRedis } from './raw-redis.js';
import { expectWindows, HOUR, recordPlan, T0 } from './audit-window-cases.js';

let redis: RunningRedis;
let store: RedisMetadataStore;
let raw: RawRedis;

beforeAll(async () => {
  redis = await startRedis();
  store = await RedisMetadataStore.open(redis.url(1));
  raw = await connectRawRedis(redis.url(1));
  await recordPlan(store);
});

afterAll(async () => {
  await store?.close();
  raw?.destroy();
  await redis?.stop();
});

/** The XREVRANGE calls the server ran while `run` did, with their arguments. */
async function xrevranges(run: () => Promise<unknown>): Promise<string[][]> {
  await raw.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '0']);
  await raw.sendCommand(['CONFIG', 'SET', 'slowlog-max-len', '1000']);
  await raw.sendCommand(['SLOWLOG', 'RESET']);
  await run();
  const log = (await raw.sendCommand(['SLOWLOG', 'GET', '1000'])) as unknown[][];
  await raw.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
  return log.map((entry) => (entry[3] as string[]).map(String)).filter((args) => args[0]?.toUpperCase() === 'XREVRANGE').reverse();
}

it('cuts windows with both bounds inclusive', async () => {
  await expectWindows((query) => queryAuditStore(store, query));
});

it('asks Redis only for the window: one XREVRANGE from until (plus the slack) down to since', async () => {
  const since = T0 + 2 * HOUR;
  const until = T0 + 4 * HOUR;
  const calls = await xrevranges(() => queryAuditStore(store, { since, until }));
  expect(calls).toEqual([['XREVRANGE', 'tollgate:audit', String(until + AUDIT_ID_SLACK_MS), String(since), 'COUNT', '500']]);
  // The range Redis was asked for holds the window's 3 events, not the 19 after it.
  expect(await raw.xRange('tollgate:audit', String(since), String(until + AUDIT_ID_SLACK_MS))).toHaveLength(3);
  const open = await xrevranges(() => queryAuditStore(store, { until: T0 + HOUR }));
  expect(open).toEqual([['XREVRANGE', 'tollgate:audit', String(T0 + HOUR + AUDIT_ID_SLACK_MS), '-', 'COUNT', '500']]);
  // An empty window asks nothing.
  expect(await xrevranges(() => store.listAudit(10, { since: until, until: since }))).toEqual([]);
});

it('finds an event kept under a later id than its time within its window, and leaves one outside it out', async () => {
  // A replica whose clock lags another's by 10 s: the stream already holds a later id, so its event goes in under
  // the next one (Redis's own clock picks it: real time here).
  const db = await RedisMetadataStore.open(redis.url(2));
  const rawDb = await connectRawRedis(redis.url(2));
  try {
    const ahead = Date.now() + 10_000;
    await rawDb.xAdd('tollgate:audit', `${ahead}-0`, { e: JSON.stringify({ type: 'access', at: ahead, repository: 'ahead' }) });
    const behind = await db.audit({ type: 'access', repository: 'behind' });
    const [entry] = (await rawDb.xRevRange('tollgate:audit', '+', '-', { COUNT: 1 })) ?? [];
    expect(Number(entry!.id.split('-')[0])).toBeGreaterThanOrEqual(ahead); // kept under a later id than its time
    expect((await db.listAudit(10, { since: behind.at, until: behind.at })).map((e) => e.repository)).toEqual(['behind']);
    expect((await db.listAudit(10, { since: behind.at + 1, until: ahead })).map((e) => e.repository)).toEqual(['ahead']);
    expect((await db.listAudit(10, { until: behind.at - 1 })).map((e) => e.repository)).toEqual([]);
  } finally {
    await db.close();
    rawDb.destroy();
  }
});
