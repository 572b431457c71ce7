import { open, type FileHandle } from 'node:fs/promises';
import { parseDigest, TollgateError } from '@tollgate/core';
import { BlobFetch } from '../fetch/blob-fetch.js';
import { OciError } from '../http/oci-error.js';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { ProxyCore } from './proxy-core.js';
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
    throw new OciError(400, 'DIGEST_INVALID', (error as Error).message.slice(0, 300));
  }
  const revision = core.revisionFor(route.upstream);
  const admission = await core.meta.getAdmission(revision, route.upstream.name, route.repository, digest);
  if (admission === undefined) {
    core.metrics.denied.inc({ reason: 'blob' });
    throw new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', {
      reason: 'no manifest admitted in this repository references this blob; pull the image manifest first',
    });
  }
  let verdict = await core.meta.getVerdict(revision, route.upstream.name, route.repository, admission.manifest);
  if (verdict === undefined || !verdictStands(core, verdict)) {
    try {
      verdict = (await resolveManifest(core, route, admission.manifest, context)).verdict;
    } catch (error) {
      if (!(error instanceof OciError && error.code === 'DENIED')) throw error;
      verdict = { decision: 'deny', reasons: [error.message], policyRevision: core.gate.revision };
    }
  }
  if (verdict.decision === 'deny' && core.modeFor(route.upstream) === 'enforce') {
    core.metrics.denied.inc({ reason: 'blob' });
    throw new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { reason: `the manifest that admitted this blob (${admission.manifest}) is now denied: ${(verdict.reasons[0] ?? verdict.rule ?? 'policy').slice(0, 200)}` });
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

/**
 * Downloads in flight are keyed by upstream and digest: clients of one upstream share its download, but an upstream
 * that sends bad bytes (or fails) for a digest never makes pulls of the same digest through another upstream fail.
 */
function fetchKey(route: UpstreamRoute, digest: string): string {
  return JSON.stringify([route.upstream.name, digest]);
}

function startFetch(core: ProxyCore, route: UpstreamRoute, digest: string, size: number): BlobFetch {
  const { upstream, repository } = route;
  const key = fetchKey(route, digest);
  const fetch = new BlobFetch({
    digest,
    size,
    tempPath: core.blobs.tempPath(),
    finalPath: core.blobs.path(digest),
    open: (signal) => core.upstreamCall(upstream, 'blob', () => upstream.getBlob(repository, digest, size, signal)),
    commit: (temp) => core.blobs.commit(temp, digest),
    onBytes: (n) => core.metrics.upstreamBytes.inc({ upstream: upstream.name }, n),
  });
  core.blobFetches.set(key, fetch);
  core.metrics.inflight.inc();
  core.metrics.cache.inc({ kind: 'blob', result: 'miss' });
  // Only this fetch's own entry: a failed one may already have been replaced by a new download (see openBlob).
  const forget = () => {
    if (core.blobFetches.get(key) === fetch) core.blobFetches.delete(key);
  };
  const settled = fetch.done.then(
    async () => {
      forget();
      core.metrics.inflight.dec();
      await core.retention.added(digest, size).catch((error: unknown) => core.log.error({ err: error, digest }, 'recording a cached blob failed'));
      core.metrics.cacheBytes.set(core.retention.totalBytes);
      core.metrics.cacheBlobs.set(core.retention.count);
    },
    async (error: unknown) => {
      forget();
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
 * starting one (concurrent requests for one digest through one upstream share a single fetch).
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
    let fetch = live();
    if (fetch === undefined) {
      const cached = await openCached(core, digest, size, range);
      if (cached !== undefined) return cached;
      // Checked again without yielding: a fetch that committed meanwhile left the file, one in flight is in the map.
      fetch = live();
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
