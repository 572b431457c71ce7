import { publicKeyId } from '../../notation/x509/key-id.js';
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

const keyIds = new WeakMap<Authority, string>();

/**
 * The signer a signature verified under `authority` is credited to, the same however the authority matched it:
 * for a key authority, the id of its key (publicKeyId: sha256 of the SPKI with EC points uncompressed, so the same
 * key written as a file, a PEM or a JWK is one signer) — the key that verified is that
 * key; for a keyless one, `issuer subject` — the OIDC identity, not the certificate: Fulcio issues a new
 * certificate (and key) for every signing, so two certificates of one identity are one signer.
 */
export function creditedSigner(signer: VerifiedSigner | undefined, authority: Authority): string | undefined {
  if (signer === undefined) return undefined;
  if ('keyId' in signer) {
    if (authority.kind !== 'key' || authority.key === undefined) return undefined;
    let id = keyIds.get(authority);
    if (id === undefined) {
      id = publicKeyId(authority.key.key);
      keyIds.set(authority, id);
    }
    return id;
  }
  return authority.kind === 'keyless' ? signerId(signer) : undefined;
}
