import { parseDigest } from '../digest/digest.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './constants.js';

/**
 * The in-toto Statement v1 cosign v3 signs for an image: its one subject is the manifest digest (with the `-a`
 * annotations), the predicate type `https://sigstore.dev/cosign/sign/v1` and an empty predicate.
 */
export function imageSignatureStatement(digest: string, annotations?: Record<string, string>): Uint8Array {
  return encode({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: digestMap(digest), ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}) }],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {},
  });
}

/** An attestation statement about an image: subject = its name and manifest digest, as cosign attest writes. */
export function imageAttestationStatement(name: string, digest: string, predicateType: string, predicate: unknown): Uint8Array {
  return encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name, digest: digestMap(digest) }], predicateType, predicate });
}

function digestMap(digest: string): Record<string, string> {
  const parsed = parseDigest(digest, 'image digest');
  return { [parsed.algorithm]: parsed.hex };
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
