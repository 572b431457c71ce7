import { createHash } from 'node:crypto';
import type { TrustedRoot } from './trusted-root.js';

/**
 * `sha256:<hex>` of a decoded trusted root, for telling two roots apart (a proxy folds it into its policy revision,
 * so a new root re-evaluates cached verdicts). Decoded roots are plain objects built field by field in a fixed
 * order, so the same root always serialises the same way; it is not the digest of the file the root came from.
 */
export function trustedRootDigest(root: TrustedRoot): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(root)).digest('hex')}`;
}
