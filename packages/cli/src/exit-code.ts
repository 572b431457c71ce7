// Apart from exit-codes.ts (which needs core's error class) so that main.ts can use it without loading core.

/** cosign/diff(1) habits: 0 success, 1 the check failed, 2 usage or operational error. */
export const ExitCode = { Ok: 0, CheckFailed: 1, Error: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
