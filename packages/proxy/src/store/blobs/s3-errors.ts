import { TollgateError, type ErrorCode } from '@tollgate/core';

/**
 * S3 failures as TollgateErrors whose message says what failed, where, and what to do next. Only the error's name,
 * HTTP status and network error code are used: service messages and the SDK's error objects can carry the access
 * key id, the string to sign or request headers, so they are neither quoted nor kept as `cause`.
 */

/** The store cannot be reached right now (network, 5xx, throttling): the caller may answer 503 and try later. */
const UNAVAILABLE: ErrorCode = 'STORE_UNAVAILABLE';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const DENIED_NAMES = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'RequestTimeTooSkewed']);
const BUSY_NAMES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'ThrottlingException']);

interface ErrorFacts {
  name: string;
  status: number | undefined;
  code: string | undefined;
}

function facts(error: unknown): ErrorFacts {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return {
    name: typeof e.name === 'string' ? e.name.slice(0, 60) : 'Error',
    status,
    code: typeof e.code === 'string' ? e.code.slice(0, 40) : undefined,
  };
}

/** Worth another attempt: the network failed, S3 was busy or answered 5xx. */
export function isTransientS3Error(error: unknown): boolean {
  const { name, status, code } = facts(error);
  if (name === 'AbortError') return false;
  return name === 'TimeoutError' || (code !== undefined && NETWORK_CODES.has(code)) || (status !== undefined && status >= 500) || status === 429 || BUSY_NAMES.has(name);
}

/** HeadObject and GetObject on a missing key: 404 (NotFound for HEAD, NoSuchKey for GET). */
export function isS3NotFound(error: unknown): boolean {
  const { name, status } = facts(error);
  return status === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/**
 * `action` says what was being done ("reading sha256:…"), `where` is the store's describe(), `onNotFound` what a 404
 * means for this request when it is not simply "no such object".
 */
export function s3Error(error: unknown, action: string, where: string, onNotFound?: string): TollgateError {
  if (error instanceof TollgateError) return error;
  const { name, status, code } = facts(error);
  if (name === 'AbortError') return new TollgateError('STORE_ERROR', `${action} was cancelled (${where})`);
  if (name === 'CredentialsProviderError') {
    return new TollgateError('CREDENTIALS', `${action} failed: no S3 credentials could be loaded for ${where}; check store.blobs.s3.credentials (or the AWS_* environment and ~/.aws files when it is absent)`);
  }
  const answered = status !== undefined ? `S3 answered ${status} ${name}` : `S3 failed with ${name}`;
  if (isTransientS3Error(error)) {
    if (status === undefined) {
      return new TollgateError(UNAVAILABLE, `${action} failed: cannot reach S3 at ${where} (${code ?? name}); check that the endpoint is up and reachable, then retry`);
    }
    return new TollgateError(UNAVAILABLE, `${action} failed: ${answered} at ${where}; the store is busy or down, retry later`, { status });
  }
  if (status === 401 || status === 403 || DENIED_NAMES.has(name)) {
    return new TollgateError('STORE_ERROR', `${action} failed: ${answered} at ${where}; check store.blobs.s3.credentials and the bucket's policy`, { status: status ?? 403 });
  }
  if (name === 'NoSuchBucket') {
    return new TollgateError('STORE_ERROR', `${action} failed: the bucket does not exist at ${where}; create it or fix store.blobs.s3.bucket`, { status: 404 });
  }
  if (status === 404 && onNotFound !== undefined) return new TollgateError('STORE_ERROR', `${action} failed: ${onNotFound} (${where})`, { status });
  return new TollgateError('STORE_ERROR', `${action} failed: ${answered} at ${where}`, status !== undefined ? { status } : undefined);
}
