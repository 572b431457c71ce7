import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { KeyFinderFunc, TrustMaterial } from '@sigstore/verify';
import { sigstoreVerify } from './sigstore-libraries.js';

type SharedMaterial = Omit<TrustMaterial, 'publicKey'>;

/** Built once per TrustedRoot object (loaded roots are never mutated); dropped with the root. */
const built = new WeakMap<TrustedRoot, SharedMaterial>();

/**
 * `toTrustMaterial(root, keyFinder)`, with the root's part — parsed CA and TSA certificates, log public keys —
 * built once per TrustedRoot and shared by every verification against it. That part is immutable:
 * @sigstore/verify 3.1.1 only reads it (its path builder splices a copy of the certificate list, not ours).
 * Only the key finder, which depends on the verification, is new each time.
 */
export function trustMaterialFor(root: TrustedRoot, keyFinder: KeyFinderFunc): TrustMaterial {
  let shared = built.get(root);
  if (!shared) {
    const { publicKey: _unused, ...rest } = sigstoreVerify().toTrustMaterial(root);
    shared = rest;
    built.set(root, shared);
  }
  return { ...shared, publicKey: keyFinder };
}
