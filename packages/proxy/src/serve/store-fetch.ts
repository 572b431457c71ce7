import { unlink } from 'node:fs/promises';
import { TollgateError } from '@tollgate/core';
import { BlobFetch } from '../fetch/blob-fetch.js';
import type { StoredRead } from '../store/blobs/types.js';
import type { ProxyCore } from './proxy-core.js';

type RemoteRead = Extract<StoredRead, { kind: 'remote' }>;

/** Reads of one digest from the shared store, keyed apart from every upstream's downloads. */
function storeFetchKey(digest: string): string {
  return JSON.stringify(['\0store', digest]);
}

/** The read of `digest` from the shared store in flight on this replica, if one is and has not failed. */
export function liveStoreFetch(core: ProxyCore, digest: string): BlobFetch | undefined {
  const fetch = core.blobFetches.get(storeFetchKey(digest));
  return fetch?.state === 'failed' ? undefined : fetch;
}

/**
 * One read of a committed blob from the shared store, shared by every client of this replica that asks for it
 * meanwhile (a rollout's crowd of nodes makes one S3 read per replica, not one per node), hashed as an upstream's
 * download is, last byte held until the digest matched; its verified temp file becomes this replica's local copy.
 * Used when the store keeps local copies. A digest or size mismatch drops the object (the next pull fetches it).
 */
export function startStoreFetch(core: ProxyCore, digest: string, read: RemoteRead): BlobFetch {
  const key = storeFetchKey(digest);
  const tempPath = core.blobs.tempPath();
  const fetch = new BlobFetch({
    digest,
    size: read.size,
    tempPath,
    finalPath: tempPath,
    source: 'the shared store',
    open: (signal) => read.open(0, read.size - 1, signal),
    commit: async () => undefined,
  });
  core.blobFetches.set(key, fetch);
  const leave = () => {
    if (core.blobFetches.get(key) === fetch) core.blobFetches.delete(key);
  };
  core.track(
    fetch.done.then(
      () =>
        // Verified: clients keep joining it until the last one is done; then it leaves the map in the same turn as
        // its temp file starts becoming the copy (which reads wait for), so no client falls between the two.
        fetch.retire(async () => {
          leave();
          await releaseTemp(core, tempPath, digest, read.size, true);
        }),
      (error: unknown) => {
        leave();
        fetch.retire(() => releaseTemp(core, tempPath, digest, read.size, false));
        const failure = error instanceof Error ? error : new Error(String(error));
        if (failure instanceof TollgateError && (failure.code === 'DIGEST_MISMATCH' || failure.code === 'SIZE_MISMATCH')) dropCorruptStored(core, digest, failure);
        else core.log.warn({ digest, store: core.blobs.describe(), err: failure }, 'reading a blob from the shared store failed');
      },
    ),
  );
  return fetch;
}

/**
 * A shared store's fetch is done with its temp file (its last reader left): kept as this replica's local copy when
 * the bytes were verified and the store keeps copies, else removed. Never throws.
 */
export function releaseTemp(core: ProxyCore, tempPath: string, digest: string, size: number, verified: boolean): Promise<void> {
  if (verified && core.blobs.keepVerifiedTemp !== undefined) return core.blobs.keepVerifiedTemp(tempPath, digest, size);
  return unlink(tempPath).catch(() => undefined);
}

/** A blob in the shared store that failed its digest or size on the way out: dropped, so the next pull fetches it. */
export function dropCorruptStored(core: ProxyCore, digest: string, error: Error): void {
  core.metrics.integrityFailures.inc({ upstream: 'store', kind: 'blob' });
  core.log.error({ digest, store: core.blobs.describe(), err: error }, 'a blob in the shared store failed verification; not served, removed from the store');
  core.track(
    (async () => {
      await core.blobs.remove(digest);
      await core.meta.deleteBlob(digest);
      await core.audit.record({ type: 'blob-integrity', digest, reasons: [error.message.slice(0, 300)], error: error.message });
    })(),
  );
}
