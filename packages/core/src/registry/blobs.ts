import { pipeline, type Readable } from 'node:stream';
import { pullScope } from './auth/scope.js';
import { registryError, type RequestContext } from './errors.js';
import { LimitStream } from './http/limit-stream.js';
import { failure, type RawResponse } from './http/raw-request.js';
import { contentLength, drain, headerValue, discardBody } from './http/read-bounded.js';
import type { RegistryHttp } from './http/registry-http.js';
import { checkDigest, checkRepository } from './names.js';

export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface GetBlobOptions {
  /** Byte range [start, end], end inclusive. */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
  /** The descriptor's size: a longer body is cut with SIZE_MISMATCH, a shorter one ends with it. */
  expectedSize?: number;
}

/**
 * Sends a GET or HEAD for a blob, following up to 5 redirects by hand. The Authorization header goes only to the
 * registry's own host (RegistryHttp decides by URL); a CDN or presigned object-store URL gets none. Every hop is
 * judged on its own by the egress guard (in RegistryHttp.send), and once a hop was HTTPS none may be plain HTTP.
 */
async function sendFollowing(
  http: RegistryHttp,
  method: 'GET' | 'HEAD',
  repository: string,
  digest: string,
  headers: Record<string, string>,
  context: RequestContext,
  signal?: AbortSignal,
): Promise<RawResponse> {
  let target: string | URL = `/v2/${repository}/blobs/${digest}`;
  let secure = false;
  for (let hop = 0; ; hop++) {
    const response = await http.send({ method, target, headers, scope: pullScope(repository), context, ...(signal ? { signal } : {}) });
    if (!REDIRECTS.has(response.status)) return response;
    secure ||= response.url.protocol === 'https:';
    const location = headerValue(response.headers.location);
    await drain(response.body);
    if (hop >= MAX_REDIRECTS) throw registryError('REGISTRY_ERROR', context, `more than ${MAX_REDIRECTS} redirects; the registry or its storage is misconfigured`);
    if (location === undefined || location === '') throw registryError('REGISTRY_ERROR', context, `redirect (HTTP ${response.status}) without a Location header`);
    try {
      target = new URL(location, response.url);
    } catch {
      throw registryError('REGISTRY_ERROR', context, `redirect to something that is not a URL`);
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw registryError('REGISTRY_ERROR', context, `redirect to a ${target.protocol.replace(':', '')} URL; only http(s) is followed`);
    }
    if (secure && target.protocol === 'http:') {
      throw registryError('REGISTRY_ERROR', context, `refusing the redirect from HTTPS to plain HTTP at ${target.host.slice(0, 100)}; the registry or its storage must serve HTTPS`);
    }
  }
}

export async function headBlob(http: RegistryHttp, repository: string, digest: string): Promise<{ size: number } | undefined> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'checking blob' };
  checkRepository(repository, context);
  checkDigest(digest, context);
  const response = await sendFollowing(http, 'HEAD', repository, digest, {}, context);
  await drain(response.body);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw await failure(response, context);
  const size = contentLength(response.headers['content-length']);
  if (size === undefined) throw registryError('REGISTRY_ERROR', context, 'the registry did not say the blob size (no valid Content-Length)');
  return { size };
}

function checkRange(range: { start: number; end?: number } | undefined, context: RequestContext): void {
  if (range === undefined) return;
  const ok =
    Number.isSafeInteger(range.start) && range.start >= 0 && (range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start));
  if (!ok) throw registryError('USAGE', context, 'invalid byte range: start must be a non-negative integer and end, if given, at least start');
}

/** Parses the start of `Content-Range: bytes <start>-<end>/<size>`. */
function contentRangeStart(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^bytes (\d{1,15})-\d{1,15}\/(?:\d{1,15}|\*)$/.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}

export async function getBlob(http: RegistryHttp, repository: string, digest: string, options: GetBlobOptions = {}): Promise<Readable> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'fetching blob' };
  checkRepository(repository, context);
  checkDigest(digest, context);
  const { range, expectedSize } = options;
  checkRange(range, context);
  if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw registryError('USAGE', context, 'expected blob size must be a non-negative integer');
  }
  const headers: Record<string, string> = {};
  if (range !== undefined) headers.range = `bytes=${range.start}-${range.end ?? ''}`;
  const response = await sendFollowing(http, 'GET', repository, digest, headers, context, options.signal);
  if (response.status !== 200 && response.status !== 206) throw await failure(response, context);

  // Bytes to drop (a server that ignored Range sends the whole blob) and bytes to expect.
  let skip = 0;
  if (range !== undefined && response.status === 200) skip = range.start;
  if (range !== undefined && response.status === 206) {
    const start = contentRangeStart(headerValue(response.headers['content-range']));
    if (start !== range.start) {
      discardBody(response.body);
      throw registryError('REGISTRY_ERROR', context, `the registry answered the range request with a different range; refusing the partial content`);
    }
  }
  let length: number | undefined;
  if (range === undefined) length = expectedSize;
  else if (range.end !== undefined) length = expectedSize === undefined ? range.end - range.start + 1 : Math.max(0, Math.min(range.end + 1, expectedSize) - range.start);
  else if (expectedSize !== undefined) length = Math.max(0, expectedSize - range.start);

  const tooLong = () => registryError('SIZE_MISMATCH', context, `the registry sent more than the expected ${length} bytes; the blob does not match its descriptor`);
  const declared = contentLength(response.headers['content-length']);
  const ignoredRange = range !== undefined && response.status === 200;
  if (length !== undefined && declared !== undefined && declared - skip > length && !(ignoredRange && range.end !== undefined)) {
    discardBody(response.body);
    throw tooLong();
  }
  const limiter = new LimitStream(skip, length, {
    tooLong,
    tooShort: (got) => registryError('SIZE_MISMATCH', context, `the registry sent ${got} bytes, fewer than the expected ${length}; the blob is truncated`),
  }, ignoredRange && range.end !== undefined);
  return pipeline(response.body, limiter, () => undefined);
}
