import type { ImageTrust, ImageVerificationResult } from '@tollgate/core';
import { writeErr, writeJson, writeOut } from './write.js';
import { ExitCode } from '../exit-codes.js';

/** Prints a verification result the way cosign does (checks performed, then the verified payloads), or as JSON; returns the exit status. */
export function reportVerification(reference: string, result: ImageVerificationResult, trust: ImageTrust, flags: { json: boolean; insecureIgnoreTlog: boolean }): number {
  if (flags.json) {
    writeJson({ verified: result.ok, ...result, reference });
    return result.ok ? ExitCode.Ok : ExitCode.CheckFailed;
  }
  const what = result.kind === 'signature' ? 'signatures' : `attestations of type ${result.predicateType}`;
  if (!result.ok) {
    writeErr(`Error: no valid ${result.kind === 'signature' ? 'signature' : 'attestation'} for ${reference} (${result.digest})`);
    for (const reason of result.reasons) writeErr(`  ${reason}`);
    for (const examined of result.examined) writeErr(`  - ${examined.id} (${examined.source}): ${examined.ok ? 'ok' : examined.reasons.join('; ')}`);
    return ExitCode.CheckFailed;
  }
  const lines = [
    `Verification for ${reference} (${result.digest}) --`,
    `The following checks were performed on each of these ${what}:`,
    result.kind === 'signature' ? '  - The cosign claims were validated (the signed payload names this manifest digest)' : '  - The in-toto statement names this manifest digest and has the predicate type asked for',
    flags.insecureIgnoreTlog ? '  - Transparency log checks were SKIPPED (--insecure-ignore-tlog)' : '  - Existence of the claims in the transparency log was verified offline',
    trust.key !== undefined ? '  - The signatures were verified against the specified public key' : '  - The code-signing certificate was verified using trusted certificate authority certificates, and its identity and issuer matched',
  ];
  writeErr(lines.join('\n'));
  for (const examined of result.examined.filter((e) => e.ok)) {
    writeOut(JSON.stringify({
      id: examined.id,
      source: examined.source,
      signer: examined.signer,
      predicateType: examined.predicateType,
      ...(examined.payload !== undefined ? { payload: examined.payload } : {}),
      ...(examined.statement && result.kind === 'attestation' ? { statement: examined.statement } : {}),
    }));
  }
  const failed = result.examined.filter((e) => !e.ok);
  if (failed.length > 0) writeErr(`(${failed.length} other ${failed.length === 1 ? 'entry' : 'entries'} did not verify; --json lists why)`);
  return ExitCode.Ok;
}
