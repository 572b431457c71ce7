import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import { TollgateError } from '@tollgate/core';
import type { S3BlobConfig, S3Credentials } from '../../config/types.js';

export interface S3ClientOptions {
  /** Where `accessKeyIdEnv`-style credentials are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Attempts per request, the first included (default 3). Streamed bodies are retried by the caller. */
  maxAttempts?: number;
  /** Time to open a connection (default 3 s). */
  connectTimeoutMs?: number;
  /** Time a connection may stay silent mid-request or mid-body before it fails (default 30 s). */
  idleTimeoutMs?: number;
  /** Receives the SDK's own warnings (default: dropped; the store's errors say what failed). */
  logger?: S3ClientConfig['logger'];
}

const SILENT = { debug() {}, info() {}, warn() {}, error() {}, trace() {} };

/** Env var names are read once, at start: a missing variable stops the proxy instead of failing every request. */
function credentialsFrom(credentials: S3Credentials | undefined, env: NodeJS.ProcessEnv): S3ClientConfig['credentials'] {
  if (credentials === undefined) return undefined;
  if ('file' in credentials) {
    // The file doubles as the config file so that ~/.aws/config cannot add settings (roles, SSO) to the profile.
    return fromIni({ filepath: credentials.file, configFilepath: credentials.file, profile: credentials.profile ?? 'default' });
  }
  const read = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new TollgateError('CREDENTIALS', `store.blobs.s3.credentials: the environment variable ${name} is not set; export it before starting the proxy`);
    }
    return value;
  };
  return {
    accessKeyId: read(credentials.accessKeyIdEnv),
    secretAccessKey: read(credentials.secretAccessKeyEnv),
    ...(credentials.sessionTokenEnv !== undefined ? { sessionToken: read(credentials.sessionTokenEnv) } : {}),
  };
}

/** Where the credentials come from, for an error that says which source to fix (never the values). */
export function credentialsSource(credentials: S3Credentials | undefined): string {
  if (credentials === undefined) return "the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, instance role)";
  if ('file' in credentials) return `profile "${credentials.profile ?? 'default'}" of ${credentials.file}`;
  return `the environment variables ${credentials.accessKeyIdEnv} and ${credentials.secretAccessKeyEnv}`;
}

export function createS3Client(config: S3BlobConfig, options: S3ClientOptions = {}): S3Client {
  const credentials = credentialsFrom(config.credentials, options.env ?? process.env);
  return new S3Client({
    region: config.region,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(credentials !== undefined ? { credentials } : {}),
    // Since SDK 3.729 the defaults send streamed bodies as aws-chunked with CRC trailers and no Content-Length:
    // Ceph RGW answers 411 MissingContentLength and other S3 look-alikes store the chunk framing in the object.
    // Bodies here always carry ContentLength, and the proxy checks digests itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Bounded, so that an S3 outage becomes an error in seconds rather than a request hanging for minutes.
    maxAttempts: options.maxAttempts ?? 3,
    // `Expect: 100-continue` on every part costs a round trip and, measured on RGW, a fresh connection per part.
    expectContinueHeader: false,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 3000,
      socketTimeout: options.idleTimeoutMs ?? 30_000,
      // 20 concurrent downloads each keep 2 parts in flight, besides every client reading through the proxy.
      httpAgent: { keepAlive: true, maxSockets: 256 },
      httpsAgent: { keepAlive: true, maxSockets: 256 },
    },
    logger: options.logger ?? SILENT,
  });
}
