import type { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../digest/digest.js';
import { pullScope, pushScope, type AccessScope } from './auth/scope.js';
import { headBlob } from './blobs.js';
import { registryError, type RequestContext } from './errors.js';
import { failure, type RawResponse } from './http/raw-request.js';
import { drain, headerValue } from './http/read-bounded.js';
import type { RegistryHttp } from './http/registry-http.js';
import { contentDigestHeader } from './manifests.js';
import { checkDigest, checkRepository } from './names.js';

export interface PushBlobOptions {
  /** Upload in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number;
  /** The caller has just asked (HEAD) and the registry lacks the blob: skip the existence check. */
  knownMissing?: boolean;
}

/** The next upload URL from a Location header: relative or absolute, but on the registry's own host only. */
function uploadLocation(http: RegistryHttp, response: RawResponse, context: RequestContext): URL {
  const location = headerValue(response.headers.location);
  if (location === undefined || location === '') throw registryError('REGISTRY_ERROR', context, `upload answer (HTTP ${response.status}) without a Location header`);
  let url: URL;
  try {
    url = new URL(location, response.url);
  } catch {
    throw registryError('REGISTRY_ERROR', context, 'the upload Location header is not a URL');
  }
  if (!http.isRegistryHost(url) || url.protocol !== response.url.protocol) {
    throw registryError('REGISTRY_ERROR', context, `the registry sent the upload to another host (${url.host.slice(0, 100)}); refusing to send blob data there`);
  }
  return url;
}

async function* rechunk(source: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const chunk of source) {
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    while (data.length > 0) {
      const take = Math.min(size - pendingLength, data.length);
      pending.push(data.subarray(0, take));
      pendingLength += take;
      data = data.subarray(take);
      if (pendingLength === size) {
        yield Buffer.concat(pending, pendingLength);
        pending = [];
        pendingLength = 0;
      }
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending, pendingLength);
}

function* sliceBytes(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let start = 0; start < bytes.byteLength; start += size) yield bytes.subarray(start, Math.min(start + size, bytes.byteLength));
}

async function startUpload(http: RegistryHttp, repository: string, context: RequestContext): Promise<URL> {
  const response = await http.send({ method: 'POST', target: `/v2/${repository}/blobs/uploads/`, scope: pushScope(repository), context });
  if (response.status !== 202) throw await failure(response, context);
  await drain(response.body);
  return uploadLocation(http, response, context);
}

function withDigest(url: URL, digest: string): URL {
  const out = new URL(url);
  out.searchParams.append('digest', digest);
  return out;
}

async function finish(http: RegistryHttp, url: URL, digest: string, body: Uint8Array | Readable | undefined, size: number, repository: string, context: RequestContext): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(body === undefined ? 0 : size) };
  const response = await http.send({ method: 'PUT', target: withDigest(url, digest), headers, body: body ?? new Uint8Array(), scope: pushScope(repository), context });
  if (response.status !== 201 && response.status !== 204) throw await failure(response, context);
  await drain(response.body);
  const stored = contentDigestHeader(response.headers['docker-content-digest'], context);
  if (stored !== undefined && stored !== digest) {
    throw registryError('DIGEST_MISMATCH', context, `the registry stored the blob as ${stored}, not ${digest}`);
  }
}

/**
 * Uploads a blob unless the registry has it: HEAD, then POST to open an upload, then either one PUT with the whole
 * body or PATCH chunks with Content-Range and a closing PUT. Every Location is followed on the registry's host only.
 */
export async function pushBlob(
  http: RegistryHttp,
  repository: string,
  content: Uint8Array | (() => Readable),
  digest: string,
  size: number,
  options: PushBlobOptions = {},
): Promise<void> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'pushing blob' };
  checkRepository(repository, context);
  checkDigest(digest, context);
  if (!Number.isSafeInteger(size) || size < 0) throw registryError('USAGE', context, 'blob size must be a non-negative integer');
  if (content instanceof Uint8Array) {
    if (content.byteLength !== size) throw registryError('SIZE_MISMATCH', context, `the blob has ${content.byteLength} bytes, not the declared ${size}`);
    const actual = digestOf(content, parseDigest(digest).algorithm);
    if (actual !== digest) throw registryError('DIGEST_MISMATCH', context, `the blob bytes digest to ${actual}, not ${digest}`);
  }
  const chunkSize = options.chunkSize;
  if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)) throw registryError('USAGE', context, 'chunk size must be a positive integer');
  if (options.knownMissing !== true) {
    const existing = await headBlob(http, repository, digest);
    if (existing !== undefined && existing.size === size) return;
  }

  let location = await startUpload(http, repository, context);
  if (chunkSize === undefined) {
    await finish(http, location, digest, content instanceof Uint8Array ? content : content(), size, repository, context);
    return;
  }
  let offset = 0;
  const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = content instanceof Uint8Array ? sliceBytes(content, chunkSize) : rechunk(content(), chunkSize);
  for await (const chunk of chunks) {
    if (offset + chunk.byteLength > size) throw registryError('SIZE_MISMATCH', context, `the blob source gave more than the declared ${size} bytes`);
    const response = await http.send({
      method: 'PATCH',
      target: location,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.byteLength),
        'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
      },
      body: chunk,
      scope: pushScope(repository),
      context,
    });
    if (response.status !== 202) throw await failure(response, context);
    await drain(response.body);
    location = uploadLocation(http, response, context);
    offset += chunk.byteLength;
  }
  if (offset !== size) throw registryError('SIZE_MISMATCH', context, `the blob source gave ${offset} bytes, not the declared ${size}`);
  await finish(http, location, digest, undefined, size, repository, context);
}

/**
 * Asks the registry to link a blob from another repository (cross-repository mount). True when mounted (201);
 * false when the registry opened an ordinary upload instead (202), which is cancelled.
 */
export async function mountBlob(http: RegistryHttp, repository: string, fromRepository: string, digest: string): Promise<boolean> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'mounting blob' };
  checkRepository(repository, context);
  checkRepository(fromRepository, context);
  checkDigest(digest, context);
  const query = new URLSearchParams({ mount: digest, from: fromRepository });
  const scopes: AccessScope[] = [pushScope(repository), pullScope(fromRepository)];
  const response = await http.send({ method: 'POST', target: `/v2/${repository}/blobs/uploads/?${query.toString()}`, scope: scopes, context });
  if (response.status === 201) {
    await drain(response.body);
    return true;
  }
  if (response.status !== 202) throw await failure(response, context);
  await drain(response.body);
  try {
    const location = uploadLocation(http, response, context);
    const cancel = await http.send({ method: 'DELETE', target: location, scope: scopes, context });
    await drain(cancel.body);
  } catch {
    // An upload we do not want: if cancelling fails the registry expires it.
  }
  return false;
}
