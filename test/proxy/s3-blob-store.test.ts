/**
 * The S3 blob store against a real Ceph RGW (one per file, a bucket per test): uploads that follow a growing temp
 * file, abort and crash leftovers, exact-length ranged reads, scan, remove, credentials and an RGW that goes away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3BlobConfig } from '../../packages/proxy/src/config/types.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../packages/proxy/src/store/blobs/s3-blob-store.js';
import { LocalCopies } from '../../packages/proxy/src/store/blobs/local-copies.js';
import { sendVerifiedRemote } from '../../packages/proxy/src/serve/send-remote.js';
import type { S3Upload } from '../../packages/proxy/src/store/blobs/s3-upload.js';
import { startRgw, type RunningRgw } from '../support/rgw.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const PREFIX = 'cache/tollgate';

let rgw: RunningRgw;
let work: string;
const stores: S3BlobStore[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-s3-store-'));
  rgw = await startRgw();
  console.log(`Ceph RGW answered S3 after ${rgw.startMs} ms`);
}, 150_000);

afterAll(async () => {
  for (const store of stores) await store.close();
  await rgw?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const keyOf = (digest: string, prefix = PREFIX) => `${prefix}/blobs/sha256/${digest.slice('sha256:'.length)}`;

function configFor(bucket: string, overrides: Partial<S3BlobConfig> = {}): S3BlobConfig {
  return {
    endpoint: rgw.endpoint,
    bucket,
    region: 'us-east-1',
    prefix: PREFIX,
    forcePathStyle: true,
    credentials: { accessKeyIdEnv: 'TEST_RGW_KEY', secretAccessKeyEnv: 'TEST_RGW_SECRET' },
    redirect: false,
    redirectSeconds: 300,
    localCacheBytes: 0,
    ...overrides,
  };
}

async function storeFor(bucket: string, options: S3BlobStoreOptions = {}, overrides: Partial<S3BlobConfig> = {}): Promise<S3BlobStore> {
  const store = new S3BlobStore(configFor(bucket, overrides), await mkdtemp(join(work, 'tmp-')), {
    env: { TEST_RGW_KEY: rgw.accessKeyId, TEST_RGW_SECRET: rgw.secretAccessKey },
    partSize: PART,
    // The tests of parts sent as the file grows need it on whatever the machine's core count decides.
    uploadWhileDownloading: true,
    ...options,
  });
  stores.push(store);
  return store;
}

async function freshStore(options: S3BlobStoreOptions = {}): Promise<{ store: S3BlobStore; bucket: string }> {
  const bucket = await rgw.createBucket();
  const store = await storeFor(bucket, options);
  await store.open();
  return { store, bucket };
}

/** Uneven, growing steps (1 byte up to a few MiB), the same on every run. */
function steps(size: number): number[] {
  const out: number[] = [];
  let at = 0;
  for (let i = 0; at < size; i++) {
    const step = Math.min(size - at, [1, 4095, 70_001, 333_333, 1_000_003, 2_621_447][i % 6]! * (1 + (i % 3)));
    out.push(step);
    at += step;
  }
  return out;
}

interface Writing {
  digest: string;
  temp: string;
  upload: S3Upload;
  /** Writes up to `until` bytes into the temp file in uneven steps, telling the upload after each. */
  writeTo(until: number): Promise<void>;
}

/** A download as the proxy runs one: bytes land in the temp file first, and the upload is told of each step. */
async function startWriting(store: S3BlobStore, bytes: Buffer): Promise<Writing> {
  const digest = sha256(bytes);
  const temp = store.tempPath();
  const upload = store.beginUpload(digest, bytes.length, temp);
  let at = 0;
  const plan = steps(bytes.length);
  return {
    digest,
    temp,
    upload,
    async writeTo(until) {
      const file = await open(temp, at === 0 ? 'w' : 'r+');
      try {
        while (at < until && plan.length > 0) {
          const planned = plan.shift()!;
          const step = Math.min(planned, until - at);
          if (step < planned) plan.unshift(planned - step);
          await file.write(bytes, at, step, at);
          at += step;
          upload.written(at);
          // The download's bound on what the upload may lag behind.
          await upload.whenBacklogAtMost(2 * PART);
        }
      } finally {
        await file.close();
      }
    },
  };
}

