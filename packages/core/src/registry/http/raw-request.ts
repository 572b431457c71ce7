import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

type UndiciRequest = typeof import('undici').request;
let undiciRequest: Promise<UndiciRequest> | undefined;
/** undici is loaded on first use: commands that never touch a registry (oci:, docker-archive:) start faster. */
function loadRequest(): Promise<UndiciRequest> {
  undiciRequest ??= import('undici').then((module) => module.request);
  return undiciRequest;
}

/** Loads the HTTP client now, for a long-running process whose first registry request should not wait for it. */
export async function preloadRegistryHttp(): Promise<void> {
  await loadRequest();
}
import { isLoopbackHost } from '../endpoint.js';
import { errorFromResponse, isTransientNetworkError, networkError, registryError, type RequestContext } from '../errors.js';
import { contentLength, drain, headerValue, readBounded, type BodyStream, discardBody } from './read-bounded.js';
import { backoffDelay, parseRetryAfter, RETRYABLE_STATUSES, sleep } from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Headers = Record<string, string | string[] | undefined>;

/** How every request of one client is sent. */
export interface TransportSettings {
  dispatcher?: Dispatcher;
  timeoutMs: number;
  userAgent: string;
  retries: number;
  allowInsecure: boolean;
  debug: (message: string) => void;
}

export interface RawRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  /** Bytes can be sent again on a retry; a stream cannot, so a request with one is never retried. */
  body?: Uint8Array | Readable;
  signal?: AbortSignal;
  /** Overrides the settings' dispatcher (a checking one for hosts outside the registry, see EgressGuard). */
  dispatcher?: Dispatcher;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: BodyStream & Readable;
  url: URL;
}

/** Error bodies are read only this far. */
export const MAX_ERROR_BODY = 64 * 1024;

function canRetry(req: RawRequest): boolean {
  if (req.body !== undefined && !(req.body instanceof Uint8Array)) return false;
  if (req.method === 'PATCH') return false;
  if (req.method === 'POST' && req.body !== undefined) return false;
  return true;
}

/** Refuses plain HTTP to a host that is not loopback unless insecure registries were allowed. */
export function checkScheme(url: URL, settings: TransportSettings, context: RequestContext): void {
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') {
    throw registryError('REGISTRY_ERROR', context, `refusing a ${url.protocol.replace(':', '')} URL; only https (and http where allowed) are followed`);
  }
  if (isLoopbackHost(url.host) || settings.allowInsecure) return;
  throw registryError(
    'INSECURE_REGISTRY',
    context,
    `refusing plain HTTP to ${url.host}; if you trust this registry over an unencrypted connection, use --allow-insecure-registry`,
  );
}

/**
 * One HTTP exchange with bounded retries: transient connection failures and 429/502/503/504 are retried with
 * backoff (honouring Retry-After up to 30 s) when the request can be sent again. No authentication here.
 */
export async function rawRequest(settings: TransportSettings, req: RawRequest, context: RequestContext): Promise<RawResponse> {
  checkScheme(req.url, settings, context);
  const retryable = canRetry(req);
  const https = req.url.protocol === 'https:';
  const request = await loadRequest();
  for (let attempt = 0; ; attempt++) {
    let response: Dispatcher.ResponseData<unknown>;
    try {
      response = await request(req.url, {
        method: req.method,
        headers: { 'user-agent': settings.userAgent, ...req.headers },
        body: req.body ?? null,
        dispatcher: req.dispatcher ?? settings.dispatcher,
        signal: req.signal,
        headersTimeout: settings.timeoutMs,
        bodyTimeout: settings.timeoutMs,
      } as Parameters<typeof request>[1]);
    } catch (error) {
      if (req.signal?.aborted) throw error;
      if (retryable && attempt < settings.retries && isTransientNetworkError(error)) {
        settings.debug(`retrying ${req.method} ${req.url.host} after a connection failure`);
        await sleep(backoffDelay(attempt), req.signal);
        continue;
      }
      throw networkError(error, context, req.url.host, https);
    }
    if (RETRYABLE_STATUSES.has(response.statusCode) && retryable && attempt < settings.retries) {
      const wait = parseRetryAfter(headerValue(response.headers['retry-after'])) ?? backoffDelay(attempt);
      settings.debug(`registry ${req.url.host} answered ${response.statusCode}; retrying in ${Math.round(wait)} ms`);
      await drain(response.body);
      await sleep(wait, req.signal);
      continue;
    }
    return { status: response.statusCode, headers: response.headers, body: response.body as BodyStream & Readable, url: req.url };
  }
}

/** Reads a failed response's (bounded) body and maps it to a TollgateError. */
export async function failure(response: RawResponse, context: RequestContext): Promise<Error> {
  let body: Uint8Array = new Uint8Array();
  const declared = contentLength(response.headers['content-length']);
  if (declared !== undefined && declared > MAX_ERROR_BODY) {
    discardBody(response.body);
  } else {
    try {
      body = await readBounded(response.body, MAX_ERROR_BODY, () => registryError('REGISTRY_ERROR', context, 'error body too large'));
    } catch {
      body = new Uint8Array();
    }
  }
  return errorFromResponse(response.status, body, context);
}
