import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseDigest, TollgateError } from '@tollgate/core';
import type { S3BlobConfig } from '../../config/types.js';
import { createS3Client, credentialsSource, type S3ClientOptions } from './s3-client.js';
import { isS3NotFound, s3Error } from './s3-errors.js';
import { exactLength } from './s3-exact-length.js';
import { blobKey, blobsKeyPrefix, digestOfKey, normaliseS3Prefix } from './s3-keys.js';
import { abortStaleUploads, abortUploadsOfKey } from './s3-stale-uploads.js';
import { S3Upload } from './s3-upload.js';
import type { LocalCopies } from './local-copies.js';
import { onWithSpareCores } from '../../ops/cores-switch.js';
import type { BlobStore, StoredBlob, StoredRead } from './types.js';

export interface S3BlobStoreOptions extends S3ClientOptions {
  /**
   * The smallest part of a multipart upload, and the largest blob sent in a single PutObject (default 8 MiB; S3
   * refuses parts under 5 MiB except the last). Grows with the blob to stay within 10,000 parts.
   */
  partSize?: number;
  /** Multipart uploads under the prefix started at least this long ago are a crashed replica's (default 24 h). */
  staleUploadMs?: number;
  /** Keys per ListObjectsV2 page in scan() (default: S3's 1000; tests make it small to cover paging). */
  listPageSize?: number;
  /** This replica's disk copies of verified blobs (`store.blobs.s3.localCache`); absent: every read goes to S3. */
  localCopies?: LocalCopies;
  /** Whether uploads send parts while their download runs (default: see uploadWhileDownloading). */
  uploadWhileDownloading?: boolean;
}

/**
 * Whether a download's parts go to S3 while it runs, or all once it is verified: `TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD=1`
 * or `0` decides; otherwise only with more than two cores. On two cores, measured (docs/benchmarks.md, "Scale-out"),
 * the parts (the replica reading its temp file and sending it, the object store taking it) compete with the
 * download's own client for the CPU: the client's cold pull took ~1.5× the filesystem store's against ~1.2× with the
 * upload after the download, which makes the object visible to the other replicas only ~0.1 s later.
 */
