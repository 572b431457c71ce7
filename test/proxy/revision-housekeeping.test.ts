/**
 * Verdicts and admissions are kept per gate revision; a revision no proxy serves under any more is dead weight.
 * Each running proxy (a replica, with an id of its own) marks its revisions live for 15 minutes and renews them
 * every 5; a graceful close removes its marks, a killed replica's lapse. Pruning keeps every revision some replica
 * marks live and the proxy's own, and runs at start, hourly, and when a revision stopped being live — one replica
 * at a time. Time is the proxies' injected clock; nothing here sleeps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate, createLogger, LevelMetadataStore, type Gate, type MetadataStore } from '../../packages/proxy/src/index.js';
import { RedisMetadataStore } from '../../packages/proxy/src/store/redis-metadata-store.js';
import { PRUNE_EVERY_MS, RENEW_EVERY_MS, REVISION_MARK_MS, RevisionHousekeeping, type HousekeepingCore } from '../../packages/proxy/src/store/revision-housekeeping.js';
import { connectRawRedis, type RawRedis } from '../../packages/proxy/test/raw-redis.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const MIN = 60_000;
const verdict = (rev: string) => ({ decision: 'allow' as const, reasons: [], policyRevision: rev, evaluatedAt: 0 });
const gate = (revision: string): Gate => ({ ...allowAllGate, revision });

let now = Date.now();
const clock = () => now;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function seed(meta: MetadataStore, revisions: string[]): Promise<void> {
  for (const rev of revisions) {
    await meta.putVerdict(rev, 'up', 'team/app', d('a'), verdict(rev));
    await meta.admitBlobs(rev, 'up', 'team/app', d('a'), [{ digest: d('b'), size: 3 }]);
    await meta.addParent(rev, 'up', 'team/app', [d('a')], d('c'));
  }
}

/** Which of `revisions` still have their verdict, admission and parent link (all three, or none: anything else fails). */
async function kept(meta: MetadataStore, revisions: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const rev of revisions) {
    const present = [
      (await meta.getVerdict(rev, 'up', 'team/app', d('a'))) !== undefined,
      (await meta.getAdmission(rev, 'up', 'team/app', d('b'))) !== undefined,
      (await meta.getParents(rev, 'up', 'team/app', d('a'))).length > 0,
    ];
    expect(new Set(present).size, `records of ${rev}`).toBe(1);
    if (present[0]) out.push(rev);
  }
  return out;
}

/** A replica's housekeeping over its own store connection, on the shared clock, serving under `revision`. */
function replica(meta: MetadataStore, revision: string, id: string): RevisionHousekeeping {
  const core = { now: clock, meta, upstreams: [{ name: 'up' }], revisionFor: () => revision, log: createLogger('silent') };
  return new RevisionHousekeeping(core as unknown as HousekeepingCore, id);
}

describe('gate revisions on level (one process)', () => {
  it('removes old revisions at start, keeps its own and marks that last; its marks go at close', async () => {
    now = Date.now();
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-revisions-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const seeded = await LevelMetadataStore.open(join(dir, 'meta'));
    await seed(seeded, [allowAllGate.revision, 'retired', 'earlier-run', 'old-format']);
    // A previous run killed 5 minutes ago: its mark lasts 10 more minutes.
    await seeded.markRevisionLive('earlier-run-replica', 'earlier-run', now + REVISION_MARK_MS - 5 * MIN);
    await seeded.markRevisionLive('gone-replica', 'retired', now - 1);
    await seeded.close();

    const proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', oci: dir, default: true }], dataDir: dir, clock });
    cleanups.push(() => proxy.close());
    await proxy.proxy.core.idle();
    const meta = proxy.proxy.core.meta;
    expect(await kept(meta, [allowAllGate.revision, 'retired', 'earlier-run', 'old-format'])).toEqual([allowAllGate.revision, 'earlier-run']);
    expect([...(await meta.liveRevisions(now))].sort()).toEqual([allowAllGate.revision, 'earlier-run'].sort());

    // The earlier run's mark lapses: the next renewal sees the loss and prunes, without waiting for the hour.
    now += 11 * MIN;
    expect(await proxy.proxy.revisions.run()).toMatchObject({ pruned: true, removed: 3 });
    expect(await kept(meta, [allowAllGate.revision, 'earlier-run'])).toEqual([allowAllGate.revision]);
    // Nothing lost since: renewals do not prune.
    now += RENEW_EVERY_MS;
    expect(await proxy.proxy.revisions.run()).toMatchObject({ pruned: false });

    await proxy.close();
    const reopened = await LevelMetadataStore.open(join(dir, 'meta'));
    expect([...(await reopened.liveRevisions(now))]).toEqual([]);
    await reopened.close();
  });
});

