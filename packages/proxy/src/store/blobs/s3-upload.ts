import { stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TollgateError } from '@tollgate/core';
import { s3Error } from './s3-errors.js';
import { sendFileRange } from './s3-file-body.js';
import type { BlobUpload } from './types.js';

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts per upload. */
const MAX_PARTS = 10_000;
/** Parts uploading at once per blob: the disk read and the network both stay busy, and the memory stays small. */
const PARTS_IN_FLIGHT = 2;

/** max(minimum, size / 10,000) rounded up to whole MiB, so that any blob fits in S3's 10,000 parts. */
export function partSizeFor(size: number, minimum: number): number {
  return Math.ceil(Math.max(minimum, Math.ceil(size / MAX_PARTS)) / MiB) * MiB;
}

export interface S3UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** The store's describe(), for errors. */
  where: string;
}

interface Part {
  number: number;
  start: number;
  end: number;
}

type State = 'open' | 'completing' | 'completed' | 'aborted';

/**
 * Copies a download's temp file to S3 while the download writes it. A blob of at most one part is sent by a single
 * PutObject in complete(); a larger one becomes a multipart upload, created with the first full part, that sends
 * each full part as soon as the file holds it (at most two at once, each read from the file) and the last part in
 * complete(). Nothing is visible in the bucket before CompleteMultipartUpload or PutObject, which only complete()
 * sends; abort() and every failure abort the multipart upload.
 */
export class S3Upload implements BlobUpload {
  private readonly partSize: number;
  private readonly multipart: boolean;
  private state: State = 'open';
  private told = 0;
  /** End of the bytes handed to parts (queued, in flight or sent). */
  private scheduled = 0;
  private uploaded = 0;
  private nextPart = 1;
  private readonly queue: Part[] = [];
  private readonly inFlight = new Map<Promise<void>, AbortController>();
  private readonly etags = new Map<number, string>();
  private created: Promise<string> | undefined;
  private failure: TollgateError | undefined;
  /** The request that makes the object visible was sent: its outcome may be a visible object even if it failed. */
  private finalSent = false;
  private completion: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;
  private waiters: Array<{ max: number; resolve: () => void }> = [];

  constructor(
    private readonly target: S3UploadTarget,
    private readonly digest: string,
    private readonly size: number,
    private readonly tempPath: string,
    minimumPartSize: number,
    private readonly attempts: number,
    /** Send full parts while the download still writes the file (else all of them in complete()). */
    private readonly whileWriting = true,
  ) {
    this.partSize = partSizeFor(size, minimumPartSize);
    this.multipart = size > this.partSize;
  }

  /**
   * Bytes of full parts the file holds that are not uploaded yet (queued or in flight). The partial part at the end
   * is not counted: it cannot be sent before more is written, so a download waiting for it to drain would wait
   * forever. A blob sent in one PutObject has no backlog before complete().
   */
  get backlog(): number {
    return this.scheduled - this.uploaded;
  }

