import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { normalizeProxyConfig } from '../src/index.js';
import { readBlobs } from '../src/config/store-config.js';

const base = { dataDir: '/var/lib/tollgate', upstreams: [{ name: 'hub', url: 'https://registry-1.docker.io', default: true }] };
const REDIS = 'redis://127.0.0.1:6379/0';
const withS3 = (s3: unknown, metadata: unknown = REDIS) => ({ ...base, store: { metadata, blobs: { s3 } } });
const blobsOf = (raw: unknown) => normalizeProxyConfig(raw, { env: {}, baseDir: '/etc/tollgate' }).store.blobs;
const invalid = (raw: unknown, pattern: RegExp) => expect(() => normalizeProxyConfig(raw, { env: {}, baseDir: '/etc/tollgate' })).toThrow(pattern);
const s3Invalid = (s3: Record<string, unknown>, pattern: RegExp) => invalid(withS3({ bucket: 'tollgate', ...s3 }), pattern);

describe('store.blobs config', () => {
  it('is the filesystem when absent or "filesystem"', () => {
    expect(blobsOf(base)).toEqual({ kind: 'filesystem' });
    expect(blobsOf({ ...base, store: { blobs: 'filesystem' } })).toEqual({ kind: 'filesystem' });
    expect(blobsOf({ ...base, store: { metadata: REDIS, blobs: null } })).toEqual({ kind: 'filesystem' });
  });

  it('reads s3 with its defaults', () => {
    expect(blobsOf(withS3({ bucket: 'tollgate-blobs' }))).toEqual({
      kind: 's3',
      s3: { bucket: 'tollgate-blobs', region: 'us-east-1', prefix: '', forcePathStyle: false, redirect: false, redirectSeconds: 300, localCacheBytes: 0 },
    });
    // An endpoint (RGW, MinIO and the like) means path-style unless told otherwise.
    expect(blobsOf(withS3({ bucket: 'b.c-d', endpoint: 'http://127.0.0.1:7480' }))).toMatchObject({ s3: { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true } });
    expect(blobsOf(withS3({ bucket: 'abc', endpoint: 'https://s3.example.com:8443/', forcePathStyle: false }))).toMatchObject({ s3: { endpoint: 'https://s3.example.com:8443', forcePathStyle: false } });
  });

  it('reads every s3 setting, normalising the prefix and resolving a relative credentials file', () => {
    const blobs = blobsOf(
      withS3({
        endpoint: 'http://rgw.internal:7480',
        bucket: 'blobs',
        region: 'default',
        prefix: '/mirror/prod/',
        forcePathStyle: true,
        credentials: { file: 'secrets/aws', profile: 'tollgate' },
        redirect: true,
        redirectSeconds: 60,
        localCache: '20GiB',
      }),
    );
    expect(blobs).toEqual({
      kind: 's3',
      s3: {
        endpoint: 'http://rgw.internal:7480',
        bucket: 'blobs',
        region: 'default',
        prefix: 'mirror/prod',
        forcePathStyle: true,
        credentials: { file: '/etc/tollgate/secrets/aws', profile: 'tollgate' },
        redirect: true,
        redirectSeconds: 60,
        localCacheBytes: 20 * 1024 ** 3,
      },
    });
    expect(blobsOf(withS3({ bucket: 'abc', localCache: 0 }))).toMatchObject({ s3: { localCacheBytes: 0 } });
    expect(blobsOf(withS3({ bucket: 'abc', localCache: 1048576 }))).toMatchObject({ s3: { localCacheBytes: 1048576 } });
    expect(blobsOf(withS3({ bucket: 'abc', credentials: { file: '/run/aws' } }))).toMatchObject({ s3: { credentials: { file: '/run/aws' } } });
    expect(blobsOf(withS3({ bucket: 'abc', credentials: { accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET', sessionTokenEnv: '_TOKEN1' } }))).toMatchObject({
      s3: { credentials: { accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET', sessionTokenEnv: '_TOKEN1' } },
    });
    expect(blobsOf(withS3({ bucket: 'abc', prefix: '' }))).toMatchObject({ s3: { prefix: '' } });
  });

  it('needs Redis metadata', () => {
    invalid(withS3({ bucket: 'abc' }, 'level'), /store\.blobs needs store\.metadata: redis:\/\/… \(replicas share blobs in S3 and everything else in Redis\)/);
    invalid({ ...base, store: { blobs: { s3: { bucket: 'abc' } } } }, /needs store\.metadata: redis/);
  });

  it('refuses wrong shapes and unknown keys, naming them', () => {
    invalid({ ...base, store: { metadata: REDIS, blobs: 's3' } }, /store\.blobs must be "filesystem" or \{s3/);
    invalid({ ...base, store: { metadata: REDIS, blobs: ['s3'] } }, /store\.blobs must be a mapping/);
    invalid({ ...base, store: { metadata: REDIS, blobs: {} } }, /store\.blobs must be "filesystem" or \{s3/);
    invalid({ ...base, store: { metadata: REDIS, blobs: { gcs: {} } } }, /store\.blobs\.gcs is not a known setting/);
    invalid(withS3('bucket'), /store\.blobs\.s3 must be a mapping/);
    s3Invalid({ buckt: 'x' }, /store\.blobs\.s3\.buckt is not a known setting/);
    s3Invalid({ credentials: { accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B', secretAccessKey: 'inline' } }, /credentials\.secretAccessKey is not a known setting/);
    s3Invalid({ credentials: { file: '/f', prfile: 'x' } }, /credentials\.prfile is not a known setting/);
    invalid(withS3({}), /store\.blobs\.s3\.bucket is required/);
  });

  it('refuses bucket names S3 does not allow', () => {
    for (const bucket of ['ab', 'UPPER', 'under_score', '-start', 'end-', '.dot', 'a..b', '192.168.1.10', 'sp ace', 'a/b', '../etc', 'ünï']) {
      s3Invalid({ bucket }, /bucket must be an S3 bucket name/);
    }
    s3Invalid({ bucket: 7 }, /bucket must be a non-empty string/);
    s3Invalid({ bucket: 'a'.repeat(64) }, /bucket must be a non-empty string of at most 63 characters/);
    expect(blobsOf(withS3({ bucket: 'a'.repeat(63) }))).toMatchObject({ s3: { bucket: 'a'.repeat(63) } });
  });

  it('refuses endpoints that are not a bare http(s) origin', () => {
    for (const endpoint of ['ftp://host', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', '127.0.0.1:7480']) {
      s3Invalid({ endpoint }, /endpoint must be an http\(s\) URL/);
    }
    for (const endpoint of ['http://key:secret@rgw:7480', 'http://key@rgw', 'http://rgw/bucket', 'http://rgw/?x=1', 'http://rgw/#frag']) {
      s3Invalid({ endpoint }, /endpoint must be scheme:\/\/host\[:port\] only/);
    }
  });

  it('refuses unsafe prefixes, bad regions, variable names, profiles and lifetimes', () => {
    for (const prefix of ['a/../b', '..', 'a/./b', 'a//b', 'sp ace', 'a\\b', 'a\nb', 'x'.repeat(513)]) s3Invalid({ prefix }, /prefix must be/);
    for (const region of ['us east', 'a/b', 'x'.repeat(65)]) s3Invalid({ region }, /region must be/);
    for (const name of ['BAD-NAME', '1ABC', 'A B', '$HOME', 'a=b']) {
      s3Invalid({ credentials: { accessKeyIdEnv: name, secretAccessKeyEnv: 'OK' } }, /accessKeyIdEnv must be the name of an environment variable/);
      s3Invalid({ credentials: { accessKeyIdEnv: 'OK', secretAccessKeyEnv: 'OK', sessionTokenEnv: name } }, /sessionTokenEnv must be the name/);
    }
    s3Invalid({ credentials: { accessKeyIdEnv: 'A' } }, /secretAccessKeyEnv is required/);
    s3Invalid({ credentials: { profile: 'p' } }, /credentials\.file is required/);
    s3Invalid({ credentials: { file: '/f', accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B' } }, /must be exactly one of/);
    s3Invalid({ credentials: {} }, /must be exactly one of/);
    s3Invalid({ credentials: 'AKIA:secret' }, /credentials must be a mapping/);
    s3Invalid({ credentials: { file: '/f', profile: 'has space' } }, /profile must be a profile name/);
    s3Invalid({ credentials: { file: '/f', profile: '[default]' } }, /profile must be a profile name/);
    for (const redirectSeconds of [0, 3601, -5, 1.5, 'soon', true]) s3Invalid({ redirectSeconds }, /redirectSeconds must be an integer from 1 to 3600/);
    s3Invalid({ redirect: 'yes' }, /redirect must be true or false/);
    for (const localCache of [-1, 1.5, 'lots', '10 parsecs', true, {}, '-5GiB']) s3Invalid({ localCache }, /localCache must be (a byte size|a positive byte size|an integer from 1)/);
    s3Invalid({ forcePathStyle: 1 }, /forcePathStyle must be true or false/);
  });

  it('never echoes a would-be inline secret in its errors', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const attempts = [
      { credentials: { accessKeyIdEnv: 'A', secretAccessKeyEnv: secret } },
      { endpoint: `http://AKIA:${secret}@rgw:7480` },
      { credentials: { accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B', secret } },
    ];
    for (const s3 of attempts) {
      let message = '';
      try {
        normalizeProxyConfig(withS3({ bucket: 'abc', ...s3 }), { env: {} });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/proxy config: store\.blobs\.s3/);
      expect(message).not.toContain(secret);
    }
  });

  it('random junk anywhere in store.blobs is refused with INVALID_CONFIG and nothing else', () => {
    const junk = fc.oneof(fc.anything(), fc.string({ maxLength: 80 }), fc.constantFrom('', '..', '/', 'http://', 'http://a:b@c', '\u0000', 'filesystem', 's3'));
    // Mostly plausible values with junk mixed in, so that both acceptance and every refusal are reached.
    const field = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ arbitrary: plausible, weight: 5 }, { arbitrary: junk, weight: 1 });
    const s3Doc = fc.record(
      {
        endpoint: field(fc.constantFrom(undefined, 'http://127.0.0.1:7480', 'https://s3.example.com/', 'http://[::1]:9000')),
        bucket: field(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$/)),
        region: field(fc.constantFrom(undefined, 'us-east-1', 'default')),
        prefix: field(fc.constantFrom('', 'a', '/a/b/', 'mirror/prod', 'a/../b', '..', './x')),
        forcePathStyle: field(fc.boolean()),
        credentials: field(fc.constantFrom(undefined, { file: 'aws' }, { file: '/aws', profile: 'p' }, { accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B' })),
        redirect: field(fc.boolean()),
        redirectSeconds: field(fc.integer({ min: -10, max: 4000 })),
        localCache: field(fc.constantFrom(undefined, 0, '1GiB', 1024, '2.5GB')),
      },
      { requiredKeys: [] },
    );
    const blobs = fc.oneof(junk, fc.record({ s3: fc.oneof(junk, s3Doc) }, { requiredKeys: [] }), { arbitrary: fc.record({ s3: s3Doc }), weight: 4 });
    const seen = { s3: 0, refused: 0 };
    fc.assert(
      fc.property(blobs, fc.constantFrom<unknown>(REDIS, REDIS, REDIS, REDIS, 'level', undefined, 42), (value, metadata) => {
        try {
          const store = normalizeProxyConfig({ ...base, store: { metadata, blobs: value } }, { env: {}, baseDir: '/etc/tollgate' }).store;
          // What passes is well formed: a bucket S3 accepts, an origin endpoint, a prefix without dot segments.
          if (store.blobs.kind === 's3') {
            seen.s3++;
            expect(store.metadata.kind).toBe('redis');
            expect(store.blobs.s3.bucket).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
            expect(store.blobs.s3.prefix.split('/')).not.toContain('..');
            if (store.blobs.s3.endpoint !== undefined) expect(new URL(store.blobs.s3.endpoint).origin).toBe(store.blobs.s3.endpoint);
            expect(Number.isSafeInteger(store.blobs.s3.localCacheBytes) && store.blobs.s3.localCacheBytes >= 0).toBe(true);
          }
        } catch (error) {
          seen.refused++;
          expect(error).toBeInstanceOf(TollgateError);
          expect((error as TollgateError).code).toBe('INVALID_CONFIG');
        }
      }),
      { numRuns: 500 },
    );
    // The property means little unless both sides were reached.
    expect(seen.s3).toBeGreaterThanOrEqual(5);
    expect(seen.refused).toBeGreaterThan(10);
  });

  it("docs/scale-out.md's configuration is one the loader accepts, as documented", () => {
    const doc = readFileSync(new URL('../../../docs/scale-out.md', import.meta.url), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const store = normalizeProxyConfig({ ...base, ...(parse(block!) as object) }, { env: {}, baseDir: '/etc/tollgate' }).store;
    expect(store.metadata).toMatchObject({ kind: 'redis' });
    expect(store.blobs).toEqual({
      kind: 's3',
      s3: {
        endpoint: 'http://rgw.storage.svc:7480',
        bucket: 'tollgate-cache',
        region: 'us-east-1',
        prefix: 'prod',
        forcePathStyle: true,
        credentials: { accessKeyIdEnv: 'S3_ACCESS_KEY', secretAccessKeyEnv: 'S3_SECRET_KEY' },
        redirect: false,
        redirectSeconds: 300,
        localCacheBytes: 20 * 1024 ** 3,
      },
    });
  });

  it('readBlobs can be used alone', () => {
    expect(readBlobs(undefined, { kind: 'level' }, '/')).toEqual({ kind: 'filesystem' });
    expect(() => readBlobs({ s3: { bucket: 'abc' } }, { kind: 'level' }, '/')).toThrow(/needs store\.metadata/);
  });
});
