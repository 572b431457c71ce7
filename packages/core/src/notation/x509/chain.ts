import type { X509Certificate } from 'node:crypto';
import {
  certificateInfo,
  EKU_ANY,
  EKU_CLIENT_AUTH,
  EKU_CODE_SIGNING,
  EKU_EMAIL_PROTECTION,
  EKU_SERVER_AUTH,
  EKU_TIME_STAMPING,
  formatSubject,
} from './cert-info.js';
import { KeyUsageFlags } from '../asn1/asn1-runtime.js';

export type ChainPurpose = 'codeSigning' | 'timeStamping';

const FORBIDDEN_LEAF_KEY_USAGE =
  KeyUsageFlags.keyEncipherment |
  KeyUsageFlags.dataEncipherment |
  KeyUsageFlags.keyAgreement |
  KeyUsageFlags.keyCertSign |
  KeyUsageFlags.cRLSign |
  KeyUsageFlags.encipherOnly |
  KeyUsageFlags.decipherOnly;

const EKU_NAMES: Record<string, string> = {
  [EKU_ANY]: 'anyExtendedKeyUsage',
  [EKU_SERVER_AUTH]: 'serverAuth',
  [EKU_CLIENT_AUTH]: 'clientAuth',
  [EKU_EMAIL_PROTECTION]: 'emailProtection',
  [EKU_CODE_SIGNING]: 'codeSigning',
  [EKU_TIME_STAMPING]: 'timeStamping',
};

function name(cert: X509Certificate): string {
  return `"${formatSubject(certificateInfo(cert))}"`;
}

/** `child` names `parent` as its issuer and `parent`'s key verifies `child`'s signature. */
export function isIssuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  if (!certificateInfo(child).issuerDer.equals(certificateInfo(parent).subjectDer)) return false;
  try {
    return child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return isIssuedBy(cert, cert);
}

function keyLengthProblem(cert: X509Certificate): string | undefined {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    if ((details.modulusLength ?? 0) < 2048) return `certificate ${name(cert)} has an RSA key of ${details.modulusLength ?? 0} bits; at least 2048 are required`;
  } else if (key.asymmetricKeyType === 'ec') {
    if (!['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '')) {
      return `certificate ${name(cert)} has an EC key on ${details.namedCurve ?? 'an unknown curve'}; P-256, P-384 or P-521 is required`;
    }
  } else {
    return `certificate ${name(cert)} has a ${key.asymmetricKeyType ?? 'unknown'} key; the Notary Project allows RSA and ECDSA only`;
  }
  return undefined;
}

function leafProblems(cert: X509Certificate, purpose: ChainPurpose): string | undefined {
  const info = certificateInfo(cert);
  const who = purpose === 'codeSigning' ? 'signing' : 'timestamping';
  if (info.basicConstraints?.ca === true) return `the ${who} certificate ${name(cert)} is a CA certificate (basicConstraints cA=true); a leaf must not be`;
  if (info.keyUsage === undefined) return `the ${who} certificate ${name(cert)} has no keyUsage extension; digitalSignature is required`;
  if (!info.keyUsage.critical) return `the ${who} certificate ${name(cert)} has a keyUsage extension that is not critical; the specification requires critical`;
  if ((info.keyUsage.flags & KeyUsageFlags.digitalSignature) === 0) return `the ${who} certificate ${name(cert)} lacks the digitalSignature key usage`;
  if ((info.keyUsage.flags & FORBIDDEN_LEAF_KEY_USAGE) !== 0) {
    return `the ${who} certificate ${name(cert)} has key usages a ${who} certificate must not have (keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly or decipherOnly)`;
  }
  const eku = info.extendedKeyUsage;
  if (purpose === 'codeSigning' && eku !== undefined) {
    const bad = eku.filter((oid) => [EKU_ANY, EKU_SERVER_AUTH, EKU_CLIENT_AUTH, EKU_EMAIL_PROTECTION, EKU_TIME_STAMPING].includes(oid));
    if (bad.length > 0) return `the signing certificate ${name(cert)} has extended key usage ${bad.map((o) => EKU_NAMES[o]).join(', ')}, which a code-signing certificate must not have`;
  }
  if (purpose === 'timeStamping') {
    if (eku === undefined || !eku.includes(EKU_TIME_STAMPING)) return `the timestamping certificate ${name(cert)} does not have the timeStamping extended key usage`;
    const bad = eku.filter((oid) => [EKU_ANY, EKU_SERVER_AUTH, EKU_CLIENT_AUTH, EKU_EMAIL_PROTECTION, EKU_CODE_SIGNING].includes(oid));
    if (bad.length > 0) return `the timestamping certificate ${name(cert)} has extended key usage ${bad.map((o) => EKU_NAMES[o]).join(', ')}, which a timestamping certificate must not have`;
  }
  return keyLengthProblem(cert);
}

