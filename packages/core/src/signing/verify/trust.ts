import type { TrustedRoot } from '../../trust/trusted-root.js';
import type { IdentityPolicy } from '../../sigstore/identity-policy.js';
import type { VerificationKeyInput } from '../../sigstore/verification-key.js';

/** Who is trusted to have signed: a public key, or a keyless identity (certificate SAN + OIDC issuer) under a trusted root. */
export interface ImageTrust {
  /** Fulcio CAs, Rekor logs, CT logs and TSAs (publicGoodTrustedRoot() or loadTrustedRoot(file)). */
  trustedRoot: TrustedRoot;
  key?: VerificationKeyInput;
  identity?: IdentityPolicy;
}

export interface ImageVerifyOptions {
  /** cosign's --insecure-ignore-tlog: do not require (or use) transparency-log entries. */
  insecureIgnoreTlog?: boolean;
  tlogThreshold?: number;
  /** SCTs required on a Fulcio certificate (default 1). */
  ctlogThreshold?: number;
  /** `-a key=value`: each must be in the signed payload (statement subject annotations, or simple-signing `optional`). */
  annotations?: Record<string, string>;
  /**
   * The repository the image was named by (`registry/repository`): a simple-signing payload's docker-reference must
   * name it. Omit to skip that check (the manifest digest is always checked).
   */
  repository?: string;
  /**
   * Accept a Fulcio certificate that records no OIDC issuer (Fulcio v1 certificates from 2021 have none) without
   * matching the issuer policy. Only for such old legacy signatures; the subject must still match.
   */
  allowCertificateWithoutIssuer?: boolean;
}
