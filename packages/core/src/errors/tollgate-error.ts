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
  | 'USAGE'
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
  | 'TUF_VERIFICATION_FAILED';

export class TollgateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TollgateError';
    this.code = code;
  }
}

export function isTollgateError(error: unknown, code?: ErrorCode): error is TollgateError {
  return error instanceof TollgateError && (code === undefined || error.code === code);
}
