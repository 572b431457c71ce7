import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobFetch } from '../src/fetch/blob-fetch.js';
import { HashWorker } from '../src/fetch/hash-worker.js';
import type { TempFile } from '../src/fetch/temp-file.js';
import { FilesystemBlobStore } from '../src/store/blobs/filesystem-blob-store.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;
let store: FilesystemBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-blob-fetch-'));
  store = new FilesystemBlobStore(dir);
  await store.open();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: Readable): Promise<{ bytes: Buffer; error?: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of stream) chunks.push(c as Buffer);
    return { bytes: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** An upstream we drive chunk by chunk (a stream, not HTTP: the HTTP paths are covered end to end). */
function fetchOf(digest: string, size: number) {
  const upstream = new PassThrough();
  const fetch = new BlobFetch({ digest, size, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest) });
  return { upstream, fetch };
}

/**
 * A real temp file whose writes (or final fsync) wait until released, or fail on cue: a disk slower than the network,
 * or one that fills up. Everything else is the real file.
 */
function slowDisk(options: { failWrite?: number } = {}) {
  let releaseWrites!: () => void;
  let releaseSync!: () => void;
  const writesGate = new Promise<void>((resolve) => (releaseWrites = resolve));
  const syncGate = new Promise<void>((resolve) => (releaseSync = resolve));
  let syncCalled!: () => void;
  const syncReached = new Promise<void>((resolve) => (syncCalled = resolve));
  let writes = 0;
  const state = { written: 0, synced: false, gateSync: false };
  const openTempFile = async (path: string): Promise<TempFile> => {
    const real = await open(path, 'wx', 0o600);
    return {
      async writev(buffers, position) {
        const n = ++writes;
        await writesGate;
        if (n === options.failWrite) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        const result = await real.writev(buffers, position);
        state.written += result.bytesWritten;
        return result;
      },
      datasync: () => real.datasync(),
      async sync() {
        syncCalled();
        if (state.gateSync) await syncGate;
        await real.sync();
        state.synced = true;
      },
      close: () => real.close(),
    };
  };
  return { openTempFile, releaseWrites, releaseSync, syncReached, state };
}

/** Resolves once `stream` has delivered at least `n` bytes (counting as they flow; the stream keeps flowing). */
function received(stream: Readable, n: number): { bytes: () => number; reached: Promise<void> } {
  let count = 0;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  stream.on('data', (chunk: Buffer) => {
    count += chunk.length;
    if (count >= n) reach();
  });
  return { bytes: () => count, reached };
}

