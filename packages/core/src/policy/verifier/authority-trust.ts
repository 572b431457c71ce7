import type { ImageTrust, ImageVerifyOptions } from '../../signing/verify/trust.js';
import type { VerifiedSigner } from '../../sigstore/verify-blob.js';
import type { TrustedRoot } from '../../trust/trusted-root.js';
import type { Authority } from '../schema/types.js';

/** How one cosign authority (key or keyless) is verified: the trust material and options, or why it cannot be. */
export type CosignTrust = { trust: ImageTrust; options: ImageVerifyOptions } | { unavailable: string };

/**
 * A key authority trusts its public key (with the transparency log required unless `transparencyLog: ignore`); a
 * keyless one trusts certificates from the trusted root's Fulcio whose SAN and OIDC issuer match its identity
 * (whole-string), with log entries and timestamps as the trusted root vouches for them.
 */
export function cosignTrust(authority: Authority, trustedRoot: () => TrustedRoot, base: ImageVerifyOptions): CosignTrust {
  const ignoreTlog = authority.transparencyLog === 'ignore';
  const options: ImageVerifyOptions = { ...base, ...(ignoreTlog ? { insecureIgnoreTlog: true } : {}) };
  if (authority.kind === 'key') {
    if (authority.key === undefined) return { unavailable: 'the key authority has no public key' };
    if (ignoreTlog && authority.timestamp === 'required') {
      return { unavailable: 'timestamp: required cannot be checked with transparencyLog: ignore for a key (no log time); require the log or make the timestamp optional' };
    }
    return { trust: { trustedRoot: trustedRoot(), key: authority.key.key }, options };
  }
  if (authority.kind === 'keyless') {
    if (authority.keyless === undefined) return { unavailable: 'the keyless authority has no identity' };
    return { trust: { trustedRoot: trustedRoot(), identity: authority.keyless }, options };
  }
  return { unavailable: `a ${authority.kind} authority is not a cosign authority` };
}

/** The signer a verified cosign signature is credited to: the key id, or `issuer subject` of the certificate. */
export function signerId(signer: VerifiedSigner | undefined): string | undefined {
  if (signer === undefined) return undefined;
  if ('keyId' in signer) return signer.keyId;
  if (signer.identity === undefined) return undefined;
  return `${signer.issuer ?? '(no issuer)'} ${signer.identity}`;
}
