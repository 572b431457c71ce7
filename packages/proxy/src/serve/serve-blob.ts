import type { FileHandle } from 'node:fs/promises';
import { parseDigest, TollgateError } from '@tollgate/core';
import { BlobFetch, type ByteSink } from '../fetch/blob-fetch.js';
import type { StoredRead } from '../store/blobs/types.js';
import { takeLock, waitForPeer, type HeldLock } from '../store/peer-lock.js';
import { sendVerifiedRemote } from './send-remote.js';
import { dropCorruptStored, liveStoreFetch, releaseTemp, startStoreFetch } from './store-fetch.js';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { ProxyCore } from './proxy-core.js';
import { isPolicyRefusal, refuse } from './refusal.js';
import { resolveManifest, verdictStands, type RequestContext } from './resolve-manifest.js';

/**
 * A blob is served only while a manifest admitted in this (upstream, repository) references it and that manifest's
 * verdict stands: current policy revision, not expired, not denied since. Anything else is BLOB_UNKNOWN, with no
 * upstream request and no cross-repository serving. An expired (or missing) verdict is evaluated again first, as a
 * pull of the manifest would be: a signature removed upstream stops the image's blobs too, not only its manifest,
 * and an upstream that cannot be read for the re-evaluation fails the blob closed.
 */
export async function admittedBlob(core: ProxyCore, route: UpstreamRoute, rawDigest: string, context: RequestContext = {}): Promise<{ digest: string; size: number }> {
  let digest: string;
  try {
    digest = parseDigest(rawDigest).value;
  } catch (error) {
    refuse({ kind: 'invalid-digest' }, (error as Error).message.slice(0, 300));
  }
  const revision = core.revisionFor(route.upstream);
  const admission = await core.meta.getAdmission(revision, route.upstream.name, route.repository, digest);
  if (admission === undefined) {
    core.metrics.denied.inc({ reason: 'blob' });
    refuse({ kind: 'blob-not-admitted', reason: 'no manifest admitted in this repository references this blob; pull the image manifest first' }, 'blob unknown to registry');
  }
  let verdict = await core.meta.getVerdict(revision, route.upstream.name, route.repository, admission.manifest);
  if (verdict === undefined || !verdictStands(core, verdict)) {
    try {
      verdict = (await resolveManifest(core, route, admission.manifest, context)).verdict;
    } catch (error) {
      if (!isPolicyRefusal(error)) throw error;
      verdict = { decision: 'deny', reasons: [error.message], policyRevision: core.gate.revision };
    }
  }
  if (verdict.decision === 'deny' && core.modeFor(route.upstream) === 'enforce') {
    core.metrics.denied.inc({ reason: 'blob' });
    refuse({ kind: 'blob-not-admitted', reason: `the manifest that admitted this blob (${admission.manifest}) is now denied: ${(verdict.reasons[0] ?? verdict.rule ?? 'policy').slice(0, 200)}` }, 'blob unknown to registry');
  }
  return { digest, size: admission.size };
}

/**
 * An admitted blob ready to send: a committed local file (sent with reused buffers), a committed blob in a shared
 * store (streamed and hashed on the way), or a download in flight to follow (`release` once writeTo has started).
 */
export type OpenedBlob =
  | { kind: 'file'; handle: FileHandle; start: number; end: number }
  | { kind: 'remote'; digest: string; read: Extract<StoredRead, { kind: 'remote' }>; start: number; end: number }
  | { kind: 'fetch'; fetch: BlobFetch; release: () => void; start: number; end: number };

async function openCached(core: ProxyCore, digest: string, size: number, range?: { start: number; end: number }): Promise<Exclude<OpenedBlob, { kind: 'fetch' }> | undefined> {
  const read = await core.blobs.openRead(digest);
  if (read === undefined) return undefined;
  if (read.size !== size) {
    if (read.kind === 'file') await read.handle.close();
    refuse({ kind: 'blob-size-conflict' }, `blob ${digest} is ${read.size} bytes in the store but the admitting manifest declares ${size}; refusing it`);
  }
  core.retention.touch(digest);
  core.metrics.cache.inc({ kind: 'blob', result: 'hit' });
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  return read.kind === 'file' ? { kind: 'file', handle: read.handle, start, end } : { kind: 'remote', digest, read, start, end };
}

