import type { Command } from 'commander';
import { DEFAULT_MAX_SIGNATURE_BLOB_BYTES, DEFAULT_MAX_SIGNATURES, TollgateError } from '@tollgate/core';

export interface VerifyLimitFlags {
  maxSignatures: string;
  maxSignatureBytes: string;
}

/** The bounds on what a registry can make verification fetch. */
export function addVerifyLimitOptions(command: Command): Command {
  return command
    .option('--max-signatures <n>', 'most signatures/attestations examined; more is a verification failure', String(DEFAULT_MAX_SIGNATURES))
    .option('--max-signature-bytes <n>', 'largest signature or attestation blob read', String(DEFAULT_MAX_SIGNATURE_BLOB_BYTES));
}

export function limitsFrom(flags: VerifyLimitFlags): { maxSignatures: number; maxBlobBytes: number } {
  const maxSignatures = Number(flags.maxSignatures);
  const maxBlobBytes = Number(flags.maxSignatureBytes);
  if (!Number.isInteger(maxSignatures) || maxSignatures < 1) throw new TollgateError('USAGE', '--max-signatures must be a whole number of at least 1');
  if (!Number.isInteger(maxBlobBytes) || maxBlobBytes < 1) throw new TollgateError('USAGE', '--max-signature-bytes must be a whole number of at least 1');
  return { maxSignatures, maxBlobBytes };
}