async function writeBlob(store: S3BlobStore, bytes: Buffer): Promise<string> {
  const writing = await startWriting(store, bytes);
  await writing.writeTo(bytes.length);
  await writing.upload.complete();
  await store.commit(writing.temp, writing.digest);
  return writing.digest;
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const answer = await rgw.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return drain(answer.Body as Readable);
}

async function headStatus(bucket: string, key: string): Promise<number> {
  try {
    await rgw.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return 200;
  } catch (error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  }
}

async function pendingUploads(bucket: string, prefix = `${PREFIX}/`): Promise<string[]> {
  const answer = await rgw.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (answer.Uploads ?? []).map((upload) => upload.Key!);
}

describe('S3BlobStore on Ceph RGW', () => {
  it('uploads a small blob written in uneven steps with one PutObject in complete()', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(1_234_567);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(bytes.length);
    // Everything is written and told, but a blob of one part is sent only by complete().
    expect(writing.upload.backlog).toBe(0);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    await writing.upload.complete();
    await store.commit(writing.temp, writing.digest);
    expect((await objectBytes(bucket, keyOf(writing.digest))).equals(bytes)).toBe(true);
    expect(await store.stat(writing.digest)).toMatchObject({ size: bytes.length });
    expect(store.committedPath(writing.temp, writing.digest)).toBe(writing.temp);
    expect(store.hasSync(writing.digest)).toBe(false);
  });

  it('uploads the empty blob', async () => {
    const { store, bucket } = await freshStore();
    const digest = await writeBlob(store, Buffer.alloc(0));
    expect(await store.stat(digest)).toMatchObject({ size: 0 });
    expect((await objectBytes(bucket, keyOf(digest))).length).toBe(0);
  });

  it('sends the parts of a large blob while the file grows, and makes it visible only in complete()', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(20 * MiB + 12_345);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(2 * PART + 100);
    expect(writing.upload.backlog).toBeLessThanOrEqual(2 * PART);
    await writing.upload.whenBacklogAtMost(0);
    // Two full parts are in S3 before the download has finished, and nothing is visible yet.
    const [pending] = (await rgw.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${PREFIX}/` }))).Uploads ?? [];
    expect(pending?.Key).toBe(keyOf(writing.digest));
    const parts = await rgw.client.send(new ListPartsCommand({ Bucket: bucket, Key: pending!.Key, UploadId: pending!.UploadId }));
    expect((parts.Parts ?? []).map((part) => [part.PartNumber, part.Size])).toEqual([
      [1, PART],
      [2, PART],
    ]);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);

    await writing.writeTo(bytes.length);
    // The part that ends the blob waits for complete(): nothing may finish the object before verification.
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    await writing.upload.complete();
    await store.commit(writing.temp, writing.digest);
    const head = await rgw.client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(writing.digest) }));
    expect(head.ContentLength).toBe(bytes.length);
    expect(head.ETag).toMatch(/-5"$/); // a multipart object of 5 parts
    expect(sha256(await objectBytes(bucket, keyOf(writing.digest)))).toBe(writing.digest);
    expect(await pendingUploads(bucket)).toEqual([]);
  });

  it('with uploadWhileDownloading off, nothing is sent while the file grows; complete() sends every part', async () => {
    const { store, bucket } = await freshStore({ uploadWhileDownloading: false });
    const bytes = randomBytes(4 * PART + 12345);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(bytes.length);
    expect(writing.upload.backlog).toBe(0);
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    await writing.upload.complete();
    expect((await objectBytes(bucket, keyOf(writing.digest))).equals(bytes)).toBe(true);
    expect(await pendingUploads(bucket)).toEqual([]);
    // Aborted before complete(): there was never anything to clean up.
    const other = await startWriting(store, randomBytes(3 * PART));
    await other.writeTo(3 * PART);
    await other.upload.abort();
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await headStatus(bucket, keyOf(other.digest))).toBe(404);
  });

  it('abort() mid-way leaves no object and no pending upload, and complete() then fails', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(17 * MiB);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(12 * MiB);
    await writing.upload.whenBacklogAtMost(0);
    expect(await pendingUploads(bucket)).toHaveLength(1);
    await writing.upload.abort(new Error('digest mismatch'));
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    expect(await pendingUploads(bucket)).toEqual([]);
    await expect(writing.upload.complete()).rejects.toThrow(/aborted: digest mismatch/);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
  });

  it('abort() while parts are still in flight (and the upload not yet created) leaves nothing', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(16 * MiB);
    const writing = await startWriting(store, bytes);
    await writeFile(writing.temp, bytes);
    writing.upload.written(bytes.length - 1);
    expect(writing.upload.backlog).toBe(3 * PART);
    await writing.upload.abort();
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
  });

  it('an upload never completed is never visible; a later open() with a 0 age threshold aborts it', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(11 * MiB);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(bytes.length);
    await writing.upload.whenBacklogAtMost(0);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    expect((await store.scan()).size).toBe(0);
    expect(await pendingUploads(bucket)).toHaveLength(1);
    // The process "crashed": a replica opening the store later removes the leftover once it is old enough.
    const later = await storeFor(bucket, { staleUploadMs: 0 });
    expect(await later.open()).toBe(1);
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
  });

  it('complete() refuses a temp file of the wrong size and leaves nothing', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(7 * MiB);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(bytes.length);
    await writeFile(writing.temp, bytes.subarray(0, bytes.length - 1));
    await expect(writing.upload.complete()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
    expect(await pendingUploads(bucket)).toEqual([]);
  });

  it('a written() out of order fails the upload closed', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(1000);
    const writing = await startWriting(store, bytes);
    await writeFile(writing.temp, bytes);
    writing.upload.written(600);
    writing.upload.written(500);
    await expect(writing.upload.complete()).rejects.toThrow(/told of 500 written bytes after 600/);
    expect(await headStatus(bucket, keyOf(writing.digest))).toBe(404);
  });

  it('openRead ranges return exactly the bytes asked for', async () => {
    const { store } = await freshStore();
    const bytes = randomBytes(6 * MiB + 3);
    const digest = await writeBlob(store, bytes);
    const read = await store.openRead(digest);
    expect(read).toMatchObject({ kind: 'remote', size: bytes.length });
    if (read?.kind !== 'remote') throw new Error('expected a remote read');
    for (const [start, end] of [
      [0, 0],
      [0, bytes.length - 1],
      [bytes.length - 1, bytes.length - 1],
      [1_000_000, 5_000_000],
      [PART - 1, PART + 1],
    ] as const) {
      expect((await drain(await read.open(start, end))).equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    await expect(read.open(0, bytes.length)).rejects.toThrow(/cannot read bytes 0-6291459/);
    await expect(read.open(5, 4)).rejects.toThrow(/cannot read bytes/);
    expect(await store.openRead(sha256(Buffer.from('never stored')))).toBeUndefined();
  });

  it('a cancelled read ends with an error, not a short clean end', async () => {
    const { store } = await freshStore();
    const bytes = randomBytes(3 * MiB);
    const digest = await writeBlob(store, bytes);
    const read = await store.openRead(digest);
    if (read?.kind !== 'remote') throw new Error('expected a remote read');
    const controller = new AbortController();
    const stream = await read.open(0, bytes.length - 1, controller.signal);
    const received: Buffer[] = [];
    const outcome = (async () => {
      for await (const chunk of stream) {
        received.push(chunk as Buffer);
        controller.abort();
      }
    })();
    await expect(outcome).rejects.toThrow(/cancelled/);
    expect(Buffer.concat(received).length).toBeLessThan(bytes.length);
  });

  it('a stored object shorter than its descriptor is an error, never a short read', async () => {
    const { store, bucket } = await freshStore();
    const bytes = randomBytes(256 * 1024);
    const digest = await writeBlob(store, bytes);
    const read = await store.openRead(digest);
    if (read?.kind !== 'remote') throw new Error('expected a remote read');
    // Someone (or a bug) replaced the object with fewer bytes after the reader opened it.
    await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(digest), Body: bytes.subarray(0, bytes.length - 10) }));
    await expect((async () => drain(await read.open(0, bytes.length - 1)))()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect((async () => drain(await read.open(100, bytes.length - 1)))()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    // What it does hold is still read exactly.
    expect((await drain(await read.open(0, bytes.length - 11))).equals(bytes.subarray(0, bytes.length - 10))).toBe(true);
  });

  it('a blob removed after it was opened is a store error that says to fetch again', async () => {
    const { store } = await freshStore();
    const digest = await writeBlob(store, randomBytes(1000));
    const read = await store.openRead(digest);
    if (read?.kind !== 'remote') throw new Error('expected a remote read');
    expect(await store.remove(digest)).toBe(true);
    await expect(read.open(0, 999)).rejects.toMatchObject({ code: 'STORE_ERROR', message: expect.stringMatching(/removed from the store after it was opened; fetch it again/) });
  });

  it('scan lists committed blobs with size and time, paged, and ignores junk keys', async () => {
    const before = Date.now() - 60_000;
    const { store, bucket } = await freshStore({ listPageSize: 2 });
    const blobs = [randomBytes(10), randomBytes(2000), randomBytes(3 * MiB)];
    const digests = [];
    for (const bytes of blobs) digests.push(await writeBlob(store, bytes));
    const hex = 'a'.repeat(64);
    for (const junk of [
      `${PREFIX}/blobs/sha256/not-hex`,
      `${PREFIX}/blobs/sha256/${hex.toUpperCase()}`,
      `${PREFIX}/blobs/sha256/${hex}/extra`,
      `${PREFIX}/blobs/md5/${'b'.repeat(32)}`,
      `${PREFIX}/blobs/sha512/${hex}`,
      `${PREFIX}/other/sha256/${hex}`,
      `elsewhere/blobs/sha256/${hex}`,
      `blobs/sha256/${hex}`,
    ]) {
      await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: junk, Body: 'junk' }));
    }
    const found = await store.scan();
    expect([...found.keys()].sort()).toEqual([...digests].sort());
    for (const [i, digest] of digests.entries()) {
      expect(found.get(digest)!.size).toBe(blobs[i]!.length);
      expect(found.get(digest)!.mtimeMs).toBeGreaterThan(before);
    }
  });

  it('keys blobs under an empty prefix as blobs/<alg>/<hex>, and normalises slashes', async () => {
    const bucket = await rgw.createBucket();
    const bare = await storeFor(bucket, {}, { prefix: '' });
    await bare.open();
    const digest = await writeBlob(bare, randomBytes(100));
    expect(await headStatus(bucket, `blobs/sha256/${digest.slice('sha256:'.length)}`)).toBe(200);
    const slashed = await storeFor(bucket, {}, { prefix: `/${PREFIX}/` });
    expect(slashed.describe()).toBe(`s3://${bucket}/${PREFIX} at ${rgw.endpoint}`);
    const inside = await writeBlob(slashed, randomBytes(100));
    expect(await headStatus(bucket, keyOf(inside))).toBe(200);
    expect(() => new S3BlobStore(configFor(bucket, { prefix: 'a/../b' }), work)).toThrow(/not a safe key prefix/);
  });

  it('remove() deletes a blob and says whether it was there', async () => {
    const { store, bucket } = await freshStore();
    const digest = await writeBlob(store, randomBytes(5000));
    expect(await store.remove(digest)).toBe(true);
    expect(await headStatus(bucket, keyOf(digest))).toBe(404);
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.remove(digest)).toBe(false);
  });

  it('open() removes local leftovers and aborts only multipart uploads older than the threshold', async () => {
    const bucket = await rgw.createBucket();
    const ours = await rgw.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keyOf(sha256(Buffer.from('crashed'))) }));
    const foreign = await rgw.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'someone-else/blobs/sha256/x' }));
    expect(ours.UploadId && foreign.UploadId).toBeTruthy();

    const patient = await storeFor(bucket, { staleUploadMs: 3_600_000 });
    await writeFile(join(patient.tmpDir, 'left-1.part'), 'x');
    await writeFile(join(patient.tmpDir, 'left-2.part'), 'y');
    expect(await patient.open()).toBe(2);
    expect(await readdir(patient.tmpDir)).toEqual([]);
    // Young uploads may be another replica's download in progress.
    expect(await pendingUploads(bucket, '')).toHaveLength(2);

    const strict = await storeFor(bucket, { staleUploadMs: 0 });
    expect(await strict.open()).toBe(1);
    expect(await pendingUploads(bucket, '')).toEqual(['someone-else/blobs/sha256/x']);
  });

  it('signs a URL that serves the blob without the secret in it', async () => {
    const { store } = await freshStore();
    const bytes = randomBytes(4096);
    const digest = await writeBlob(store, bytes);
    const url = await store.presignedUrl(digest, 60);
    expect(url).not.toContain(rgw.secretAccessKey);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    await expect(store.presignedUrl(digest, 0)).rejects.toThrow(/1 s to 7 days/);
  });

  it('reads credentials from a shared credentials file and profile', async () => {
    const bucket = await rgw.createBucket();
    const file = join(work, 'aws-credentials');
    await writeFile(file, `[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[rgw]\naws_access_key_id = ${rgw.accessKeyId}\naws_secret_access_key = ${rgw.secretAccessKey}\n`);
    const store = await storeFor(bucket, {}, { credentials: { file, profile: 'rgw' } });
    expect(await store.open()).toBe(0);
    const missing = await storeFor(bucket, {}, { credentials: { file, profile: 'absent' } });
    await expect(missing.open()).rejects.toMatchObject({ code: 'CREDENTIALS', message: expect.stringContaining(`profile "absent" of ${file}`) });
  });

  it('wrong credentials, a missing variable or a missing bucket fail open() clearly, without the secret', async () => {
    const bucket = await rgw.createBucket();
    const secret = 'not-the-secret-0123456789abcdef';
    const wrong = await storeFor(bucket, { env: { TEST_RGW_KEY: rgw.accessKeyId, TEST_RGW_SECRET: secret } });
    const error = await wrong.open().then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('STORE_ERROR');
    expect(error?.message).toMatch(/checking the bucket .* failed: S3 answered 403 .*check store\.blobs\.s3\.credentials/);
    expect(error?.message).toContain(rgw.endpoint);
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(String(error?.stack)).not.toContain(secret);
    expect(error?.cause).toBeUndefined();

    expect(() => new S3BlobStore(configFor(bucket), work, { env: { TEST_RGW_KEY: 'x' } })).toThrow(/environment variable TEST_RGW_SECRET is not set/);
    const nowhere = await storeFor('no-such-bucket-here');
    await expect(nowhere.open()).rejects.toThrow(/the bucket does not exist; create it or fix store\.blobs\.s3\.bucket/);
  });

  it('reads every part from the temp file, with at most two parts in flight', async () => {
    const { store, bucket } = await freshStore();
    const observed: Array<{ part: number; body: unknown }> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    // Sees each request as the store hands it to the SDK: the body must be a ranged stream of the file, not bytes.
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand' && context.commandName !== 'PutObjectCommand') return next(args);
        const input = args.input as { PartNumber?: number; Body: unknown };
        observed.push({ part: input.PartNumber ?? 0, body: input.Body });
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'observeUploadBodies' },
    );
    const bytes = randomBytes(32 * MiB + 1);
    const digest = sha256(bytes);
    const temp = store.tempPath();
    await writeFile(temp, bytes);
    const upload = store.beginUpload(digest, bytes.length, temp);
    // Told of everything at once: six full parts queue up, yet only two may be read and sent at a time.
    upload.written(bytes.length);
    expect(upload.backlog).toBe(6 * PART);
    await upload.whenBacklogAtMost(0);
    expect(upload.backlog).toBe(0);
    await upload.complete();
    expect(mostInFlight).toBe(2);
    expect(observed.map((o) => o.part).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const { part, body } of observed) {
      expect(body).toBeInstanceOf(ReadStream);
      const stream = body as ReadStream & { start: number; end: number };
      expect(stream.path).toBe(temp);
      expect([stream.start, stream.end]).toEqual([(part - 1) * PART, Math.min(part * PART, bytes.length) - 1]);
      expect(stream.readableHighWaterMark).toBeLessThanOrEqual(MiB);
    }
    expect(sha256(await objectBytes(bucket, keyOf(digest)))).toBe(digest);
  });

  // Last: it stops the file's RGW.
});