function caProblems(cert: X509Certificate, casBelow: number): string | undefined {
  const info = certificateInfo(cert);
  const bc = info.basicConstraints;
  if (bc === undefined || !bc.critical || !bc.ca) return `the CA certificate ${name(cert)} lacks a critical basicConstraints extension with cA=true`;
  if (bc.pathLen !== undefined && casBelow > bc.pathLen) return `the CA certificate ${name(cert)} allows ${bc.pathLen} CA certificate(s) below it, but the chain has ${casBelow}`;
  if (info.keyUsage === undefined || !info.keyUsage.critical || (info.keyUsage.flags & KeyUsageFlags.keyCertSign) === 0) {
    return `the CA certificate ${name(cert)} lacks a critical keyUsage extension with keyCertSign`;
  }
  return keyLengthProblem(cert);
}

/**
 * Checks an ordered chain (leaf first, root last) against the Notary Project certificate requirements
 * (signature-specification.md): each certificate issued and signed by the next, no certificate twice (a chain
 * cannot loop), a self-signed root at the end, CA constraints (critical basicConstraints cA, pathLenConstraint,
 * critical keyUsage keyCertSign) on every certificate above the leaf, leaf key usage and extended key usage for
 * the purpose, key sizes, and no SHA-1/MD5 signatures. Validity periods are checked separately, at the time that
 * applies. Returns the first problem, or undefined.
 */
export function chainProblem(chain: readonly X509Certificate[], purpose: ChainPurpose): string | undefined {
  if (chain.length === 0) return 'the certificate chain is empty';
  const seen = new Set<string>();
  for (const cert of chain) {
    const fp = certificateInfo(cert).fingerprint256;
    if (seen.has(fp)) return `the certificate chain contains ${name(cert)} twice; a chain must not repeat or loop`;
    seen.add(fp);
    const weak = certificateInfo(cert).weakSignatureAlgorithm;
    if (weak !== undefined) return `certificate ${name(cert)} is signed with ${weak}, which the specification forbids`;
    if (certificateInfo(cert).multiValuedRdn) return `certificate ${name(cert)} has a multi-valued RDN in its subject, which tollgate does not accept`;
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!isIssuedBy(chain[i]!, chain[i + 1]!)) return `certificate ${name(chain[i]!)} is not issued and signed by the next certificate in the chain, ${name(chain[i + 1]!)}`;
  }
  const root = chain[chain.length - 1]!;
  if (!isSelfSigned(root)) return `the certificate chain does not end in a self-signed root (last: ${name(root)}); a complete chain is required`;
  const leaf = leafProblems(chain[0]!, purpose);
  if (leaf !== undefined) return leaf;
  for (let i = 1; i < chain.length; i++) {
    const problem = caProblems(chain[i]!, i - 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The first certificate of the chain not valid over [from, to], as a message; undefined when all are. */
export function validityProblem(chain: readonly X509Certificate[], from: Date, to: Date, when: string): string | undefined {
  for (const cert of chain) {
    const { notBefore, notAfter } = certificateInfo(cert);
    if (from < notBefore) return `certificate ${name(cert)} is not yet valid ${when} (valid from ${notBefore.toISOString()})`;
    if (to > notAfter) return `certificate ${name(cert)} had expired ${when} (valid until ${notAfter.toISOString()})`;
  }
  return undefined;
}