describe('gate revisions on Redis (replicas sharing the store)', () => {
  let redis: RunningRedis;
  let raw: RawRedis;

  beforeAll(async () => {
    redis = await startRedis();
    raw = await connectRawRedis(redis.url(3));
  });

  afterAll(async () => {
    raw?.destroy();
    await redis?.stop();
  });

  async function store(): Promise<RedisMetadataStore> {
    const meta = await RedisMetadataStore.open(redis.url(3));
    cleanups.push(() => meta.close());
    return meta;
  }

  async function fresh(): Promise<void> {
    now = Date.now();
    await raw.flushDb();
  }

  it('a replica stopped gracefully frees its revision at once: the next housekeeping of a peer prunes it', async () => {
    await fresh();
    const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'tollgate-revisions-'))));
    for (const dir of dirs) cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const start = (revision: string, dir: string): Promise<RunningProxy> =>
      startProxy({ gate: gate(revision), upstreams: [{ name: 'up', oci: dir, default: true }], dataDir: dir, clock, extra: { store: { metadata: redis.url(3) } } });
    const a = await start('A', dirs[0]!);
    cleanups.push(() => a.close());
    const b = await start('B', dirs[1]!);
    cleanups.push(() => b.close());
    await Promise.all([a.proxy.core.idle(), b.proxy.core.idle()]);
    expect(a.proxy.revisions.replica).not.toBe(b.proxy.revisions.replica);
    await seed(a.proxy.core.meta, ['A', 'B', 'retired']);
    // a's renewal (every 5 minutes) sees B live; a revision that came and went between two of a peer's renewals
    // waits for the hourly prune.
    expect((await a.proxy.revisions.run()).live.sort()).toEqual(['A', 'B']);
    const fields = Object.keys(await raw.hGetAll('tollgate:revisions')).sort();
    expect(fields).toEqual([JSON.stringify(['A', a.proxy.revisions.replica]), JSON.stringify(['B', b.proxy.revisions.replica])].sort());

    await b.close();
    expect(await raw.hKeys('tollgate:revisions')).toEqual([JSON.stringify(['A', a.proxy.revisions.replica])]);
    // Same instant, no clock moved: B's loss is seen and pruned (with the retired one).
    expect(await a.proxy.revisions.run()).toMatchObject({ pruned: true, removed: 6, live: ['A'] });
    expect(await kept(a.proxy.core.meta, ['A', 'B', 'retired'])).toEqual(['A']);
  });

  it("a killed replica's revision stays until its marks lapse, then goes; a renewing replica's never does", async () => {
    await fresh();
    const a = replica(await store(), 'A', 'replica-a');
    const bStore = await store();
    const b = replica(bStore, 'B', 'replica-b');
    await a.run();
    await b.run();
    await seed(bStore, ['A', 'B']);
    // b is killed: no close, no more renewals.
    const killedAt = now;
    for (let t = RENEW_EVERY_MS; t < REVISION_MARK_MS; t += RENEW_EVERY_MS) {
      now = killedAt + t;
      expect(await a.run()).toMatchObject({ pruned: false, live: expect.arrayContaining(['A', 'B']) as unknown });
      expect(await kept(bStore, ['A', 'B'])).toEqual(['A', 'B']);
    }
    now = killedAt + REVISION_MARK_MS;
    expect(await a.run()).toMatchObject({ pruned: true, removed: 3, live: ['A'] });
    expect(await kept(bStore, ['A', 'B'])).toEqual(['A']);
  });

  it("a peer's hourly prunes keep a revision whose replica renews, over many mark lifetimes", async () => {
    await fresh();
    const aStore = await store();
    const a = replica(aStore, 'A', 'replica-a');
    const c = replica(await store(), 'C', 'replica-c');
    await a.run();
    await c.run();
    await seed(aStore, ['A', 'C', 'retired']);
    const start = now;
    let prunes = 0;
    for (let t = RENEW_EVERY_MS; t <= 3 * PRUNE_EVERY_MS; t += RENEW_EVERY_MS) {
      now = start + t;
      await a.run();
      if ((await c.run()).pruned) prunes++;
      expect(await kept(aStore, ['A', 'C'])).toEqual(['A', 'C']);
    }
    // Hourly, and nothing in between (no revision was lost).
    expect(prunes).toBe(3);
    expect(await kept(aStore, ['retired'])).toEqual([]);
  });

  it('a replica renewing after Redis restarted empty marks its revision again', async () => {
    await fresh();
    const meta = await store();
    const a = replica(meta, 'A', 'replica-a');
    await a.run();
    raw.destroy();
    await redis.shutdown();
    await redis.start();
    now += RENEW_EVERY_MS;
    // The connection comes back by itself; the renewal that fails while it does is tried again at the next one.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await a.run();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    raw = await connectRawRedis(redis.url(3));
    expect(await raw.hGetAll('tollgate:revisions')).toEqual({ [JSON.stringify(['A', 'replica-a'])]: String(now + REVISION_MARK_MS) });
  });

  it('two replicas due at the same moment prune once: the prune lock', async () => {
    await fresh();
    const aStore = await store();
    const bStore = await store();
    await seed(aStore, ['A', 'B', 'retired']);
    let calls = 0;
    let entered!: () => void;
    const inPrune = new Promise<void>((resolve) => (entered = resolve));
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const slow = Object.create(aStore) as RedisMetadataStore;
    slow.pruneRevisions = async (keep) => {
      calls++;
      entered();
      await held;
      return aStore.pruneRevisions(keep);
    };
    const counted = Object.create(bStore) as RedisMetadataStore;
    counted.pruneRevisions = (keep) => {
      calls++;
      return bStore.pruneRevisions(keep);
    };
    const a = replica(slow, 'A', 'replica-a');
    const b = replica(counted, 'B', 'replica-b');
    // Both start now (a prune is due at start); b marks first so a's prune keeps B.
    await counted.markRevisionLive('replica-b', 'B', now + REVISION_MARK_MS);
    const first = a.run();
    await inPrune;
    expect(await b.run()).toMatchObject({ pruned: false });
    finish();
    expect(await first).toMatchObject({ pruned: true, removed: 3 });
    expect(calls).toBe(1);
    expect(await kept(aStore, ['A', 'B', 'retired'])).toEqual(['A', 'B']);
    // b still owes its start prune: it does it at its next renewal, once the lock is free.
    now += RENEW_EVERY_MS;
    expect(await b.run()).toMatchObject({ pruned: true, removed: 0 });
    expect(calls).toBe(2);
  });
});
