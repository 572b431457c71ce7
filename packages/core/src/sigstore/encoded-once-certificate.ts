import type { ASN1Obj, X509Certificate } from '@sigstore/core';
import { sigstoreCore } from './sigstore-libraries.js';

/**
 * The same certificate, made cheap for @sigstore/verify to use repeatedly. It (3.1.1 and still 4.1.3, over
 * @sigstore/core 3 and 4) re-encodes a certificate's ASN.1 tree to DER each time it compares two certificates
 * (`equals`), reads a public key or checks a signature, and it builds the Fulcio path once per verified timestamp:
 * some forty re-encodings and nine public-key parses per keyless verification with an RFC 3161 timestamp, four
 * fifths of its time (with 4.1.3: 2.5 ms instead of 13.9 ms p50; docs/benchmarks.md). Here:
 *  - every node of the tree encodes itself the first time and hands out a copy of that DER afterwards (a copy,
 *    because callers may write into what toDER returns: @sigstore/core's RFC 3161 code does);
 *  - a signature it is asked to check against an issuer that is also an encoded-once certificate uses that issuer's
 *    KeyObject, parsed once.
 * The checks themselves (signature, name chaining, validity, CA flags, SCTs) still run every time. The tree's
 * child lists are frozen, so code that would edit the certificate in place throws instead of silently diverging
 * from the cached encoding (upstream edits only clones, which are plain certificates).
 * Used for the trusted root's certificates (kept with the root) and for a bundle's signing certificate (made anew
 * for each verification, never kept).
 */
export function encodedOnce(certificate: X509Certificate): X509Certificate {
  const { EncodedOnceCertificate } = encodedOnceClasses();
  return new EncodedOnceCertificate(encodedOnceTree(certificate.root));
}

interface EncodedOnceClasses {
  EncodedOnceNode: new (node: ASN1Obj, subs: ASN1Obj[]) => ASN1Obj;
  EncodedOnceCertificate: new (root: ASN1Obj) => X509Certificate;
}

let classes: EncodedOnceClasses | undefined;

/** Defined on first use, because their base classes come from @sigstore/core, which is loaded lazily. */
function encodedOnceClasses(): EncodedOnceClasses {
  if (classes) return classes;
  const core = sigstoreCore();
  type PublicKey = ReturnType<typeof core.crypto.createPublicKey>;

  class EncodedOnceNode extends core.ASN1Obj {
    #der: Buffer | undefined;
    constructor(node: ASN1Obj, subs: ASN1Obj[]) {
      super(node.tag, node.value, subs);
    }
    override toDER(): Buffer {
      this.#der ??= super.toDER();
      return Buffer.from(this.#der);
    }
  }

  class EncodedOnceCertificate extends core.X509Certificate {
    #key: PublicKey | undefined;
    /** X509Certificate.verify (the issuer's key, or our own when self-signed), with that key parsed once. */
    override verify(issuer?: X509Certificate): boolean {
      const signer = issuer ?? this;
      const key = signer instanceof EncodedOnceCertificate ? signer.#publicKeyObject() : core.crypto.createPublicKey(signer.publicKey);
      return core.crypto.verify(this.tbsCertificate.toDER(), key, this.signatureValue, this.signatureAlgorithm);
    }
    #publicKeyObject(): PublicKey {
      return (this.#key ??= core.crypto.createPublicKey(this.publicKey));
    }
  }

  classes = { EncodedOnceNode, EncodedOnceCertificate };
  return classes;
}

function encodedOnceTree(node: ASN1Obj): ASN1Obj {
  const subs = Object.freeze(node.subs.map(encodedOnceTree)) as ASN1Obj[];
  return new (encodedOnceClasses().EncodedOnceNode)(node, subs);
}
