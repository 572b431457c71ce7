import type { ImageTrust, ImageVerificationResult, ManifestTarget } from '@tollgate/core';
import { ExitCode } from '../exit-codes.js';
import { targetLabel } from '../options/recursive-option.js';
import { reportVerification } from './verification.js';
import { writeErr, writeJson } from './write.js';

export interface TargetVerification {
  target: ManifestTarget;
  result: ImageVerificationResult;
}

/**
 * `verify --recursive`: every manifest (the index, each platform) verified on its own. Text: each one's report as
 * for a single image, then one line naming every manifest that failed. JSON: one document, `verified` only when all
 * passed. Exit 1 when any failed.
 */
export function reportRecursiveVerification(reference: string, verified: TargetVerification[], trust: ImageTrust, flags: { json: boolean; insecureIgnoreTlog: boolean }): number {
  const failed = verified.filter((v) => !v.result.ok);
  if (flags.json) {
    writeJson({
      verified: failed.length === 0,
      reference,
      digest: verified[0]?.target.digest,
      manifests: verified.map(({ target, result }) => ({ verified: result.ok, ...(target.platform ? { platform: target.platform } : {}), ...result })),
    });
  } else {
    for (const { target, result } of verified) reportVerification(`${reference} ${targetLabel(target)}`, result, trust, { json: false, insecureIgnoreTlog: flags.insecureIgnoreTlog });
    if (failed.length > 0) {
      writeErr(`Error: ${failed.length} of ${verified.length} manifests of ${reference} did not verify: ${failed.map((f) => targetLabel(f.target)).join(', ')}`);
    } else {
      writeErr(`All ${verified.length} manifests of ${reference} verified`);
    }
  }
  return failed.length === 0 ? ExitCode.Ok : ExitCode.CheckFailed;
}