/**
 * Downloads in flight are keyed by upstream and digest: clients of one upstream share its download, but an upstream
 * that sends bad bytes (or fails) for a digest never makes pulls of the same digest through another upstream fail.
 */
function fetchKey(route: UpstreamRoute, digest: string): string {
  return JSON.stringify([route.upstream.name, digest]);
}

function startFetch(core: ProxyCore, route: UpstreamRoute, digest: string, size: number, lock?: HeldLock): BlobFetch {
  const { upstream, repository } = route;
  const key = fetchKey(route, digest);
  const tempPath = core.blobs.tempPath();
  const upload = core.blobs.beginUpload(digest, size, tempPath);
  const fetch = new BlobFetch({
    digest,
    size,
    tempPath,
    finalPath: core.blobs.committedPath(tempPath, digest),
    ...(upload !== undefined ? { upload } : {}),
    // Through the upstream's gateway, which counts the request and reports the upstream's health.
    open: (signal) => upstream.getBlob(repository, digest, size, signal),
    commit: (temp) => core.blobs.commit(temp, digest),
    onBytes: (n) => core.metrics.upstreamBytes.inc({ upstream: upstream.name }, n),
  });
  core.blobFetches.set(key, fetch);
  core.metrics.inflight.inc();
  core.metrics.cache.inc({ kind: 'blob', result: 'miss' });
  // Only this fetch's own entry: a failed one may already have been replaced by a new download (see openBlob).
  const forget = (verified: boolean) => {
    if (core.blobFetches.get(key) === fetch) core.blobFetches.delete(key);
    void lock?.release();
    // A shared store's fetch keeps its temp file for the readers that joined it; the last one out removes it, or
    // keeps it as this replica's local copy once it is verified and committed.
    if (core.blobs.keepsTempAfterCommit) fetch.retire(() => releaseTemp(core, tempPath, digest, size, verified));
  };
  const settled = fetch.done.then(
    async () => {
      forget(true);
      core.metrics.inflight.dec();
      await core.retention.added(digest, size).catch((error: unknown) => core.log.error({ err: error, digest }, 'recording a cached blob failed'));
      core.metrics.cacheBytes.set(core.retention.totalBytes);
      core.metrics.cacheBlobs.set(core.retention.count);
    },
    async (error: unknown) => {
      forget(false);
      core.metrics.inflight.dec();
      const code = error instanceof TollgateError ? error.code : 'ERROR';
      if (code === 'DIGEST_MISMATCH' || code === 'SIZE_MISMATCH') {
        core.metrics.integrityFailures.inc({ upstream: upstream.name, kind: 'blob' });
        core.log.error({ upstream: upstream.name, repository, digest, err: error }, 'upstream blob failed verification; not served, not cached');
        await core.audit.record({ type: 'blob-integrity', upstream: upstream.name, repository, digest, reasons: [(error as Error).message.slice(0, 300)], error: (error as Error).message });
      } else {
        core.log.warn({ upstream: upstream.name, repository, digest, code }, 'blob fetch failed');
      }
    },
  );
  core.track(settled);
  return fetch;
}

/** How long a replica waits for a peer's download of a blob into the shared store before fetching it itself. */
const PEER_DOWNLOAD_WAIT_MS = 120_000;

/**
 * The lock that says which replica writes a blob into the shared store. By digest, not by upstream: it guards the
 * object's key, so its holder may abort whatever uploads of that key exist (a killed holder's). A bad upstream can
 * only delay another upstream's pull of the same digest (its waiters fetch themselves once the lock goes, or after
 * the bounded wait), never fail it.
 */
