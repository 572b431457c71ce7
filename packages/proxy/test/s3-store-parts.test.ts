/** The S3 blob store's small pieces, without a server: keys, part sizes, error wording and the exact-length reader. */
import { availableParallelism } from 'node:os';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { isS3NotFound, s3Error } from '../src/store/blobs/s3-errors.js';
import { exactLength } from '../src/store/blobs/s3-exact-length.js';
import { blobKey, digestOfKey, normaliseS3Prefix } from '../src/store/blobs/s3-keys.js';
import { partSizeFor } from '../src/store/blobs/s3-upload.js';
import { uploadWhileDownloading } from '../src/store/blobs/s3-blob-store.js';

const MiB = 1024 * 1024;
const HEX = 'ab'.repeat(32);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('S3 keys', () => {
  it('are <prefix>/blobs/<alg>/<hex>, and only such keys parse back to digests', () => {
    expect(blobKey('', `sha256:${HEX}`)).toBe(`blobs/sha256/${HEX}`);
    expect(blobKey('a/b', `sha256:${HEX}`)).toBe(`a/b/blobs/sha256/${HEX}`);
    expect(() => blobKey('', 'sha256:../../etc')).toThrow(TollgateError);
    expect(digestOfKey('a/b', `a/b/blobs/sha256/${HEX}`)).toBe(`sha256:${HEX}`);
    for (const junk of [`a/blobs/sha256/${HEX}`, `a/b/blobs/sha256/${HEX}/x`, `a/b/blobs/md5/${HEX}`, `a/b/blobs/sha256/${HEX.toUpperCase()}`, `a/b/blobs/sha256/${HEX}0`, 'a/b/blobs/']) {
      expect(digestOfKey('a/b', junk)).toBeUndefined();
    }
  });

  it('round-trip for any digest and safe prefix', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }), fc.constantFrom('sha256', 'sha512'), fc.uint8Array({ minLength: 64, maxLength: 64 }), (segments, algorithm, raw) => {
        const prefix = normaliseS3Prefix(`/${segments.join('/')}/`)!;
        const hex = Buffer.from(raw).toString('hex').slice(0, algorithm === 'sha256' ? 64 : 128);
        const digest = `${algorithm}:${hex}`;
        expect(digestOfKey(prefix, blobKey(prefix, digest))).toBe(digest);
      }),
    );
  });

  it('prefixes never climb out of their tree', () => {
    expect(normaliseS3Prefix('///a/b///')).toBe('a/b');
    expect(normaliseS3Prefix('/')).toBe('');
    for (const bad of ['..', 'a/..', '../a', 'a/./b', 'a//b', 'a b', 'a\u0000b', 'ä']) expect(normaliseS3Prefix(bad)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const prefix = normaliseS3Prefix(raw);
        if (prefix !== undefined && prefix !== '') {
          expect(prefix.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')).toBe(true);
        }
      }),
    );
  });
});

describe('part sizes', () => {
  it('are whole MiB, at least the minimum, and fit any blob S3 can hold in 10,000 parts', () => {
    expect(partSizeFor(1, 8 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(200 * MiB, 8 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(5 * 1024 ** 4, 8 * MiB)).toBe(525 * MiB);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * 1024 ** 4 }), fc.integer({ min: 5, max: 64 }), (size, minimumMiB) => {
        const part = partSizeFor(size, minimumMiB * MiB);
        expect(part % MiB).toBe(0);
        expect(part).toBeGreaterThanOrEqual(minimumMiB * MiB);
        expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
      }),
    );
  });
});

describe('S3 errors', () => {
  const where = 's3://b/p at http://127.0.0.1:1';
  const answered = (name: string, status: number) => Object.assign(new Error('The request signature we calculated does not match. AWSAccessKeyId AKIASECRETISH'), { name, $metadata: { httpStatusCode: status } });

  it('say what failed and what to do, without the service message', () => {
    const denied = s3Error(answered('SignatureDoesNotMatch', 403), 'checking the bucket b', where);
    expect(denied).toMatchObject({ code: 'STORE_ERROR', message: 'checking the bucket b failed: S3 answered 403 SignatureDoesNotMatch at s3://b/p at http://127.0.0.1:1; check store.blobs.s3.credentials and the bucket\'s policy' });
    expect(denied.message).not.toContain('AKIA');
    expect(denied.cause).toBeUndefined();
    expect(s3Error(answered('InternalError', 500), 'x', where).code).toBe('STORE_UNAVAILABLE');
    expect(s3Error(answered('SlowDown', 503), 'x', where).code).toBe('STORE_UNAVAILABLE');
    expect(s3Error(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'x', where)).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'x failed: cannot reach S3 at s3://b/p at http://127.0.0.1:1 (ECONNREFUSED); check that the endpoint is up and reachable, then retry',
    });
    expect(s3Error(answered('NoSuchBucket', 404), 'x', where).message).toMatch(/the bucket does not exist/);
    expect(s3Error(answered('NotFound', 404), 'x', where, 'it is gone').message).toBe(`x failed: it is gone (${where})`);
    expect(isS3NotFound(answered('NotFound', 404))).toBe(true);
    expect(isS3NotFound(answered('NoSuchKey', 404))).toBe(true);
    expect(isS3NotFound(answered('AccessDenied', 403))).toBe(false);
  });
});

describe('exactLength', () => {
  it('passes exactly the expected bytes on', async () => {
    expect((await drain(exactLength(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5, 'r'))).toString()).toBe('abcde');
    expect((await drain(exactLength(Readable.from([]), 0, 'r'))).length).toBe(0);
  });

  it('fails a body that ends short, instead of ending cleanly', async () => {
    await expect(drain(exactLength(Readable.from([Buffer.from('abc')]), 5, 'reading x'))).rejects.toMatchObject({ code: 'SIZE_MISMATCH', message: expect.stringMatching(/reading x: S3 sent 3 of 5 bytes/) });
  });

  it('fails, and stops reading, a body that sends more', async () => {
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')]);
    await expect(drain(exactLength(body, 4, 'r'))).rejects.toThrow(/more than the 4 bytes asked for/);
    expect(body.destroyed).toBe(true);
  });

  it('fails when the connection breaks off, with or without an error', async () => {
    const broken = new PassThrough();
    const out = exactLength(broken, 10, 'r');
    broken.write(Buffer.from('abc'));
    broken.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(drain(out)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/broke off after \d of 10 bytes/) });

    const closed = new PassThrough();
    const quiet = exactLength(closed, 10, 'r');
    closed.write(Buffer.from('abc'));
    closed.destroy();
    await expect(drain(quiet)).rejects.toThrow(/broke off/);
  });

  it('releases the body when the reader goes away', async () => {
    const body = new PassThrough();
    const out = exactLength(body, 10, 'r');
    out.destroy();
    await new Promise((resolve) => out.once('close', resolve));
    expect(body.destroyed).toBe(true);
  });
});

describe('uploadWhileDownloading', () => {
  it('follows TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD, else sends parts during downloads only with more than two cores', () => {
    expect(uploadWhileDownloading({ TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD: '1' })).toBe(true);
    expect(uploadWhileDownloading({ TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD: '0' })).toBe(false);
    for (const other of [undefined, '', 'yes', 'true', '2']) {
      expect(uploadWhileDownloading(other === undefined ? {} : { TOLLGATE_S3_UPLOAD_DURING_DOWNLOAD: other })).toBe(availableParallelism() > 2);
    }
  });
});
