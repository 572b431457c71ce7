import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Aborts the multipart uploads under `keyPrefix` that were started at least `olderThanMs` ago: what a replica that
 * crashed mid-download left behind. Younger ones may be another replica's download in progress and are left alone.
 * Returns how many were aborted.
 */
export async function abortStaleUploads(client: S3Client, bucket: string, keyPrefix: string, olderThanMs: number, now = Date.now()): Promise<number> {
  return abortUploads(client, bucket, keyPrefix, (upload) => now - upload.Initiated.getTime() >= olderThanMs);
}

/** Aborts every multipart upload of exactly `key`, whatever its age. */
export async function abortUploadsOfKey(client: S3Client, bucket: string, key: string): Promise<number> {
  return abortUploads(client, bucket, key, (upload) => upload.Key === key);
}

async function abortUploads(client: S3Client, bucket: string, keyPrefix: string, wanted: (upload: { Key: string; Initiated: Date }) => boolean): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined || upload.Initiated === undefined) continue;
      if (!upload.Key.startsWith(keyPrefix) || !wanted({ Key: upload.Key, Initiated: upload.Initiated })) continue;
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
        aborted++;
      } catch (error) {
        // Another replica opening at the same time may have aborted it first.
        if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
      }
    }
    // A page that says "more" without saying where would list the same page forever.
    if (page.IsTruncated !== true || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) return aborted;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}