describe('S3BlobStore with local copies (store.blobs.s3.localCache)', () => {
  async function storeWithCopies(bucket: string, maxBytes = 64 * MiB): Promise<{ store: S3BlobStore; copies: LocalCopies }> {
    const dataDir = await mkdtemp(join(work, 'replica-'));
    const copies = new LocalCopies(join(dataDir, 'local-cache'), maxBytes);
    const store = await storeFor(bucket, { localCopies: copies });
    await store.open();
    return { store, copies };
  }

  /** Reads a whole blob as the proxy sends it: a local file as it is, a remote read hashed on the way. */
  async function serve(store: S3BlobStore, digest: string): Promise<{ kind: string; body: Buffer; corrupt?: Error }> {
    const read = await store.openRead(digest);
    if (read === undefined) throw new Error('not in the store');
    if (read.kind === 'file') {
      try {
        return { kind: 'file', body: await read.handle.readFile() };
      } finally {
        await read.handle.close();
      }
    }
    const sink = new PassThrough();
    const body = drain(sink).catch(() => Buffer.alloc(0));
    let corrupt: Error | undefined;
    await sendVerifiedRemote(sink, read, digest, 0, read.size - 1, (error) => {
      corrupt = error;
    });
    return { kind: 'remote', body: await body, ...(corrupt !== undefined ? { corrupt } : {}) };
  }

  it("keeps a verified temp file as the copy; reads are then the local file, even once S3's object was altered or removed", async () => {
    const bucket = await rgw.createBucket();
    const { store, copies } = await storeWithCopies(bucket);
    expect(store.keepsLocalCopies).toBe(true);
    const bytes = randomBytes(2 * MiB);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(bytes.length);
    await writing.upload.complete();
    await store.commit(writing.temp, writing.digest);
    await store.keepVerifiedTemp(writing.temp, writing.digest, bytes.length);
    expect(copies.has(writing.digest)).toBe(true);
    expect(await readdir(store.tmpDir)).toEqual([]);
    // Same size, other bytes in S3: the copy was verified when it was kept, so this replica still sends the blob.
    await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(writing.digest), Body: randomBytes(bytes.length) }));
    const local = await serve(store, writing.digest);
    expect(local.kind).toBe('file');
    expect(local.body.equals(bytes)).toBe(true);
    // A replica without copies hashes the altered object and refuses it.
    const plain = await storeFor(bucket);
    await plain.open();
    expect(plain.keepsLocalCopies).toBe(false);
    const other = await serve(plain, writing.digest);
    expect(other.corrupt).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(other.body.length).toBeLessThan(bytes.length);
    // remove() (eviction, gc, a corrupt object dropped) takes the copy too.
    expect(await store.remove(writing.digest)).toBe(true);
    expect(copies.has(writing.digest)).toBe(false);
    expect(await store.openRead(writing.digest)).toBeUndefined();
  });

  it("gc's store (opened with keepTemp) never uses the copies; without copies a verified temp file is removed", async () => {
    const bucket = await rgw.createBucket();
    const { store, copies } = await storeWithCopies(bucket);
    const bytes = randomBytes(1 * MiB);
    const digest = await writeBlob(store, bytes);
    const kept = store.tempPath();
    await writeFile(kept, bytes);
    await store.keepVerifiedTemp(kept, digest, bytes.length);
    expect(copies.has(digest)).toBe(true);

    const gcCopies = new LocalCopies(copies.dir, copies.maxBytes);
    const gc = await storeFor(bucket, { localCopies: gcCopies });
    await gc.open({ keepTemp: true });
    expect(gc.keepsLocalCopies).toBe(false);
    const fromGc = await serve(gc, digest);
    expect(fromGc.kind).toBe('remote');
    expect(fromGc.body.equals(bytes)).toBe(true);

    const plain = await storeFor(bucket);
    await plain.open();
    const temp = plain.tempPath();
    await writeFile(temp, bytes);
    await plain.keepVerifiedTemp(temp, digest, bytes.length);
    expect(await readdir(plain.tmpDir)).toEqual([]);
  });
});

