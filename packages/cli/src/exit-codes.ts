import { TollgateError, type ErrorCode } from '@tollgate/core';

/** cosign/diff(1) habits: 0 success, 1 the check failed, 2 usage or operational error. */
export const ExitCode = { Ok: 0, CheckFailed: 1, Error: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Errors that mean "the content is not what it claims": a failed check, not a broken run. */
const CHECK_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'CORRUPT_LAYER', 'UNSAFE_PATH']);

export function exitCodeFor(error: unknown): ExitCode {
  return error instanceof TollgateError && CHECK_FAILURES.has(error.code) ? ExitCode.CheckFailed : ExitCode.Error;
}
