import { digestOf, parseDigest, verifyBytes } from '../digest/digest.js';
import { TollgateError } from '../errors/tollgate-error.js';
import type { RawManifest } from '../image/types.js';
import { bareMediaType } from '../manifest/media-type.js';
import { MAX_MANIFEST_BYTES } from '../manifest/parse.js';
import { MANIFEST_ACCEPT } from '../media-types.js';
import { pullScope, pushScope } from './auth/scope.js';
import { registryError, type RequestContext } from './errors.js';
import { failure } from './http/raw-request.js';
import { contentLength, drain, headerValue, readBounded, discardBody } from './http/read-bounded.js';
import type { RegistryHttp } from './http/registry-http.js';
import { checkDigest, checkReference, checkRepository } from './names.js';

export interface ManifestHead {
  digest?: string;
  mediaType?: string;
  size?: number;
}

/** Docker-Content-Digest, validated; undefined when absent. A malformed one is refused. */
export function contentDigestHeader(value: string | string[] | undefined, context: RequestContext): string | undefined {
  const text = headerValue(value);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseDigest(text.trim(), 'Docker-Content-Digest header').value;
  } catch (error) {
    throw registryError('INVALID_DIGEST', context, `the registry sent an invalid Docker-Content-Digest header: ${(error as Error).message}`);
  }
}

function withContext(error: unknown, context: RequestContext): unknown {
  if (error instanceof TollgateError) return registryError(error.code, context, error.message);
  return error;
}

export async function headManifest(http: RegistryHttp, repository: string, reference: string): Promise<ManifestHead | undefined> {
  const context: RequestContext = { registry: http.registry, repository, reference, action: 'checking manifest' };
  checkRepository(repository, context);
  checkReference(reference, context);
  const response = await http.send({
    method: 'HEAD',
    target: `/v2/${repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_ACCEPT },
    scope: pullScope(repository),
    context,
  });
  if (response.status === 404) {
    await drain(response.body);
    return undefined;
  }
  if (response.status !== 200) throw await failure(response, context);
  await drain(response.body);
  const out: ManifestHead = {};
  const digest = contentDigestHeader(response.headers['docker-content-digest'], context);
  if (digest !== undefined) out.digest = digest;
  const mediaType = bareMediaType(headerValue(response.headers['content-type']));
  if (mediaType !== undefined) out.mediaType = mediaType;
  const size = contentLength(response.headers['content-length']);
  if (size !== undefined) out.size = size;
  return out;
}

/** `signal` stops the request and its body (a caller that gave up: a proxy shutting down). */
export async function getManifest(http: RegistryHttp, repository: string, reference: string, options: { signal?: AbortSignal } = {}): Promise<RawManifest & { digest: string }> {
  const context: RequestContext = { registry: http.registry, repository, reference, action: 'fetching manifest' };
  checkRepository(repository, context);
  const byDigest = checkReference(reference, context);
  const response = await http.send({
    method: 'GET',
    target: `/v2/${repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_ACCEPT },
    scope: pullScope(repository),
    context,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 200) throw await failure(response, context);
  const tooLarge = () =>
    registryError('MANIFEST_TOO_LARGE', context, `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes (4 MiB); it is refused unread`);
  const declared = contentLength(response.headers['content-length']);
  if (declared !== undefined && declared > MAX_MANIFEST_BYTES) {
    discardBody(response.body);
    throw tooLarge();
  }
  const serverDigest = (() => {
    try {
      return contentDigestHeader(response.headers['docker-content-digest'], context);
    } catch (error) {
      discardBody(response.body);
      throw error;
    }
  })();
  const bytes = new Uint8Array(await readBounded(response.body, MAX_MANIFEST_BYTES, tooLarge));
  const mediaType = bareMediaType(headerValue(response.headers['content-type']));
  let digest: string;
  try {
    if (byDigest) {
      verifyBytes(bytes, reference, 'manifest');
      digest = reference;
    } else if (serverDigest !== undefined) {
      verifyBytes(bytes, serverDigest, 'manifest (against Docker-Content-Digest)');
      digest = serverDigest;
    } else {
      digest = digestOf(bytes);
    }
  } catch (error) {
    throw withContext(error, context);
  }
  const expectedDigest = byDigest ? reference : serverDigest;
  return { bytes, mediaType, digest, ...(expectedDigest !== undefined ? { expectedDigest } : {}) };
}

export async function putManifest(http: RegistryHttp, repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
  const context: RequestContext = { registry: http.registry, repository, reference, action: 'pushing manifest' };
  checkRepository(repository, context);
  const byDigest = checkReference(reference, context);
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw registryError('MANIFEST_TOO_LARGE', context, `the manifest is ${bytes.byteLength} bytes, more than 4 MiB; registries refuse it`);
  }
  if (typeof mediaType !== 'string' || !/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i.test(mediaType)) {
    throw registryError('USAGE', context, 'the manifest media type is not a valid type/subtype');
  }
  let digest: string;
  try {
    if (byDigest) {
      verifyBytes(bytes, reference, 'manifest');
      digest = reference;
    } else {
      digest = digestOf(bytes);
    }
  } catch (error) {
    throw withContext(error, context);
  }
  const response = await http.send({
    method: 'PUT',
    target: `/v2/${repository}/manifests/${reference}`,
    headers: { 'content-type': mediaType },
    body: bytes,
    scope: pushScope(repository),
    context,
  });
  if (response.status !== 201 && response.status !== 200 && response.status !== 202) throw await failure(response, context);
  await drain(response.body);
  const serverDigest = contentDigestHeader(response.headers['docker-content-digest'], context);
  if (serverDigest !== undefined && serverDigest !== digestOf(bytes, parseDigest(serverDigest).algorithm)) {
    throw registryError('DIGEST_MISMATCH', context, `the registry stored the manifest as ${serverDigest} but its bytes digest to ${digest}; the registry altered it`);
  }
  return digest;
}

export async function deleteManifest(http: RegistryHttp, repository: string, digest: string): Promise<void> {
  const context: RequestContext = { registry: http.registry, repository, reference: digest, action: 'deleting manifest' };
  checkRepository(repository, context);
  checkDigest(digest, context);
  const response = await http.send({
    method: 'DELETE',
    target: `/v2/${repository}/manifests/${digest}`,
    scope: { repository, actions: ['pull', 'push', 'delete'] },
    context,
  });
  if (response.status !== 202 && response.status !== 200 && response.status !== 204) throw await failure(response, context);
  await drain(response.body);
}