function fetchLockName(digest: string): string {
  return `blob:${digest}`;
}

/** Takes the blob's download lock; the holder first aborts the uploads of its key that a killed holder left. */
async function takeDownloadLock(core: ProxyCore, digest: string): Promise<HeldLock | undefined> {
  const lock = await takeLock(core.meta, fetchLockName(digest));
  if (lock === undefined || core.blobs.abortPendingUploads === undefined) return lock;
  try {
    const aborted = await core.blobs.abortPendingUploads(digest);
    if (aborted > 0) core.log.warn({ digest, aborted, store: core.blobs.describe() }, 'aborted uploads of this blob that a replica left behind (killed mid-download?)');
    return lock;
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * Opens an admitted blob: from the store when it is there, else by joining the download in flight, else by
 * starting one (concurrent requests for one digest through one upstream share a single fetch). With a shared store
 * (S3), replicas share downloads too: the one holding the blob's lock downloads, the others wait for the committed
 * object (bounded) and serve it from the store.
 */
export async function openBlob(core: ProxyCore, route: UpstreamRoute, digest: string, size: number, range?: { start: number; end: number }): Promise<OpenedBlob> {
  const key = fetchKey(route, digest);
  // A download that has failed stays in the map while it cleans up (temp file); a new request must not join it (it
  // would get the status line, then a cut body) but start a new one.
  const live = () => {
    const fetch = core.blobFetches.get(key);
    return fetch?.state === 'failed' ? undefined : fetch;
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fetch = live() ?? liveStoreFetch(core, digest);
    if (fetch === undefined) {
      const cached = await openCached(core, digest, size, range);
      if (cached !== undefined) return viaSharedRead(core, digest, cached, size, range);
      // Checked again without yielding: a fetch that committed meanwhile left the file, one in flight is in the map.
      fetch = live();
      if (fetch === undefined) {
        if (core.blobs.hasSync(digest)) continue;
        if (core.blobs.kind === 'filesystem') fetch = startFetch(core, route, digest, size);
        else {
          const peer = await fetchFromPeerOrStart(core, route, digest, size, range);
          if (peer.kind !== 'fetch') return viaSharedRead(core, digest, peer, size, range);
          fetch = peer.fetch;
        }
      }
    }
    return joinFetch(fetch, size, range);
  }
  refuse({ kind: 'blob-busy' }, `blob ${digest} could not be opened; try again`);
}

/**
 * With local copies, a blob read from the shared store becomes one read per replica that every client of the replica
 * joins (a BlobFetch from the store: hashed, last byte held until verified, kept as the copy), as clients join one
 * upstream download — also the clients that waited for a peer's download. Without copies each client reads S3 itself
 * (measured: sharing then saved no time here, the crowd being bound by the clients; see docs/benchmarks.md).
 */
function viaSharedRead(core: ProxyCore, digest: string, opened: Exclude<OpenedBlob, { kind: 'fetch' }>, size: number, range?: { start: number; end: number }): Promise<OpenedBlob> | OpenedBlob {
  if (opened.kind !== 'remote' || core.blobs.keepsLocalCopies !== true) return opened;
  return joinFetch(liveStoreFetch(core, digest) ?? startStoreFetch(core, digest, opened.read), size, range);
}

async function joinFetch(fetch: BlobFetch, size: number, range?: { start: number; end: number }): Promise<OpenedBlob> {
  if (fetch.size !== size) refuse({ kind: 'blob-size-conflict' }, `blob ${fetch.digest} is being fetched with size ${fetch.size} but this repository's manifest declares ${size}`);
  const release = fetch.acquire();
  try {
    // Waiting for the upstream's answer first lets a failure still become an error response, not a cut body.
    await fetch.ready;
  } catch (error) {
    release();
    throw error;
  }
  return { kind: 'fetch', fetch, release, start: range?.start ?? 0, end: range?.end ?? size - 1 };
}

/**
 * Shared store, nothing cached, no download here: take the blob's lock and download, or wait for the peer that
 * holds it. Concurrent requests of this replica wait together (one look at the store at a time).
 */
async function fetchFromPeerOrStart(core: ProxyCore, route: UpstreamRoute, digest: string, size: number, range?: { start: number; end: number }): Promise<Exclude<OpenedBlob, { kind: 'fetch' }> | { kind: 'fetch'; fetch: BlobFetch }> {
  const key = fetchKey(route, digest);
  const name = fetchLockName(digest);
  const lock = await takeDownloadLock(core, digest);
  // Another request of this replica may have started the download while the lock was being asked for.
  const started = core.blobFetches.get(key);
  if (started !== undefined && started.state !== 'failed') {
    await lock?.release();
    return { kind: 'fetch', fetch: started };
  }
  if (lock !== undefined) {
    // A peer (or this replica) may have committed it since the store was asked: then there is nothing to download.
    const committed = await openCached(core, digest, size, range).catch(async (error: unknown) => {
      await lock.release();
      throw error;
    });
    if (committed !== undefined) {
      await lock.release();
      return committed;
    }
    return { kind: 'fetch', fetch: startFetch(core, route, digest, size, lock) };
  }
  core.metrics.cache.inc({ kind: 'blob', result: 'peer-wait' });
  await core.peerWaits.run(key, () => waitForPeer(core.meta, name, () => core.blobs.stat(digest), PEER_DOWNLOAD_WAIT_MS));
  const cached = await openCached(core, digest, size, range);
  if (cached !== undefined) return cached;
  // The peer failed, died or is still at it after the bounded wait: this replica downloads (with the lock if free).
  const again = await takeDownloadLock(core, digest);
  const meanwhile = core.blobFetches.get(key);
  if (meanwhile !== undefined && meanwhile.state !== 'failed') {
    await again?.release();
    return { kind: 'fetch', fetch: meanwhile };
  }
  return { kind: 'fetch', fetch: startFetch(core, route, digest, size, again) };
}

/**
 * With `store.blobs.s3.redirect`, where a committed blob can be read straight from the store (a presigned URL), so
 * the client is sent there instead of through the proxy. Undefined when the blob is not committed yet (it is
 * downloaded and streamed as usual) or the store is not redirecting. Asked only after the blob was admitted.
 */
export async function redirectTarget(core: ProxyCore, digest: string, size: number): Promise<string | undefined> {
  const location = core.config.store.blobs;
  if (location.kind !== 's3' || !location.s3.redirect || core.blobs.presignedUrl === undefined) return undefined;
  const stored = await core.blobs.stat(digest);
  // A size other than the manifest's is never handed out: streaming it is what finds, reports and drops it.
  if (stored === undefined || stored.size !== size) return undefined;
  core.retention.touch(digest);
  core.metrics.cache.inc({ kind: 'blob', result: 'redirect' });
  return core.blobs.presignedUrl(digest, location.s3.redirectSeconds);
}

/** Sends an opened blob to a sink (a response, a stream the gate reads): bytes [opened.start, opened.end]. */
export async function sendOpened(core: ProxyCore, opened: OpenedBlob, sink: ByteSink): Promise<number> {
  switch (opened.kind) {
    case 'fetch': {
      const sending = opened.fetch.writeTo(sink, opened.start, opened.end);
      opened.release();
      return sending;
    }
    case 'remote':
      return sendVerifiedRemote(sink, opened.read, opened.digest, opened.start, opened.end, (error) => dropCorruptStored(core, opened.digest, error));
    case 'file': {
      const stream = opened.handle.createReadStream({ start: opened.start, end: opened.end });
      let sent = 0;
      try {
        for await (const chunk of stream) {
          sent += (chunk as Buffer).length;
          if (!sink.write(chunk as Buffer)) await new Promise<void>((resolve) => sink.once('drain', resolve));
          if (sink.destroyed) return sent;
        }
        sink.end();
      } catch (error) {
        sink.destroy(error as Error);
      }
      return sent;
    }
  }
}