describe('BlobFetch', () => {
  it('holds back the last byte until the digest is verified, then commits', async () => {
    const blob = randomBytes(1000);
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    const reader = fetch.createReader();
    const got = collect(reader);
    upstream.write(blob);
    upstream.end();
    await fetch.done;
    const result = await got;
    expect(result.error).toBeUndefined();
    expect(result.bytes.equals(blob)).toBe(true);
    expect((await readFile(store.path(sha(blob)))).equals(blob)).toBe(true);
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('a blob whose bytes do not match is never delivered complete, and nothing is kept', async () => {
    const blob = randomBytes(1000);
    const altered = Buffer.from(blob);
    altered[999] = altered[999]! ^ 1;
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    const readers = [fetch.createReader(), fetch.createReader(), fetch.createReader(990, 995)];
    const results = readers.map(collect);
    upstream.end(altered);
    await expect(fetch.done).rejects.toThrow(/digest/);
    for (const result of await Promise.all(results)) {
      expect(result.error).toBeDefined();
      expect(result.bytes.length).toBeLessThan(1000);
    }
    expect(await readdir(store.tmpDir)).toEqual([]);
    expect(store.hasSync(sha(blob))).toBe(false);
  });

  it('refuses too many and too few bytes', async () => {
    const blob = randomBytes(100);
    const long = fetchOf(sha(blob), 50);
    long.upstream.end(blob);
    await expect(long.fetch.done).rejects.toThrow(/more than the 50 bytes/);
    const short = fetchOf(sha(blob), 100);
    short.upstream.end(blob.subarray(0, 60));
    await expect(short.fetch.done).rejects.toThrow(/truncated/);
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('an upstream that errors mid-stream fails every reader', async () => {
    const blob = randomBytes(100);
    const { upstream, fetch } = fetchOf(sha(blob), 100);
    const got = collect(fetch.createReader());
    await fetch.ready;
    upstream.write(blob.subarray(0, 40));
    upstream.destroy(new Error('connection reset'));
    await expect(fetch.done).rejects.toThrow(/reset/);
    expect((await got).error).toBeDefined();
  });

  it('a reader that joins after the commit reads the committed file', async () => {
    const blob = randomBytes(5000);
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    upstream.end(blob);
    await fetch.done;
    const late = await collect(fetch.createReader(100, 199));
    expect(late.bytes.equals(blob.subarray(100, 200))).toBe(true);
  });

  it('serves the empty blob only once verified', async () => {
    const empty = new Uint8Array();
    const { upstream, fetch } = fetchOf(sha(empty), 0);
    const got = collect(fetch.createReader());
    upstream.end();
    await fetch.done;
    expect((await got).bytes.length).toBe(0);
  });

  it('a blob larger than the in-memory window and the write batch arrives whole for early, mid-way and range readers', async () => {
    const blob = randomBytes(20 * 1024 * 1024 + 12345);
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    const early = collect(fetch.createReader());
    const range = collect(fetch.createReader(5_000_000, 15_000_000));
    let mid: Promise<{ bytes: Buffer; error?: unknown }> | undefined;
    for (let offset = 0; offset < blob.length; offset += 64 * 1024) {
      upstream.write(blob.subarray(offset, offset + 64 * 1024));
      if (mid === undefined && offset >= 12 * 1024 * 1024) mid = collect(fetch.createReader());
    }
    upstream.end();
    await fetch.done;
    for (const result of [await early, await mid!]) {
      expect(result.error).toBeUndefined();
      expect(result.bytes.equals(blob)).toBe(true);
    }
    expect((await range).bytes.equals(blob.subarray(5_000_000, 15_000_001))).toBe(true);
    expect((await readFile(store.path(sha(blob)))).equals(blob)).toBe(true);
  });

  it('an upstream stream that failed or closed before it was read fails the download instead of hanging it', async () => {
    const blob = randomBytes(100);
    const digest = sha(blob);
    const failed = new PassThrough();
    failed.on('error', () => undefined);
    failed.destroy(new Error('connection reset before the body'));
    const closed = new PassThrough();
    closed.destroy();
    for (const [stream, message] of [[failed, /reset before the body/], [closed, /closed before it was read/]] as const) {
      await new Promise((resolve) => setImmediate(resolve));
      const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => stream, commit: (t) => store.commit(t, digest) });
      const got = collect(fetch.createReader());
      await expect(fetch.done).rejects.toThrow(message);
      expect((await got).error).toBeDefined();
    }
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('a client that goes away mid-download stops its writer, and the download still commits for the others', async () => {
    const blob = randomBytes(6 * 1024 * 1024);
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    const leaving = new PassThrough({ highWaterMark: 1024 });
    const written = fetch.writeTo(leaving);
    const staying = collect(fetch.createReader());
    upstream.write(blob.subarray(0, 2 * 1024 * 1024));
    await new Promise((resolve) => leaving.once('data', resolve));
    leaving.destroy();
    upstream.end(blob.subarray(2 * 1024 * 1024));
    await fetch.done;
    expect(await written).toBeLessThan(blob.length);
    expect((await staying).bytes.equals(blob)).toBe(true);
    expect((await readFile(store.path(sha(blob)))).equals(blob)).toBe(true);
  });

  it('a slow client is held by backpressure and still gets every byte in order', async () => {
    const blob = randomBytes(9 * 1024 * 1024 + 7);
    const { upstream, fetch } = fetchOf(sha(blob), blob.length);
    const slow = new PassThrough({ highWaterMark: 16 * 1024 });
    const written = fetch.writeTo(slow);
    const chunks: Buffer[] = [];
    const drained = (async () => {
      for await (const chunk of slow) {
        chunks.push(chunk as Buffer);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let offset = 0; offset < blob.length; offset += 256 * 1024) upstream.write(blob.subarray(offset, offset + 256 * 1024));
    upstream.end();
    await fetch.done;
    await drained;
    expect(await written).toBe(blob.length);
    expect(Buffer.concat(chunks).equals(blob)).toBe(true);
  });

  it('a reader is served the bytes received and hashed before the disk has written them', async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const disk = slowDisk();
    const upstream = new PassThrough();
    const digest = sha(blob);
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest), openTempFile: disk.openTempFile });
    const reader = fetch.createReader();
    const flow = received(reader, 2 * 1024 * 1024);
    const got = collect(reader);
    upstream.write(blob.subarray(0, 2 * 1024 * 1024));
    await flow.reached;
    expect(disk.state.written).toBe(0);
    upstream.end(blob.subarray(2 * 1024 * 1024));
    disk.releaseWrites();
    await fetch.done;
    const result = await got;
    expect(result.error).toBeUndefined();
    expect(result.bytes.equals(blob)).toBe(true);
    expect((await readFile(store.path(digest))).equals(blob)).toBe(true);
  });

  it('a reader served from bytes not yet on disk is cut, never completed, when the upstream then fails', async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const disk = slowDisk();
    const upstream = new PassThrough();
    const digest = sha(blob);
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest), openTempFile: disk.openTempFile });
    const readers = [fetch.createReader(), fetch.createReader(0, 1024 * 1024 - 1), fetch.createReader(1024 * 1024, 2 * 1024 * 1024 - 1)];
    const flow = received(readers[0]!, 2 * 1024 * 1024 - 1);
    const results = readers.map(collect);
    upstream.write(blob.subarray(0, 2 * 1024 * 1024));
    await flow.reached;
    expect(disk.state.written).toBe(0);
    upstream.destroy(new Error('connection reset'));
    disk.releaseWrites();
    await expect(fetch.done).rejects.toThrow(/reset/);
    const [whole, first, second] = await Promise.all(results);
    for (const result of [whole!, first!, second!]) expect(result.error).toBeDefined();
    expect(whole!.bytes.length).toBeLessThan(blob.length);
    // Each range had every byte but its last: it is held back until a verification that never came.
    expect(first!.bytes.equals(blob.subarray(0, 1024 * 1024 - 1))).toBe(true);
    expect(second!.bytes.equals(blob.subarray(1024 * 1024, 2 * 1024 * 1024 - 1))).toBe(true);
    expect(await readdir(store.tmpDir)).toEqual([]);
    expect(store.hasSync(digest)).toBe(false);
  });

  it('a disk that fails mid-download fails every reader, even those served from memory, and keeps nothing', async () => {
    const blob = randomBytes(3 * 1024 * 1024);
    const disk = slowDisk({ failWrite: 1 });
    const upstream = new PassThrough();
    const digest = sha(blob);
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest), openTempFile: disk.openTempFile });
    const reader = fetch.createReader();
    const flow = received(reader, 1024 * 1024);
    const got = collect(reader);
    upstream.write(blob.subarray(0, 1024 * 1024));
    await flow.reached;
    disk.releaseWrites();
    upstream.end(blob.subarray(1024 * 1024));
    await expect(fetch.done).rejects.toThrow(/no space/);
    const result = await got;
    expect(result.error).toBeDefined();
    expect(result.bytes.length).toBeLessThan(blob.length);
    expect(await readdir(store.tmpDir)).toEqual([]);
    expect(store.hasSync(digest)).toBe(false);
  });

  it('the last byte goes out once the digest matched, without waiting for the fsync and rename; done waits for them', async () => {
    const blob = randomBytes(1024 * 1024 + 1);
    const disk = slowDisk();
    disk.state.gateSync = true;
    disk.releaseWrites();
    const upstream = new PassThrough();
    const digest = sha(blob);
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest), openTempFile: disk.openTempFile });
    const reader = fetch.createReader();
    const got = collect(reader);
    let committed = false;
    void fetch.done.then(() => (committed = true));
    upstream.end(blob);
    const result = await got;
    expect(result.error).toBeUndefined();
    expect(result.bytes.equals(blob)).toBe(true);
    // The client is done while the fsync is still held: the blob is not in the store yet.
    await disk.syncReached;
    expect(committed).toBe(false);
    expect(store.hasSync(digest)).toBe(false);
    disk.releaseSync();
    await fetch.done;
    expect(disk.state.synced).toBe(true);
    expect((await readFile(store.path(digest))).equals(blob)).toBe(true);
  });

  it('a range that ends before the blob does completes only once the whole blob verified', async () => {
    const blob = randomBytes(256 * 1024);
    const upstream = new PassThrough();
    const digest = sha(blob);
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest) });
    const reader = fetch.createReader(0, 1023);
    const flow = received(reader, 1023);
    let ended = false;
    reader.on('end', () => (ended = true));
    upstream.write(blob.subarray(0, 128 * 1024));
    await flow.reached;
    expect(flow.bytes()).toBe(1023);
    expect(ended).toBe(false);
    upstream.end(blob.subarray(128 * 1024));
    await fetch.done;
    await new Promise((resolve) => (ended ? resolve(undefined) : reader.once('end', resolve)));
    expect(flow.bytes()).toBe(1024);
  });
});

