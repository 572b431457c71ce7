import { TollgateError, type ErrorCode, type RegistryErrorEntry } from '../errors/tollgate-error.js';

/** What a request was about, so every error names the registry, repository and reference. */
export interface RequestContext {
  registry: string;
  repository?: string;
  /** A tag or digest. */
  reference?: string;
  /** What we were doing, e.g. `fetching manifest`. */
  action: string;
}

/** Removes control characters and bounds the length, so server text stays on one harmless line. */
export function oneLine(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}

/** `registry/repository:tag`, `registry/repository@digest`, or `registry`. */
export function describeTarget(context: RequestContext): string {
  let out = context.registry;
  if (context.repository !== undefined) out += `/${context.repository}`;
  if (context.reference !== undefined) out += context.reference.includes(':') ? `@${context.reference}` : `:${context.reference}`;
  return out;
}

export function registryError(code: ErrorCode, context: RequestContext, detail: string, cause?: unknown, status?: number, registryErrors?: readonly RegistryErrorEntry[]): TollgateError {
  return new TollgateError(code, oneLine(`${context.action} ${describeTarget(context)}: ${detail}`, 600), {
    ...(cause === undefined ? {} : { cause }),
    ...(status === undefined ? {} : { status }),
    ...(registryErrors === undefined ? {} : { registryErrors }),
  });
}

/** Reads `{"errors":[{code,message,detail}]}`; anything else gives an empty list. Details are not echoed. */
export function parseErrorBody(bytes: Uint8Array): RegistryErrorEntry[] {
  if (bytes.length === 0) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return [];
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { errors?: unknown }).errors)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const item of (doc as { errors: unknown[] }).errors.slice(0, 5)) {
    if (typeof item !== 'object' || item === null) continue;
    const entry: RegistryErrorEntry = {};
    const { code, message } = item as { code?: unknown; message?: unknown };
    if (typeof code === 'string') entry.code = oneLine(code, 60);
    if (typeof message === 'string') entry.message = oneLine(message, 200);
    out.push(entry);
  }
  return out;
}

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']);

/**
 * Maps a failed registry response (status + bounded body) to a TollgateError with a one-line message, keeping the
 * status and the registry's (parsed, bounded) error entries so that callers decide from them, not from the text.
 */
export function errorFromResponse(status: number, body: Uint8Array, context: RequestContext): TollgateError {
  const entries = parseErrorBody(body);
  const summary = entries
    .map((e) => [e.code, e.message].filter((x) => x !== undefined && x !== '').join(': '))
    .filter((s) => s !== '')
    .join('; ');
  const said = summary === '' ? `HTTP ${status}` : `HTTP ${status} (${summary})`;
  const codes = entries.map((e) => e.code ?? '');
  if (status === 404 || codes.some((c) => NOT_FOUND_CODES.has(c))) {
    return registryError('NOT_FOUND', context, `not found, ${said}; check the repository name and the tag or digest`, undefined, status, entries);
  }
  if (status === 401) {
    return registryError('UNAUTHORIZED', context, `authentication failed, ${said}; check the credentials (docker login, or pass them explicitly)`, undefined, status, entries);
  }
  if (status === 403) {
    return registryError('DENIED', context, `access denied, ${said}; the credentials in use are not allowed to do this`, undefined, status, entries);
  }
  if (status === 429) {
    return registryError('TOO_MANY_REQUESTS', context, `rate limited by the registry, ${said}; wait and try again, or authenticate for a higher limit`, undefined, status, entries);
  }
  return registryError('REGISTRY_ERROR', context, `unexpected response, ${said}`, undefined, status, entries);
}

function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a transport failure is worth retrying (the connection broke, not "nobody listens"). */
export function isTransientNetworkError(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED' || code === 'ETIMEDOUT';
}

/** A TLS handshake that failed because the server speaks plain HTTP. */
export function isPlainHttpAnswer(error: unknown): boolean {
  const code = errorCodeOf(error) ?? '';
  const message = error instanceof Error ? error.message : '';
  return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long|http request/i.test(message);
}

/**
 * A connection tollgate itself refused to open (a host's checked DNS answer, see EgressGuard). Raised where the
 * request's context is unknown; networkError puts the context in front.
 */
export class ConnectionRefusal extends TollgateError {}

/** Maps a transport failure (refused, reset, DNS, timeout, TLS) to NETWORK_ERROR or INSECURE_REGISTRY. */
export function networkError(error: unknown, context: RequestContext, host: string, https: boolean): TollgateError {
  let inner: unknown = error;
  for (let depth = 0; depth < 5 && typeof inner === 'object' && inner !== null; depth++) {
    if (inner instanceof ConnectionRefusal) return registryError(inner.code, context, inner.message);
    inner = (inner as { cause?: unknown }).cause;
  }
  if (error instanceof TollgateError) return error;
  if (https && isPlainHttpAnswer(error)) {
    return registryError(
      'INSECURE_REGISTRY',
      context,
      `${host} answered HTTPS with plain HTTP; if you trust this registry over an unencrypted connection, use --allow-insecure-registry`,
      error,
    );
  }
  const code = errorCodeOf(error);
  const reason = code !== undefined && /^[A-Z0-9_]{1,40}$/.test(code) ? code : error instanceof Error ? oneLine(error.message, 120) : 'unknown error';
  const tls = code !== undefined && (code.includes('CERT') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'));
  const hint = tls ? 'check the registry certificate and that the system trusts its issuer' : 'check that the registry is running and reachable';
  return registryError('NETWORK_ERROR', context, `could not reach ${host} (${reason}); ${hint}`, error);
}
