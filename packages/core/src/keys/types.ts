import type { KeyObject } from 'node:crypto';

/** The signing algorithms tollgate supports, named by key type and curve. ECDSA keys hash with SHA-256 (P-256) or SHA-384 (P-384); Ed25519 signs the message itself. */
export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519';

/** Sigstore's protobuf `PublicKeyDetails` names for the algorithms above, as trust material records them. */
export type KeyDetails = 'PKIX_ECDSA_P256_SHA_256' | 'PKIX_ECDSA_P384_SHA_384' | 'PKIX_ED25519';

/** A private key that passed validation: a supported algorithm, and a public half that matches it. */
export interface PrivateSigningKey {
  algorithm: KeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A public key that passed validation, with the forms signature formats need. */
export interface PublicVerificationKey {
  algorithm: KeyAlgorithm;
  key: KeyObject;
  /** DER of the SubjectPublicKeyInfo. */
  spkiDer: Uint8Array;
  /** `PUBLIC KEY` PEM of the SPKI, as cosign writes `cosign.pub`. */
  pem: string;
  /** sha256 of the SPKI DER, lowercase hex: the key hint cosign and Sigstore bundles use. */
  keyId: string;
}

/**
 * A signing key held elsewhere (a PKCS#11 token): the public half is known, the private half never leaves the
 * device, and signing is asked of it. Signs `data` as signMessage does for the same algorithm (DER ECDSA).
 */
export interface ExternalSigningKey {
  algorithm: KeyAlgorithm;
  publicKey: KeyObject;
  /** Where the key lives, for messages (never a PIN). */
  description: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Logs out and releases the device. */
  close(): Promise<void>;
}

/** What keyed signing takes: a key in memory or one held by a device. */
export type SigningKey = PrivateSigningKey | ExternalSigningKey;
