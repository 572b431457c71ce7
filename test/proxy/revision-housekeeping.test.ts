/**
 * Verdicts and admissions are kept per gate revision; a revision no proxy serves under any more is dead weight
 * that used to grow forever. A proxy marks its own revisions live and removes the rest at start (and hourly),
 * keeping revisions another proxy sharing the store still marks live.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allowAllGate, LevelMetadataStore } from '../../packages/proxy/src/index.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
let dir: string | undefined;
let proxy: RunningProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('metadata of old gate revisions', () => {
  it('is removed when the proxy starts; its own revision and one another proxy marks live are kept', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-revisions-'));
    const seeded = await LevelMetadataStore.open(join(dir, 'meta'));
    const verdict = (rev: string) => ({ decision: 'allow' as const, reasons: [], policyRevision: rev, evaluatedAt: Date.now() });
    for (const rev of [allowAllGate.revision, 'retired', 'other-replica']) {
      await seeded.putVerdict(rev, 'up', 'team/app', d('a'), verdict(rev));
      await seeded.admitBlobs(rev, 'up', 'team/app', d('a'), [{ digest: d('b'), size: 3 }]);
    }
    await seeded.markRevisionLive('other-replica', Date.now() + 3600_000);
    await seeded.markRevisionLive('retired', Date.now() - 1);
    await seeded.close();

    proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'up', oci: dir, default: true }], dataDir: dir });
    await proxy.proxy.core.idle();
    const meta = proxy.proxy.core.meta;
    expect(await meta.getVerdict('retired', 'up', 'team/app', d('a'))).toBeUndefined();
    expect(await meta.getAdmission('retired', 'up', 'team/app', d('b'))).toBeUndefined();
    for (const rev of [allowAllGate.revision, 'other-replica']) {
      expect(await meta.getVerdict(rev, 'up', 'team/app', d('a'))).toMatchObject({ policyRevision: rev });
      expect(await meta.getAdmission(rev, 'up', 'team/app', d('b'))).toEqual({ size: 3, manifest: d('a') });
    }
    expect([...(await meta.liveRevisions(Date.now()))].sort()).toEqual([allowAllGate.revision, 'other-replica'].sort());
  });
});
