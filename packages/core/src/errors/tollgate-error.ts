/**
 * Every error tollgate raises on purpose is a TollgateError with a stable `code`, so callers (the CLI, the proxy,
 * library users) can branch on the code and show the message, which says what happened and what to do next.
 */
export type ErrorCode =
  | 'INVALID_REFERENCE'
  | 'INVALID_DIGEST'
  | 'INVALID_PLATFORM'
  | 'INVALID_JSON'
  | 'INVALID_MANIFEST'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MANIFEST_TOO_LARGE'
  | 'SIZE_LIMIT'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOO_MANY_REQUESTS'
  | 'REGISTRY_ERROR'
  | 'NETWORK_ERROR'
  | 'INSECURE_REGISTRY'
  | 'CREDENTIALS'
  | 'NO_MATCHING_PLATFORM'
  | 'CORRUPT_LAYER'
  | 'UNSAFE_PATH'
  | 'INVALID_ARCHIVE'
  | 'INVALID_LAYOUT'
  | 'FOREIGN_LAYER'
  | 'STORE_ERROR'
  | 'STORE_BUSY'
  /** The metadata or blob store cannot be reached right now (down, restarting, not answering); retry later. */
  | 'STORE_UNAVAILABLE'
  | 'USAGE'
  /** The destination already has something else under that name (a tag naming another digest); --force replaces it. */
  | 'ALREADY_EXISTS'
  /** A PKCS#11 token or module refused or failed an operation (wrong PIN, no such token or key, module error). */
  | 'PKCS11_ERROR'
  | 'INVALID_CONFIG'
  | 'INVALID_TRUSTED_ROOT'
  | 'INVALID_BUNDLE'
  | 'SIGNATURE_INVALID'
  | 'INVALID_KEY'
  | 'UNSUPPORTED_KEY'
  | 'WRONG_PASSWORD'
  | 'PASSWORD_REQUIRED'
  | 'INVALID_POLICY'
  | 'INVALID_TRUST_STORE'
  | 'TUF_VERIFICATION_FAILED'
  /** A keyless identity token that is not a JWT, has expired, or is not for Sigstore (its `aud`). */
  | 'INVALID_IDENTITY_TOKEN'
  /** An ambient identity token (GitHub Actions) could not be fetched: HTTP error, timeout, oversized or malformed answer. */
  | 'IDENTITY_TOKEN_UNAVAILABLE';

/**
 * One entry of a registry's `{"errors":[{code,message}]}` answer, as parsed: at most a few entries, the code and the
 * message each one line and bounded (never the `detail`). Still server text: whoever shows it to a third party
 * narrows it further (the proxy keeps only the spec's codes and sanitises the message).
 */
export interface RegistryErrorEntry {
  code?: string;
  message?: string;
}

export class TollgateError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status of the response this error reports, when a server answered (registries). */
  readonly status?: number;
  /** What the registry's error body said, when a registry answered with one (see RegistryErrorEntry). */
  readonly registryErrors?: readonly RegistryErrorEntry[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number; registryErrors?: readonly RegistryErrorEntry[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TollgateError';
    this.code = code;
    if (options?.status !== undefined) this.status = options.status;
    if (options?.registryErrors !== undefined && options.registryErrors.length > 0) this.registryErrors = options.registryErrors;
  }
}

/**
 * Whether an error says the other side could not be read right now — the network failed, it rate-limited us, or it
 * answered with a server error (5xx) — rather than that what it sent was wrong. A check that could not read its
 * evidence for such a reason has not decided anything: callers report it as indeterminate (retry later), never as
 * a verdict on the evidence, and never as a pass.
 *
 * A store that cannot be reached counts too: the proxy's gate reads layers through its store (and its locks), so a
 * store outage in the middle of a check must leave the image undecided, not denied for "unreadable files".
 */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof TollgateError)) return false;
  if (error.code === 'NETWORK_ERROR' || error.code === 'TOO_MANY_REQUESTS' || error.code === 'STORE_UNAVAILABLE') return true;
  // 501 Not Implemented is the server's lasting answer ("not here"), not a passing failure: asking again cannot help.
  return error.code === 'REGISTRY_ERROR' && error.status !== undefined && error.status >= 500 && error.status !== 501;
}

export function isTollgateError(error: unknown, code?: ErrorCode): error is TollgateError {
  return error instanceof TollgateError && (code === undefined || error.code === code);
}
