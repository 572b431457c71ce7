import { isAbsolute, resolve } from 'node:path';
import { normaliseS3Prefix } from '../store/blobs/s3-keys.js';
import { asRecord, byteSize, checkKeys, configError, integerIn, optionalBoolean, optionalString, requiredString } from './fields.js';
import type { BlobLocation, MetadataLocation, S3BlobConfig, S3Credentials } from './types.js';

const AT = 'store.blobs.s3';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROFILE = /^[A-Za-z0-9_.+@-]{1,128}$/;
const REGION = /^[A-Za-z0-9._-]{1,64}$/;
/** S3's bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * `store.blobs`: absent or `filesystem` (under dataDir), or `{s3: {endpoint, bucket, region, prefix, forcePathStyle,
 * credentials, redirect, redirectSeconds, localCache}}`. S3 needs Redis metadata: replicas that share blobs must share what
 * describes them.
 */
export function readBlobs(value: unknown, metadata: MetadataLocation, baseDir: string): BlobLocation {
  if (value === undefined || value === null || value === 'filesystem') return { kind: 'filesystem' };
  if (typeof value === 'string') throw configError('store.blobs', 'must be "filesystem" or {s3: {bucket, …}}');
  const doc = asRecord(value, 'store.blobs');
  checkKeys(doc, ['s3'], 'store.blobs');
  if (doc.s3 === undefined || doc.s3 === null) throw configError('store.blobs', 'must be "filesystem" or {s3: {bucket, …}}');
  const s3 = readS3(doc.s3, baseDir);
  if (metadata.kind !== 'redis') throw configError('store.blobs', 'needs store.metadata: redis://… (replicas share blobs in S3 and everything else in Redis)');
  return { kind: 's3', s3 };
}

function readS3(value: unknown, baseDir: string): S3BlobConfig {
  const doc = asRecord(value, AT);
  checkKeys(doc, ['endpoint', 'bucket', 'region', 'prefix', 'forcePathStyle', 'credentials', 'redirect', 'redirectSeconds', 'localCache'], AT);
  const endpoint = readEndpoint(doc.endpoint);
  const region = optionalString(doc.region, `${AT}.region`, 64) ?? 'us-east-1';
  if (!REGION.test(region)) throw configError(`${AT}.region`, 'must be a region name such as us-east-1 (letters, digits, ".", "_", "-")');
  const config: S3BlobConfig = {
    bucket: readBucket(doc.bucket),
    region,
    prefix: readPrefix(doc.prefix),
    forcePathStyle: optionalBoolean(doc.forcePathStyle, `${AT}.forcePathStyle`) ?? endpoint !== undefined,
    redirect: optionalBoolean(doc.redirect, `${AT}.redirect`) ?? false,
    redirectSeconds: doc.redirectSeconds === undefined || doc.redirectSeconds === null ? 300 : integerIn(doc.redirectSeconds, `${AT}.redirectSeconds`, 1, 3600),
    localCacheBytes: doc.localCache === undefined || doc.localCache === null || doc.localCache === 0 ? 0 : byteSize(doc.localCache, `${AT}.localCache`),
  };
  if (endpoint !== undefined) config.endpoint = endpoint;
  const credentials = readCredentials(doc.credentials, baseDir);
  if (credentials !== undefined) config.credentials = credentials;
  return config;
}

function readBucket(value: unknown): string {
  const bucket = requiredString(value, `${AT}.bucket`, 63);
  if (!BUCKET.test(bucket) || bucket.includes('..') || IPV4.test(bucket)) {
    throw configError(`${AT}.bucket`, 'must be an S3 bucket name: 3-63 lowercase letters, digits, "." and "-", starting and ending with a letter or digit, not an IP address');
  }
  return bucket;
}

/** The endpoint's origin only: credentials, a path, a query or a fragment in it would be silently misused. */
function readEndpoint(value: unknown): string | undefined {
  const text = optionalString(value, `${AT}.endpoint`, 2048);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw configError(`${AT}.endpoint`, 'must be an http(s) URL such as http://127.0.0.1:7480');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError(`${AT}.endpoint`, 'must be an http(s) URL such as http://127.0.0.1:7480');
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.hostname === '') {
    throw configError(`${AT}.endpoint`, 'must be scheme://host[:port] only: no credentials (use credentials:), path, query or fragment');
  }
  return url.origin;
}

function readPrefix(value: unknown): string {
  if (value === '') return '';
  const raw = optionalString(value, `${AT}.prefix`, 512);
  if (raw === undefined) return '';
  const prefix = normaliseS3Prefix(raw);
  if (prefix === undefined) throw configError(`${AT}.prefix`, `must be key segments of letters, digits and -_.!*'() separated by "/", without "." or ".." segments`);
  return prefix;
}

/** Names of environment variables, or a shared credentials file and profile; never the keys themselves. */
function readCredentials(value: unknown, baseDir: string): S3Credentials | undefined {
  if (value === undefined || value === null) return undefined;
  const at = `${AT}.credentials`;
  const doc = asRecord(value, at);
  const usesFile = doc.file !== undefined || doc.profile !== undefined;
  const usesEnv = doc.accessKeyIdEnv !== undefined || doc.secretAccessKeyEnv !== undefined || doc.sessionTokenEnv !== undefined;
  if (usesFile === usesEnv) throw configError(at, 'must be exactly one of {accessKeyIdEnv, secretAccessKeyEnv, sessionTokenEnv?} (names of environment variables) or {file, profile?} (a shared credentials file)');
  if (usesFile) {
    checkKeys(doc, ['file', 'profile'], at);
    const file = requiredString(doc.file, `${at}.file`);
    const profile = optionalString(doc.profile, `${at}.profile`, 128);
    if (profile !== undefined && !PROFILE.test(profile)) throw configError(`${at}.profile`, 'must be a profile name (letters, digits, "_", ".", "+", "@", "-")');
    return { file: isAbsolute(file) ? file : resolve(baseDir, file), ...(profile !== undefined ? { profile } : {}) };
  }
  checkKeys(doc, ['accessKeyIdEnv', 'secretAccessKeyEnv', 'sessionTokenEnv'], at);
  const envName = (key: string, required: boolean): string | undefined => {
    const name = required ? requiredString(doc[key], `${at}.${key}`, 256) : optionalString(doc[key], `${at}.${key}`, 256);
    if (name !== undefined && !ENV_NAME.test(name)) throw configError(`${at}.${key}`, 'must be the name of an environment variable (the key itself never goes in the config)');
    return name;
  };
  const sessionTokenEnv = envName('sessionTokenEnv', false);
  return {
    accessKeyIdEnv: envName('accessKeyIdEnv', true)!,
    secretAccessKeyEnv: envName('secretAccessKeyEnv', true)!,
    ...(sessionTokenEnv !== undefined ? { sessionTokenEnv } : {}),
  };
}