export function uploadWhileDownloading(env: NodeJS.ProcessEnv = process.env): boolean {
  return onWithSpareCores(env.TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD);
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Verified blobs in an S3 bucket shared by every replica, as `<prefix>/blobs/<alg>/<hex>`. Downloads land in a local
 * temp file first (`tmpDir`); an S3Upload follows that file and makes the object visible only once the download
 * verified. Readers of a committed blob get ranged GETs whose length is checked.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly keepsTempAfterCommit = true;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly staleUploadMs: number;
  private readonly attempts: number;
  private readonly listPageSize: number | undefined;
  private readonly uploadWhileDownloading: boolean;
  private readonly where: string;
  /** Used only by a store opened to serve (not by gc beside a serving replica: the copies are the replica's). */
  private localCopies: LocalCopies | undefined;
  private readonly configuredCopies: LocalCopies | undefined;

  constructor(
    private readonly config: S3BlobConfig,
    readonly tmpDir: string,
    options: S3BlobStoreOptions = {},
  ) {
    const prefix = normaliseS3Prefix(config.prefix);
    if (prefix === undefined) throw new TollgateError('INVALID_CONFIG', `store.blobs.s3.prefix ${JSON.stringify(config.prefix.slice(0, 100))} is not a safe key prefix; use segments of letters, digits and -_.!*'() separated by "/", without "." or ".."`);
    this.bucket = config.bucket;
    this.prefix = prefix;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.staleUploadMs = options.staleUploadMs ?? DAY_MS;
    this.attempts = options.maxAttempts ?? 3;
    this.listPageSize = options.listPageSize;
    this.configuredCopies = options.localCopies;
    this.uploadWhileDownloading = options.uploadWhileDownloading ?? uploadWhileDownloading();
    this.where = `s3://${config.bucket}/${prefix} at ${config.endpoint ?? `AWS ${config.region}`}`;
    this.client = createS3Client(config, options);
  }

  describe(): string {
    return this.where;
  }

  get keepsLocalCopies(): boolean {
    return this.localCopies !== undefined;
  }

  localCopyStats(): { bytes: number; count: number } | undefined {
    return this.localCopies === undefined ? undefined : { bytes: this.localCopies.totalBytes, count: this.localCopies.count };
  }

  async open(options: { keepTemp?: boolean } = {}): Promise<number> {
    await mkdir(this.tmpDir, { recursive: true });
    // gc beside a replica on the same data directory must not take the temp files of its downloads in flight.
    const leftovers = options.keepTemp === true ? [] : await readdir(this.tmpDir);
    await Promise.all(leftovers.map((name) => rm(join(this.tmpDir, name), { force: true, recursive: true })));
    try {
      await this.client.config.credentials();
    } catch {
      throw new TollgateError('CREDENTIALS', `no S3 credentials for ${this.where}: none could be read from ${credentialsSource(this.config.credentials)}; fix store.blobs.s3.credentials`);
    }
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      throw s3Error(error, `checking the bucket ${this.bucket}`, this.where, 'the bucket does not exist; create it or fix store.blobs.s3.bucket');
    }
    let stale: number;
    try {
      stale = await abortStaleUploads(this.client, this.bucket, blobsKeyPrefix(this.prefix), this.staleUploadMs);
    } catch (error) {
      throw s3Error(error, 'aborting the uploads crashed replicas left', this.where);
    }
    if (options.keepTemp !== true && this.configuredCopies !== undefined) {
      await this.configuredCopies.open();
      if (this.configuredCopies.enabled) this.localCopies = this.configuredCopies;
    }
    return leftovers.length + stale;
  }

  tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
  }

  beginUpload(digest: string, size: number, tempPath: string): S3Upload {
    if (!Number.isSafeInteger(size) || size < 0) throw new TollgateError('STORE_ERROR', `cannot upload ${digest}: size ${size} is not a byte count`);
    const target = { client: this.client, bucket: this.bucket, key: this.key(digest), where: this.where };
    return new S3Upload(target, digest, size, tempPath, this.partSize, this.attempts, this.uploadWhileDownloading);
  }

  /** The upload already made the object visible: checks it is there with the temp file's size. */
  async commit(tempPath: string, digest: string): Promise<void> {
    const [local, stored] = await Promise.all([stat(tempPath), this.stat(digest)]);
    if (stored === undefined) throw new TollgateError('STORE_ERROR', `${digest} is not in ${this.where} after its upload completed; fetch it again`);
    if (stored.size !== local.size) throw new TollgateError('SIZE_MISMATCH', `${digest} has ${stored.size} bytes in ${this.where}, not ${local.size}; remove it and fetch again`);
  }

  committedPath(tempPath: string, _digest?: string): string {
    return tempPath;
  }

  /** A shared store cannot answer without a request: the caller's single-flight then asks stat/openRead. */
  hasSync(_digest?: string): boolean {
    return false;
  }

  async stat(digest: string): Promise<StoredBlob | undefined> {
    const key = this.key(digest);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if (head.ContentLength === undefined) throw new TollgateError('STORE_ERROR', `S3 answered HEAD of ${digest} without a length (${this.where})`);
      return { size: head.ContentLength, mtimeMs: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw s3Error(error, `looking up ${digest}`, this.where);
    }
  }

  async openRead(digest: string): Promise<StoredRead | undefined> {
    const local = await this.localCopies?.read(digest);
    if (local !== undefined) return { kind: 'file', handle: local.handle, size: local.size };
    const found = await this.stat(digest);
    if (found === undefined) return undefined;
    const size = found.size;
    return { kind: 'remote', size, open: (start, end, signal) => this.readRange(digest, size, start, end, signal) };
  }

  async keepVerifiedTemp(tempPath: string, digest: string, size: number): Promise<void> {
    if (this.localCopies !== undefined) await this.localCopies.adopt(tempPath, digest, size);
    else await unlink(tempPath).catch(() => undefined);
  }

  private async readRange(digest: string, size: number, start: number, end: number, signal?: AbortSignal): Promise<Readable> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
      throw new TollgateError('STORE_ERROR', `cannot read bytes ${start}-${end} of ${digest}: it has ${size} bytes`);
    }
    const what = `reading bytes ${start}-${end} of ${digest}`;
    const expected = end - start + 1;
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(digest), Range: `bytes=${start}-${end}` }), signal ? { abortSignal: signal } : {});
    } catch (error) {
      // 416: the object is shorter than it was when opened; 404: removed since (another replica's eviction).
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
        throw new TollgateError('SIZE_MISMATCH', `${what}: the object in ${this.where} is shorter than its ${size} bytes; remove it and fetch again`);
      }
      throw s3Error(error, what, this.where, 'the blob was removed from the store after it was opened; fetch it again');
    }
    const body = answer.Body;
    if (!(body instanceof Readable)) throw new TollgateError('STORE_ERROR', `${what}: S3 answered without a body (${this.where})`);
    if (answer.ContentLength !== undefined && answer.ContentLength !== expected) {
      body.destroy();
      throw new TollgateError('SIZE_MISMATCH', `${what}: S3 offers ${answer.ContentLength} bytes for ${expected} asked; the object in ${this.where} is not the blob it is named for, remove it and fetch again`);
    }
    return exactLength(body, expected, what, signal);
  }

  async remove(digest: string): Promise<boolean> {
    await this.localCopies?.remove(digest);
    if ((await this.stat(digest)) === undefined) return false;
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
      return true;
    } catch (error) {
      throw s3Error(error, `removing ${digest}`, this.where);
    }
  }

  async scan(): Promise<Map<string, StoredBlob>> {
    const found = new Map<string, StoredBlob>();
    const prefix = blobsKeyPrefix(this.prefix);
    let token: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.listPageSize }));
        for (const object of page.Contents ?? []) {
          const digest = object.Key === undefined ? undefined : digestOfKey(this.prefix, object.Key);
          if (digest === undefined || object.Size === undefined) continue;
          found.set(digest, { size: object.Size, mtimeMs: object.LastModified?.getTime() ?? 0 });
        }
        if (page.IsTruncated !== true || page.NextContinuationToken === undefined) return found;
        token = page.NextContinuationToken;
      }
    } catch (error) {
      throw s3Error(error, 'listing the blobs', this.where);
    }
  }

  async abortPendingUploads(digest: string): Promise<number> {
    try {
      return await abortUploadsOfKey(this.client, this.bucket, this.key(digest));
    } catch (error) {
      throw s3Error(error, `aborting the pending uploads of ${digest}`, this.where);
    }
  }

  /**
   * A URL that GETs the blob straight from S3 for `seconds`, without the proxy's client authentication: only for
   * `redirect: true`, whose operator accepted that.
   */
  async presignedUrl(digest: string, seconds: number): Promise<string> {
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 604_800) throw new TollgateError('STORE_ERROR', `a presigned URL lives 1 s to 7 days, not ${seconds} s`);
    try {
      return await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }), { expiresIn: seconds });
    } catch (error) {
      throw s3Error(error, `signing a URL for ${digest}`, this.where);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private key(digest: string): string {
    return blobKey(this.prefix, parseDigest(digest).value);
  }
}
