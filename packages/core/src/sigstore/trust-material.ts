import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { KeyFinderFunc, TrustMaterial } from '@sigstore/verify';
import { encodedOnce } from './encoded-once-certificate.js';
import { sigstoreVerify } from './sigstore-libraries.js';

type SharedMaterial = Omit<TrustMaterial, 'publicKey'>;
type CertAuthority = TrustMaterial['certificateAuthorities'][number];

/** Built once per TrustedRoot object (loaded roots are never mutated); dropped with the root. */
const built = new WeakMap<TrustedRoot, SharedMaterial>();

/**
 * `toTrustMaterial(root, keyFinder)`, with the root's part — parsed CA and TSA certificates, log public keys —
 * built once per TrustedRoot and shared by every verification against it. That part is immutable:
 * @sigstore/verify (3.1.1 and 4.1.3) only reads it (its path builder works on a copy of the certificate list).
 * The CA and TSA certificates are encodedOnce, so their DER and public keys are also computed once per root.
 * Only the key finder, which depends on the verification, is new each time.
 */
export function trustMaterialFor(root: TrustedRoot, keyFinder: KeyFinderFunc): TrustMaterial {
  let shared = built.get(root);
  if (!shared) {
    const { publicKey: _unused, ...rest } = sigstoreVerify().toTrustMaterial(root);
    shared = {
      ...rest,
      certificateAuthorities: rest.certificateAuthorities.map(withEncodedOnceChain),
      timestampAuthorities: rest.timestampAuthorities.map(withEncodedOnceChain),
    };
    built.set(root, shared);
  }
  return { ...shared, publicKey: keyFinder };
}

function withEncodedOnceChain(authority: CertAuthority): CertAuthority {
  return { ...authority, certChain: authority.certChain.map(encodedOnce) };
}
