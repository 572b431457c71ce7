import { createHash, type X509Certificate } from 'node:crypto';
import type { Certificate } from '@peculiar/asn1-x509';
import { asn1 } from '../asn1/asn1-runtime.js';
import { TollgateError } from '../../errors/tollgate-error.js';

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const WEAK_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
};

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
export const EKU_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
export const EKU_ANY = '2.5.29.37.0';

export interface DnAttribute {
  /** Short name (C, ST, O, …) or the dotted OID when it has none. */
  type: string;
  value: string;
}

/** What tollgate reads from a certificate beyond node:crypto: the extensions the Notary Project honours. */
export interface CertificateInfo {
  fingerprint256: string;
  subjectDer: Buffer;
  issuerDer: Buffer;
  /** Subject attributes in certificate (DER) order; multi-valued RDNs flattened. */
  subject: DnAttribute[];
  /** A multi-valued RDN (`CN=a+O=b`) is present in the subject. */
  multiValuedRdn: boolean;
  keyUsage?: { critical: boolean; flags: number };
  basicConstraints?: { critical: boolean; ca: boolean; pathLen?: number };
  extendedKeyUsage?: string[];
  notBefore: Date;
  notAfter: Date;
  /** The certificate names OCSP responders or CRL distribution points. */
  hasRevocationInfo: boolean;
  /** Set when the certificate is signed with SHA-1 or MD5/MD2. */
  weakSignatureAlgorithm?: string;
}

const cache = new WeakMap<X509Certificate, CertificateInfo>();


/** Formats a subject the way notation (Go's pkix.Name.String) shows it: RFC 4514 order, last RDN first. */
export function formatSubject(info: CertificateInfo): string {
  return [...info.subject]
    .reverse()
    .map((a) => `${a.type}=${a.value.replace(/([,+"\\<>;])/g, '\\$1')}`)
    .join(',');
}

/** Parses a certificate's extensions and subject once (cached per X509Certificate object). */
export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const cached = cache.get(cert);
  if (cached !== undefined) return cached;
  const { schema, x509 } = asn1();
  const { AsnConvert } = schema;
  let parsed: Certificate;
  try {
    parsed = AsnConvert.parse(cert.raw, x509.Certificate);
  } catch (error) {
    throw new TollgateError('INVALID_BUNDLE', `a certificate cannot be decoded (${error instanceof Error ? error.message : String(error)})`);
  }
  const tbs = parsed.tbsCertificate;
  const subject: DnAttribute[] = [];
  let multiValuedRdn = false;
  for (const rdn of tbs.subject) {
    if (rdn.length > 1) multiValuedRdn = true;
    for (const atv of rdn) subject.push({ type: ATTRIBUTE_NAMES[atv.type] ?? atv.type, value: atv.value.toString() });
  }
  const info: CertificateInfo = {
    fingerprint256: createHash('sha256').update(cert.raw).digest('hex'),
    subjectDer: Buffer.from(AsnConvert.serialize(tbs.subject)),
    issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    subject,
    multiValuedRdn,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    hasRevocationInfo: false,
  };
  const weak = WEAK_SIGNATURE_ALGORITHMS[parsed.signatureAlgorithm.algorithm];
  if (weak !== undefined) info.weakSignatureAlgorithm = weak;
  const seen = new Set<string>();
  for (const ext of tbs.extensions ?? []) {
    if (seen.has(ext.extnID)) throw new TollgateError('INVALID_BUNDLE', `a certificate (${formatSubject(info)}) repeats the extension ${ext.extnID}`);
    seen.add(ext.extnID);
    try {
      if (ext.extnID === x509.id_ce_keyUsage) {
        const ku = AsnConvert.parse(ext.extnValue, x509.KeyUsage);
        info.keyUsage = { critical: ext.critical, flags: ku.toNumber() };
      } else if (ext.extnID === x509.id_ce_basicConstraints) {
        const bc = AsnConvert.parse(ext.extnValue, x509.BasicConstraints);
        info.basicConstraints = { critical: ext.critical, ca: bc.cA };
        if (bc.pathLenConstraint !== undefined) info.basicConstraints.pathLen = bc.pathLenConstraint;
      } else if (ext.extnID === x509.id_ce_extKeyUsage) {
        info.extendedKeyUsage = [...AsnConvert.parse(ext.extnValue, x509.ExtendedKeyUsage)];
      } else if (ext.extnID === x509.id_ce_cRLDistributionPoints) {
        info.hasRevocationInfo = true;
      } else if (ext.extnID === x509.id_pe_authorityInfoAccess) {
        const aia = AsnConvert.parse(ext.extnValue, x509.AuthorityInfoAccessSyntax);
        if (aia.some((d) => d.accessMethod === '1.3.6.1.5.5.7.48.1')) info.hasRevocationInfo = true;
      }
    } catch (error) {
      throw new TollgateError('INVALID_BUNDLE', `a certificate (${formatSubject(info)}) has a malformed extension ${ext.extnID} (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  cache.set(cert, info);
  return info;
}
