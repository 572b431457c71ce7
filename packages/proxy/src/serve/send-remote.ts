import { createHash } from 'node:crypto';
import { parseDigest, TollgateError } from '@tollgate/core';
import type { ByteSink } from '../fetch/blob-fetch.js';
import type { StoredRead } from '../store/blobs/types.js';

export type RemoteRead = Extract<StoredRead, { kind: 'remote' }>;

const WRITE_BATCH = 1024 * 1024;

/**
 * Sends bytes [start, end] of a blob kept in a shared store, hashing the whole blob on the way: the store is another
 * system (and another trust domain) than this process, so its bytes are checked as an upstream's are. The last byte
 * of the range is held back until the digest matched, so a client never gets a complete blob or range of altered
 * or truncated bytes; a range is served from a full read (ranges are rare: resumed pulls). On a mismatch the sink is
 * destroyed and `onCorrupt` runs (the caller drops the object, so the next pull fetches it again).
 * Returns the bytes written.
 */
export async function sendVerifiedRemote(sink: ByteSink, read: RemoteRead, digest: string, start: number, end: number, onCorrupt: (error: Error) => void): Promise<number> {
  const hash = createHash(parseDigest(digest).algorithm);
  const controller = new AbortController();
  let position = 0;
  let sent = 0;
  let held: Buffer | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    controller.abort();
    wake?.();
  };
  sink.once('close', onClose);
  // The store's 64 KiB chunks go out in corked batches: one socket write per MiB instead of one per chunk.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length === 0 || closed || sink.destroyed) return;
    const batch = pending;
    sent += pendingBytes;
    pending = [];
    pendingBytes = 0;
    sink.cork();
    let flowing = true;
    for (const piece of batch) flowing = sink.write(piece);
    sink.uncork();
    if (!flowing && !closed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        sink.once('drain', resolve);
      });
      wake = undefined;
    }
  };
  try {
    const stream = await read.open(0, read.size - 1, controller.signal);
    try {
      for await (const data of stream) {
        const chunk = data as Buffer;
        hash.update(chunk);
        const chunkStart = position;
        position += chunk.length;
        if (position > read.size) throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the store sent more than its ${read.size} bytes`);
        if (closed || sink.destroyed) return sent;
        // The part of this chunk inside [start, end - 1]; byte `end` itself waits for the digest.
        const from = Math.max(start, chunkStart) - chunkStart;
        const to = Math.min(end, position) - chunkStart;
        if (end >= chunkStart && end < position) held = Buffer.from(chunk.subarray(end - chunkStart, end - chunkStart + 1));
        if (to > from) {
          pending.push(chunk.subarray(from, to));
          pendingBytes += to - from;
          if (pendingBytes >= WRITE_BATCH) await flush();
        }
      }
      await flush();
    } finally {
      stream.destroy();
    }
    if (position !== read.size) throw new TollgateError('SIZE_MISMATCH', `blob ${digest}: the store sent ${position} of its ${read.size} bytes`);
    const actual = `${parseDigest(digest).algorithm}:${hash.digest('hex')}`;
    if (actual !== digest) throw new TollgateError('DIGEST_MISMATCH', `blob ${digest}: the bytes in the shared store digest to ${actual}; the stored object is corrupt and is not served`);
    if (closed || sink.destroyed) return sent;
    if (held === undefined) throw new TollgateError('STORE_ERROR', `blob ${digest}: byte ${end} was not read from the store`);
    sink.write(held);
    sent += 1;
    sink.end();
    return sent;
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof TollgateError && (failure.code === 'DIGEST_MISMATCH' || failure.code === 'SIZE_MISMATCH')) onCorrupt(failure);
    sink.destroy(failure);
    return sent;
  } finally {
    sink.off('close', onClose);
  }
}
