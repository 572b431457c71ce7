import { join } from 'node:path';
import { diffImages, Image, LayerIndexStore, loadManifest, type ContentSource } from '@tollgate/core';
import type { AuditEvent } from '../../audit/event.js';
import { cachedBlobSource } from '../../serve/cached-blob-source.js';
import type { ProxyCore } from '../../serve/proxy-core.js';
import type { Upstream } from '../../upstream/types.js';
import { diffKey, storedDiff, type StoredDiff } from './stored-diff.js';

/** Bounds of one background diff. */
export const DIFF_LIMITS = {
  /** Compressed bytes of the layers the two images do not share (a bigger move is recorded as skipped). */
  maxLayerBytes: 512 * 1024 * 1024,
  /** Wall time, then it is abandoned and recorded as failed. */
  timeoutMs: 120_000,
  /** Moves waiting; more are dropped (and computed on a later decision of the same move). */
  maxQueued: 32,
};

/**
 * Computes the file-level diff of each tag move the proxy decides on (a deny of a digest whose tag was admitted at
 * another digest, or any moved tag), in the background after the decision, one at a time: the two images are read
 * through the proxy's cache (the admitted one is usually there; blobs read for the diff are verified and cached,
 * never admitted) and layer file indexes are kept by diffID in `<dataDir>/ui/layer-index`, so a layer is never
 * decompressed twice. The result, or why there is none, is stored with the decision's (upstream, repository,
 * from..to) in the metadata store, where every replica's dashboard reads it.
 */
export class DiffRecorder {
  private readonly queue: AuditEvent[] = [];
  private readonly queued = new Set<string>();
  private draining: Promise<void> | undefined;
  private store: Promise<LayerIndexStore | undefined> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly core: ProxyCore) {}

  /** Audit listener: queues the diff of a verdict's tag move. */
  readonly onEvent = (event: AuditEvent): void => {
    const move = event.tagMove;
    if (event.type !== 'verdict' || move === undefined || typeof event.upstream !== 'string' || typeof event.repository !== 'string') return;
    const key = JSON.stringify([event.upstream, event.repository, move.from, move.to]);
    if (this.queued.has(key) || this.queue.length >= DIFF_LIMITS.maxQueued || this.abort.signal.aborted) return;
    this.queued.add(key);
    this.queue.push(event);
    this.start();
  };

  private start(): void {
    if (this.draining !== undefined) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0 && !this.abort.signal.aborted) this.start();
    });
    this.core.track(this.draining);
  }

  private async drain(): Promise<void> {
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
      const move = event.tagMove!;
      const key = JSON.stringify([event.upstream, event.repository, move.from, move.to]);
      try {
        await this.record(event.upstream!, event.repository!, move.tag, move.from, move.to);
      } catch (error) {
        this.core.log.warn({ err: error, upstream: event.upstream, repository: event.repository, from: move.from, to: move.to }, 'dashboard: could not record the diff of a tag move');
      } finally {
        this.queued.delete(key);
      }
    }
  }

  /** Computes and stores one diff unless one is stored already. */
  async record(upstreamName: string, repository: string, tag: string, from: string, to: string): Promise<StoredDiff | undefined> {
    const { core } = this;
    const existing = await core.meta.getListing('image-diff', upstreamName, repository, diffKey(from, to));
    if (existing !== undefined) return existing.value as StoredDiff;
    const upstream = core.upstreams.find((u) => u.name === upstreamName);
    if (upstream === undefined) return undefined;
    const result = await this.compute(upstream, repository, tag, from, to);
    await core.meta.putListing('image-diff', upstreamName, repository, diffKey(from, to), { value: result, at: core.now() });
    return result;
  }

  private async compute(upstream: Upstream, repository: string, tag: string, from: string, to: string): Promise<StoredDiff> {
    const { core } = this;
    const at = core.now();
    const skipped = (status: 'skipped' | 'failed', reason: string): StoredDiff => ({ status, from, to, tag, computedAt: at, reason });
    const route = { upstream, repository };
    const source: ContentSource = cachedBlobSource(core, route, upstream.source(repository));
    const [a, b] = await Promise.all([this.image(source, upstream.name, repository, from), this.image(source, upstream.name, repository, to)]);
    if (a === undefined || b === undefined) return skipped('skipped', 'one of the two manifests is an index or no longer cached; compare them with tollgate diff');
    const inA = new Set(a.layers.map((l) => l.digest));
    const inB = new Set(b.layers.map((l) => l.digest));
    const unshared = [...a.layers.filter((l) => !inB.has(l.digest)), ...b.layers.filter((l) => !inA.has(l.digest))];
    const bytes = unshared.reduce((sum, l) => sum + l.size, 0);
    if (bytes > DIFF_LIMITS.maxLayerBytes) return skipped('skipped', `the images differ in ${bytes} bytes of layers, over the dashboard's ${DIFF_LIMITS.maxLayerBytes}-byte bound; compare them with tollgate diff`);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(DIFF_LIMITS.timeoutMs)]);
    try {
      const store = await this.layerIndexStore();
      const diff = await diffImages(a, b, { only: ['files', 'config', 'layers'], semantic: true, signal, ...(store !== undefined ? { store } : {}), references: { a: from, b: to } });
      return storedDiff(diff, from, to, tag, at);
    } catch (error) {
      return skipped('failed', `the diff could not be computed: ${(error as Error).message.slice(0, 300)}`);
    }
  }

  private async image(source: ContentSource, upstream: string, repository: string, digest: string): Promise<Image | undefined> {
    const cached = await this.core.meta.getManifest(upstream, repository, digest);
    if (cached === undefined) return undefined;
    const loaded = loadManifest(source, { bytes: cached.bytes, mediaType: cached.mediaType, expectedDigest: digest });
    return loaded instanceof Image ? loaded : undefined;
  }

  private layerIndexStore(): Promise<LayerIndexStore | undefined> {
    this.store ??= LayerIndexStore.open(join(this.core.config.dataDir, 'ui')).catch((error: unknown) => {
      this.core.log.warn({ err: error }, 'dashboard: no layer index cache; diffs read every layer they need');
      return undefined;
    });
    return this.store;
  }

  /** Stops queued work and closes the layer index cache. */
  async close(): Promise<void> {
    this.abort.abort();
    this.queue.length = 0;
    await this.draining;
    const store = await this.store;
    await store?.close();
  }
}