// Last: it stops RGW.
describe('S3BlobStore when RGW goes away', () => {
  it('fails within seconds, clearly, once RGW is gone; abort() still resolves', async () => {
    const { store, bucket } = await freshStore();
    const another = await storeFor(bucket);
    const stored = await writeBlob(store, randomBytes(1000));
    const bytes = randomBytes(12 * MiB);
    const writing = await startWriting(store, bytes);
    await writing.writeTo(PART + 1);
    await writing.upload.whenBacklogAtMost(0);
    await rgw.stop();

    const timed = async (operation: () => Promise<unknown>) => {
      const started = Date.now();
      const error = await operation().then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
      return { error, ms: Date.now() - started };
    };
    for (const operation of [() => store.stat(stored), () => store.openRead(stored), () => store.scan(), () => another.open(), () => store.remove(stored)]) {
      const { error, ms } = await timed(operation);
      expect(error?.code).toBe('STORE_UNAVAILABLE');
      expect(error?.message).toMatch(/cannot reach S3 at s3:\/\/.* \((ECONNREFUSED|ECONNRESET|EPIPE)\); check that the endpoint is up/);
      expect(ms).toBeLessThan(5000);
    }
    await writing.writeTo(bytes.length);
    const { error, ms } = await timed(() => writing.upload.complete());
    expect(error?.message).toMatch(/cannot reach S3/);
    expect(error?.code).toBe('STORE_UNAVAILABLE');
    expect(ms).toBeLessThan(8000);
    await writing.upload.abort();
  });
});
