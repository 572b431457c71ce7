/** The behaviour every MetadataStore implementation must have; run by the level and Redis test files. */
import { expect, it } from 'vitest';
import type { MetadataStore } from '../src/index.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

export function metadataStoreContract(open: () => Promise<MetadataStore>): void {
  it('keeps the last listing per kind, repository and query, apart from each other', async () => {
    const store = await open();
    try {
      expect(await store.getListing('tags', 'hub', 'library/alpine', '[null,null]')).toBeUndefined();
      const page = { tags: ['3.19', '3.20'], more: false };
      await store.putListing('tags', 'hub', 'library/alpine', '[null,null]', { value: page, at: 7 });
      expect(await store.getListing('tags', 'hub', 'library/alpine', '[null,null]')).toEqual({ value: page, at: 7 });
      expect(await store.getListing('tags', 'hub', 'library/alpine', '[1,null]')).toBeUndefined();
      expect(await store.getListing('referrers', 'hub', 'library/alpine', '[null,null]')).toBeUndefined();
      expect(await store.getListing('tags', 'hub', 'library/busybox', '[null,null]')).toBeUndefined();
      expect(await store.getListing('tags', 'ghcr', 'library/alpine', '[null,null]')).toBeUndefined();
      await store.putListing('tags', 'hub', 'library/alpine', '[null,null]', { value: { tags: [], more: false }, at: 9 });
      expect(await store.getListing('tags', 'hub', 'library/alpine', '[null,null]')).toEqual({ value: { tags: [], more: false }, at: 9 });
    } finally {
      await store.close();
    }
  });

  it('stores and reads tags, manifests (byte-exact), verdicts per revision, admissions and parents', async () => {
    const store = await open();
    try {
      expect(await store.getTag('hub', 'library/alpine', 'latest')).toBeUndefined();
      await store.putTag('hub', 'library/alpine', 'latest', { digest: d('a'), mediaType: 'm', resolvedAt: 5, accepted: d('b') });
      expect(await store.getTag('hub', 'library/alpine', 'latest')).toEqual({ digest: d('a'), mediaType: 'm', resolvedAt: 5, accepted: d('b') });
      // Keys cannot be forged by joining components differently.
      expect(await store.getTag('hub', 'library', 'alpine/latest')).toBeUndefined();
      const bytes = new Uint8Array([0, 1, 2, 255, 0x7b, 0x22]);
      await store.putManifest('hub', 'library/alpine', d('a'), { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      const manifest = await store.getManifest('hub', 'library/alpine', d('a'));
      expect(Buffer.from(manifest!.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(manifest!.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const verdict = { decision: 'allow' as const, rule: 'r', reasons: ['x'], policyRevision: 'rev1', verified: true };
      await store.putVerdict('rev1', 'hub', 'library/alpine', d('a'), verdict);
      expect(await store.getVerdict('rev1', 'hub', 'library/alpine', d('a'))).toEqual(verdict);
      expect(await store.getVerdict('rev2', 'hub', 'library/alpine', d('a'))).toBeUndefined();
      await store.admitBlobs('rev1', 'hub', 'library/alpine', d('a'), [{ digest: d('c'), size: 10 }, { digest: d('e'), size: 20 }]);
      expect(await store.getAdmission('rev1', 'hub', 'library/alpine', d('e'))).toEqual({ size: 20, manifest: d('a') });
      expect(await store.getAdmission('rev1', 'hub', 'library/busybox', d('e'))).toBeUndefined();
      expect(await store.getAdmission('rev2', 'hub', 'library/alpine', d('e'))).toBeUndefined();
      expect(await store.getParents('rev1', 'hub', 'library/alpine', d('f'))).toEqual([]);
      await store.addParent('rev1', 'hub', 'library/alpine', [d('f')], d('1'));
      await store.addParent('rev1', 'hub', 'library/alpine', [d('f')], d('1'));
      await store.addParent('rev1', 'hub', 'library/alpine', [d('f')], d('2'));
      expect(await store.getParents('rev1', 'hub', 'library/alpine', d('f'))).toEqual([d('1'), d('2')]);
      for (let i = 0; i < 20; i++) await store.addParent('rev1', 'hub', 'library/alpine', [d('9')], `sha256:${String(i).padStart(64, '0')}`);
      const parents = await store.getParents('rev1', 'hub', 'library/alpine', d('9'));
      expect(parents).toHaveLength(16);
      expect(parents[15]).toBe(`sha256:${String(19).padStart(64, '0')}`);
    } finally {
      await store.close();
    }
  });

  it('keeps blob sizes and access times, health, and prunes old tags', async () => {
    const store = await open();
    try {
      await store.putBlob(d('a'), { size: 1, lastAccess: 10 });
      await store.putBlob(d('b'), { size: 2, lastAccess: 20 });
      expect(await store.getBlob(d('a'))).toEqual({ size: 1, lastAccess: 10 });
      await store.deleteBlob(d('a'));
      expect(await store.getBlob(d('a'))).toBeUndefined();
      expect([...(await store.listBlobs()).entries()]).toEqual([[d('b'), { size: 2, lastAccess: 20 }]]);
      await store.putHealth('hub', { ok: false, at: 3, error: 'down' });
      expect(await store.getHealth('hub')).toEqual({ ok: false, at: 3, error: 'down' });
      await store.putTag('hub', 'r', 'old', { digest: d('a'), mediaType: 'm', resolvedAt: 100 });
      await store.putTag('hub', 'r', 'new', { digest: d('a'), mediaType: 'm', resolvedAt: 10_000 });
      expect(await store.pruneTags(5000)).toBeGreaterThanOrEqual(1);
      expect(await store.getTag('hub', 'r', 'old')).toBeUndefined();
      expect(await store.getTag('hub', 'r', 'new')).toBeDefined();
    } finally {
      await store.close();
    }
  });

  it('appends audit events in order, stamps them, lists newest first, filters by since, and pages through many', async () => {
    const store = await open();
    try {
      const before = Date.now();
      const first = await store.audit({ type: 'verdict', repository: 'a', verdict: 'allow' });
      expect(first.at).toBeGreaterThanOrEqual(before);
      expect(first.time).toBe(new Date(first.at).toISOString());
      for (let i = 0; i < 1200; i++) await store.audit({ type: 'verdict', repository: `r${i}`, verdict: 'deny' });
      const newest = await store.listAudit(3);
      expect(newest.map((e) => e.repository)).toEqual(['r1199', 'r1198', 'r1197']);
      let count = 0;
      let last = Infinity;
      for await (const event of store.scanAudit({ since: before })) {
        expect(event.at).toBeLessThanOrEqual(last);
        last = event.at;
        count++;
      }
      expect(count).toBe(1201);
      expect(await store.listAudit(10, { since: Date.now() + 60_000 })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('prunes verdicts, admissions and parents of revisions not kept, and tracks which revisions are live', async () => {
    const store = await open();
    try {
      const verdict = (rev: string) => ({ decision: 'allow' as const, reasons: [], policyRevision: rev });
      for (const rev of ['keep', 'keep+warn', 'old', '["tricky"', 'old+warn']) {
        await store.putVerdict(rev, 'hub', 'library/alpine', d('a'), verdict(rev));
        await store.admitBlobs(rev, 'hub', 'library/alpine', d('a'), [{ digest: d('c'), size: 1 }]);
        await store.addParent(rev, 'hub', 'library/alpine', [d('f')], d('1'));
      }
      await store.putTag('hub', 'library/alpine', 'old', { digest: d('a'), mediaType: 'm', resolvedAt: 1 });
      expect(await store.pruneRevisions(new Set(['keep', 'keep+warn']))).toBe(9);
      for (const rev of ['keep', 'keep+warn']) {
        expect(await store.getVerdict(rev, 'hub', 'library/alpine', d('a'))).toEqual(verdict(rev));
        expect(await store.getAdmission(rev, 'hub', 'library/alpine', d('c'))).toEqual({ size: 1, manifest: d('a') });
        expect(await store.getParents(rev, 'hub', 'library/alpine', d('f'))).toEqual([d('1')]);
      }
      for (const rev of ['old', '["tricky"', 'old+warn']) {
        expect(await store.getVerdict(rev, 'hub', 'library/alpine', d('a'))).toBeUndefined();
        expect(await store.getAdmission(rev, 'hub', 'library/alpine', d('c'))).toBeUndefined();
        expect(await store.getParents(rev, 'hub', 'library/alpine', d('f'))).toEqual([]);
      }
      // Other tables are untouched.
      expect(await store.getTag('hub', 'library/alpine', 'old')).toBeDefined();
      expect(await store.pruneRevisions(new Set(['keep', 'keep+warn']))).toBe(0);

      await store.markRevisionLive('r1', 'a', 1000);
      await store.markRevisionLive('r1', 'b', 3000);
      expect([...(await store.liveRevisions(2000))]).toEqual(['b']);
      // The expired mark is gone for good, even for an earlier clock.
      expect([...(await store.liveRevisions(0))].sort()).toEqual(['b']);
      await store.markRevisionLive('r1', 'a', 5000);
      expect([...(await store.liveRevisions(2000))].sort()).toEqual(['a', 'b']);
      // Marks are per replica: a revision stays live while any replica's mark on it lasts.
      await store.markRevisionLive('r2', 'b', 9000);
      await store.markRevisionLive('r2', '["tricky"', 9000);
      expect([...(await store.liveRevisions(4000))].sort()).toEqual(['["tricky"', 'a', 'b']);
      // A replica removes its own marks only: all of them, or those not in `except`.
      await store.unmarkRevisions('r2', new Set(['b']));
      expect([...(await store.liveRevisions(4000))].sort()).toEqual(['a', 'b']);
      await store.unmarkRevisions('r1');
      expect([...(await store.liveRevisions(4000))].sort()).toEqual(['b']);
      await store.unmarkRevisions('r2');
      expect([...(await store.liveRevisions(0))]).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('trims the audit trail to a bound, oldest first', async () => {
    const store = await open();
    try {
      for (let i = 0; i < 30; i++) await store.audit({ type: 'access', reasons: [`event ${i}`] });
      await store.trimAudit(10);
      const left = await store.listAudit(100);
      // Redis trims approximately (whole stream nodes, and its stream is shared by this file's tests): never below
      // the bound, and never a newer event dropped while an older one stays.
      expect(left.length).toBeGreaterThanOrEqual(10);
      expect(left.slice(0, 10).map((e) => e.reasons?.[0])).toEqual(Array.from({ length: 10 }, (_, i) => `event ${29 - i}`));
      if (store.kind === 'level') expect(left).toHaveLength(10);
    } finally {
      await store.close();
    }
  });

  it('survives reopening: what was written is still there', async () => {
    const store = await open();
    await store.putTag('hub', 'persist', 'v1', { digest: d('7'), mediaType: 'm', resolvedAt: 1 });
    await store.audit({ type: 'tag-mutation', repository: 'persist' });
    await store.close();
    const again = await open();
    try {
      expect((await again.getTag('hub', 'persist', 'v1'))?.digest).toBe(d('7'));
      expect((await again.listAudit(1))[0]?.repository).toBe('persist');
    } finally {
      await again.close();
    }
  });
}