  /**
   * Resolves once backlog <= max, or the upload has failed or ended (complete() then says how): a download that
   * stopped reading at its bound waits on this, instead of polling `backlog`.
   */
  whenBacklogAtMost(max: number): Promise<void> {
    if (this.drainedTo(max)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ max, resolve }));
  }

  written(bytes: number): void {
    if (this.state !== 'open' || this.failure !== undefined) return;
    if (!Number.isSafeInteger(bytes) || bytes < this.told || bytes > this.size) {
      this.fail(new TollgateError('STORE_ERROR', `upload of ${this.digest}: told of ${bytes} written bytes after ${this.told} (size ${this.size}); the download and its upload disagree, fetch again`));
      return;
    }
    this.told = bytes;
    if (!this.multipart || !this.whileWriting) return;
    // The part that ends the blob waits for complete(): only a verified download may finish the upload.
    while (this.scheduled + this.partSize <= this.told && this.scheduled + this.partSize < this.size) this.schedule(this.scheduled + this.partSize);
    this.pump();
  }

  complete(): Promise<void> {
    if (this.state === 'completed') return Promise.resolve();
    if (this.state !== 'open') return Promise.reject(this.endedError());
    this.state = 'completing';
    this.completion = this.finish();
    return this.completion;
  }

  /**
   * While complete() runs, the first to settle decides: complete() resolved means the object stays (abort is then a
   * no-op); otherwise complete() rejects and nothing is left.
   */
  abort(reason?: Error): Promise<void> {
    if (this.state === 'completed') return Promise.resolve();
    this.aborting ??= this.stop(reason).catch(() => undefined);
    return this.aborting;
  }

  private async stop(reason: Error | undefined): Promise<void> {
    const wasCompleting = this.state === 'completing';
    const why = reason?.message !== undefined ? `: ${reason.message.slice(0, 200)}` : '';
    this.fail(new TollgateError('STORE_ERROR', `upload of ${this.digest} to ${this.target.where} was aborted${why}`));
    // A completion in progress notices the failure and cleans up itself; racing it would abort twice.
    if (wasCompleting) await this.completion?.catch(() => undefined);
    else {
      await this.cleanUp();
      this.state = 'aborted';
    }
  }

  private async finish(): Promise<void> {
    const { client, bucket, key, where } = this.target;
    try {
      const onDisk = (await stat(this.tempPath)).size;
      if (onDisk !== this.size) throw new TollgateError('SIZE_MISMATCH', `upload of ${this.digest}: the temp file holds ${onDisk} bytes, not ${this.size}; fetch again`);
      this.told = this.size;
      if (this.multipart) {
        while (this.scheduled + this.partSize < this.size) this.schedule(this.scheduled + this.partSize);
        if (this.scheduled < this.size) this.schedule(this.size);
        this.pump();
        await this.whenBacklogAtMost(0);
        await this.settled();
        this.throwIfFailed();
        const uploadId = await this.uploadId();
        const parts = [...this.etags].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
        this.throwIfFailed();
        this.finalSent = true;
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      } else {
        this.throwIfFailed();
        this.finalSent = true;
        await sendFileRange(this.tempPath, 0, this.size, this.attempts, undefined, (Body, ContentLength) =>
          client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body, ContentLength })),
        );
      }
      this.throwIfFailed();
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (head.ContentLength !== this.size) {
        throw new TollgateError('SIZE_MISMATCH', `upload of ${this.digest}: S3 holds ${head.ContentLength ?? 'no'} bytes after the upload, not ${this.size}; the object was removed, fetch again`);
      }
      this.throwIfFailed();
      this.state = 'completed';
      this.wake();
    } catch (error) {
      const failure = this.failure ?? s3Error(error, `uploading ${this.digest}`, where);
      this.fail(failure);
      await this.cleanUp();
      this.state = 'aborted';
      throw failure;
    }
  }

  private schedule(end: number): void {
    this.queue.push({ number: this.nextPart++, start: this.scheduled, end });
    this.scheduled = end;
  }

  private pump(): void {
    while (this.inFlight.size < PARTS_IN_FLIGHT && this.queue.length > 0 && this.failure === undefined) {
      const part = this.queue.shift()!;
      const controller = new AbortController();
      const task: Promise<void> = this.sendPart(part, controller.signal)
        .then(() => {
          this.uploaded += part.end - part.start;
        })
        .catch((error: unknown) => this.fail(s3Error(error, `uploading part ${part.number} of ${this.digest}`, this.target.where)))
        .finally(() => {
          this.inFlight.delete(task);
          this.wake();
          this.pump();
        });
      this.inFlight.set(task, controller);
    }
  }

  private async sendPart(part: Part, signal: AbortSignal): Promise<void> {
    const { client, bucket, key } = this.target;
    const uploadId = await this.uploadId();
    const answer = await sendFileRange(this.tempPath, part.start, part.end, this.attempts, signal, (Body, ContentLength) =>
      client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: part.number, Body, ContentLength }), { abortSignal: signal }),
    );
    if (answer.ETag === undefined) throw new TollgateError('STORE_ERROR', `S3 answered part ${part.number} of ${this.digest} without an ETag`);
    this.etags.set(part.number, answer.ETag);
  }

  /** Created with the first part, once: a blob whose download fails early costs no request. */
  private uploadId(): Promise<string> {
    const { client, bucket, key } = this.target;
    this.created ??= client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })).then((answer) => {
      if (answer.UploadId === undefined) throw new TollgateError('STORE_ERROR', `S3 started an upload of ${this.digest} without an upload id`);
      return answer.UploadId;
    });
    return this.created;
  }

  private fail(error: TollgateError): void {
    if (this.failure === undefined) this.failure = error;
    this.queue.length = 0;
    for (const controller of this.inFlight.values()) controller.abort();
    this.wake();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private endedError(): TollgateError {
    return this.failure ?? new TollgateError('STORE_ERROR', `upload of ${this.digest} to ${this.target.where} has ended`);
  }

  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.keys()]);
  }

  private drainedTo(max: number): boolean {
    return this.backlog <= max || this.failure !== undefined || this.state === 'completed' || this.state === 'aborted';
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (this.drainedTo(waiter.max)) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  /** Leaves no pending upload and no object this upload may have made visible. Never throws. */
  private async cleanUp(): Promise<void> {
    const { client, bucket, key } = this.target;
    await this.settled();
    const uploadId = await this.created?.catch(() => undefined);
    if (uploadId !== undefined) {
      // Retried once more by hand: a pending upload keeps its parts' storage until someone aborts it.
      for (let attempt = 0; attempt < 2; attempt++) {
        const done = await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).then(
          () => true,
          (error: unknown) => (error as { name?: string }).name === 'NoSuchUpload',
        );
        if (done) break;
      }
    }
    if (this.finalSent) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}
