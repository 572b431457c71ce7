import { TollgateError, type ErrorCode } from '@tollgate/core';
import { ExitCode } from './exit-code.js';

export { ExitCode };

/** Errors that mean "the content is not what it claims": a failed check, not a broken run. */
const CHECK_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'CORRUPT_LAYER', 'UNSAFE_PATH']);

export function exitCodeFor(error: unknown): ExitCode {
  return error instanceof TollgateError && CHECK_FAILURES.has(error.code) ? ExitCode.CheckFailed : ExitCode.Error;
}
