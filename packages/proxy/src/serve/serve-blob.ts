import { open, type FileHandle } from 'node:fs/promises';
import { parseDigest, TollgateError } from '@tollgate/core';
import { BlobFetch } from '../fetch/blob-fetch.js';
import { OciError } from '../http/oci-error.js';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { ProxyCore } from './proxy-core.js';

/**
 * A blob is served only when a manifest admitted in this (upstream, repository) under the current policy revision
 * references it; anything else is BLOB_UNKNOWN, with no upstream request and no cross-repository serving.
 */
export async function admittedBlob(core: ProxyCore, route: UpstreamRoute, rawDigest: string): Promise<{ digest: string; size: number }> {
  let digest: string;
  try {
    digest = parseDigest(rawDigest).value;
  } catch (error) {
    throw new OciError(400, 'DIGEST_INVALID', (error as Error).message.slice(0, 300));
  }
  const revision = core.revisionFor(route.upstream);
  const admission = await core.meta.getAdmission(revision, route.upstream.name, route.repository, digest);
  if (admission !== undefined && core.modeFor(route.upstream) === 'enforce') {
    // The manifest that admitted it may have been evaluated again since (its verdict expired) and denied.
    const verdict = await core.meta.getVerdict(revision, route.upstream.name, route.repository, admission.manifest);
    if (verdict?.decision === 'deny') {
      core.metrics.denied.inc({ reason: 'blob' });
      throw new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { reason: `the manifest that admitted this blob (${admission.manifest}) is now denied: ${(verdict.reasons[0] ?? verdict.rule ?? 'policy').slice(0, 200)}` });
    }
  }
  if (admission === undefined) {
    core.metrics.denied.inc({ reason: 'blob' });
    throw new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', {
      reason: 'no manifest admitted in this repository references this blob; pull the image manifest first',
    });
  }
  return { digest, size: admission.size };
}

/** An admitted blob ready to send: a committed file (sent with reused buffers) or a download in flight to follow. */
export type OpenedBlob = { kind: 'file'; handle: FileHandle; start: number; end: number } | { kind: 'fetch'; fetch: BlobFetch; start: number; end: number };

async function openCached(core: ProxyCore, digest: string, size: number, range?: { start: number; end: number }): Promise<OpenedBlob | undefined> {
  let handle;
  try {
    handle = await open(core.blobs.path(digest), 'r');
  } catch {
    return undefined;
  }
  const info = await handle.stat();
  if (info.size !== size) {
    await handle.close();
    throw new OciError(502, 'BLOB_UNKNOWN', `blob ${digest} is ${info.size} bytes but the admitting manifest declares ${size}; refusing it`);
  }
  core.retention.touch(digest);
  core.metrics.cache.inc({ kind: 'blob', result: 'hit' });
  return { kind: 'file', handle, start: range?.start ?? 0, end: range?.end ?? size - 1 };
}

function startFetch(core: ProxyCore, route: UpstreamRoute, digest: string, size: number): BlobFetch {
  const { upstream, repository } = route;
  const fetch = new BlobFetch({
    digest,
    size,
    tempPath: core.blobs.tempPath(),
    finalPath: core.blobs.path(digest),
    open: (signal) => core.upstreamCall(upstream, 'blob', () => upstream.getBlob(repository, digest, size, signal)),
    commit: (temp) => core.blobs.commit(temp, digest),
    onBytes: (n) => core.metrics.upstreamBytes.inc({ upstream: upstream.name }, n),
  });
  core.blobFetches.set(digest, fetch);
  core.metrics.inflight.inc();
  core.metrics.cache.inc({ kind: 'blob', result: 'miss' });
  const settled = fetch.done.then(
    async () => {
      core.blobFetches.delete(digest);
      core.metrics.inflight.dec();
      await core.retention.added(digest, size).catch((error: unknown) => core.log.error({ err: error, digest }, 'recording a cached blob failed'));
      core.metrics.cacheBytes.set(core.retention.totalBytes);
      core.metrics.cacheBlobs.set(core.retention.count);
    },
    async (error: unknown) => {
      core.blobFetches.delete(digest);
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

/**
 * Opens an admitted blob: from the store when it is there, else by joining the download in flight, else by
 * starting one (concurrent requests for one digest share a single upstream fetch).
 */
export async function openBlob(core: ProxyCore, route: UpstreamRoute, digest: string, size: number, range?: { start: number; end: number }): Promise<OpenedBlob> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fetch = core.blobFetches.get(digest);
    if (fetch === undefined) {
      const cached = await openCached(core, digest, size, range);
      if (cached !== undefined) return cached;
      // Checked again without yielding: a fetch that committed meanwhile left the file, one in flight is in the map.
      fetch = core.blobFetches.get(digest);
      if (fetch === undefined) {
        if (core.blobs.hasSync(digest)) continue;
        fetch = startFetch(core, route, digest, size);
      }
    }
    if (fetch.size !== size) throw new OciError(502, 'BLOB_UNKNOWN', `blob ${digest} is being fetched with size ${fetch.size} but this repository's manifest declares ${size}`);
    // Waiting for the upstream's answer first lets a failure still become an error response, not a cut body.
    await fetch.ready;
    return { kind: 'fetch', fetch, start: range?.start ?? 0, end: range?.end ?? size - 1 };
  }
  throw new OciError(503, 'UNAVAILABLE', `blob ${digest} could not be opened; try again`);
}