describe('the hashing thread', () => {
  it('digests what it is given, in order, across batch boundaries and for several downloads at once', async () => {
    const worker = new HashWorker();
    try {
      const blobs = [randomBytes(3 * 1024 * 1024 + 17), randomBytes(1), randomBytes(0), randomBytes(1024 * 1024)];
      const hashers = blobs.map(() => worker.begin('sha256', () => undefined));
      // Interleaved, in uneven pieces: some smaller than a batch, some larger.
      for (let offset = 0, step = 1; blobs.some((b) => offset < b.length); offset += step, step = (step * 7 + 65_537) % (1536 * 1024)) {
        blobs.forEach((blob, i) => hashers[i]!.update(blob.subarray(offset, offset + step)));
      }
      const digests = await Promise.all(hashers.map((h) => h.digest()));
      expect(digests.map((d) => `sha256:${d}`)).toEqual(blobs.map(sha));
      expect(hashers.every((h) => h.backlog === 0)).toBe(true);
      const sha512 = worker.begin('sha512', () => undefined);
      sha512.update(blobs[0]!);
      expect(await sha512.digest()).toBe(createHash('sha512').update(blobs[0]!).digest('hex'));
    } finally {
      await worker.terminate();
    }
  });

  it('a download whose hashing thread stops fails closed: its readers are cut and nothing is kept', async () => {
    const worker = new HashWorker();
    const blob = randomBytes(2 * 1024 * 1024);
    const digest = sha(blob);
    const upstream = new PassThrough();
    const fetch = new BlobFetch({ digest, size: blob.length, tempPath: store.tempPath(), finalPath: store.path(digest), open: async () => upstream, commit: (t) => store.commit(t, digest), createHasher: (algorithm, _size, progress) => worker.begin(algorithm, progress) });
    const reader = fetch.createReader();
    const flow = received(reader, 1024 * 1024);
    const got = collect(reader);
    upstream.write(blob.subarray(0, 1024 * 1024));
    await flow.reached;
    await worker.terminate();
    upstream.end(blob.subarray(1024 * 1024));
    await expect(fetch.done).rejects.toThrow(/hashing thread stopped/);
    const result = await got;
    expect(result.error).toBeDefined();
    expect(result.bytes.length).toBeLessThan(blob.length);
    expect(await readdir(store.tmpDir)).toEqual([]);
    expect(store.hasSync(digest)).toBe(false);
    await worker.terminate();
  });

  it('a hashing thread that stops fails the hashes in progress (the download fails closed), and a new one takes over', async () => {
    const worker = new HashWorker();
    try {
      const hasher = worker.begin('sha256', () => undefined);
      hasher.update(randomBytes(2 * 1024 * 1024));
      await worker.terminate();
      await expect(hasher.digest()).rejects.toThrow(/hashing thread stopped/);
      const next = worker.begin('sha256', () => undefined);
      next.update(Buffer.from('abc'));
      expect(`sha256:${await next.digest()}`).toBe(sha(Buffer.from('abc')));
    } finally {
      await worker.terminate();
    }
  });
});

