import { constants, createHash, verify, type X509Certificate } from 'node:crypto';
import type * as Asn1js from 'asn1js';
import { asn1, loadAsn1 } from '../asn1/asn1-runtime.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import { certificateInfo, formatSubject } from '../x509/cert-info.js';
import { chainProblem, isIssuedBy, validityProblem } from '../x509/chain.js';
import { parseTimestampToken, ID_CT_TSTINFO, type TimestampToken } from './parse-token.js';

const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const SIGNATURE_ALGORITHMS: Record<string, { hash?: string; kind: 'rsa' | 'ecdsa' }> = {
  '1.2.840.113549.1.1.1': { kind: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', kind: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', kind: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', kind: 'rsa' },
  '1.2.840.10045.2.1': { kind: 'ecdsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', kind: 'ecdsa' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', kind: 'ecdsa' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', kind: 'ecdsa' },
};
const ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ATTR_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
const ATTR_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
/** ETSI baseline time-stamp policy (RFC 3628): its accuracy is one second when none is stated. */
const BASELINE_POLICY = '0.4.0.2023.1.1';
const MAX_CHAIN_DEPTH = 8;

export interface VerifiedTimestamp {
  genTime: Date;
  /** genTime minus and plus the accuracy (RFC 3161 §2.4.2): the signature existed no later than `upper`. */
  lower: Date;
  upper: Date;
  /** The TSA chain, TSA certificate first. */
  chain: X509Certificate[];
  tsa: string;
}

function invalid(message: string): TollgateError {
  return new TollgateError('SIGNATURE_INVALID', `the timestamp countersignature ${message}`);
}

function attributeValue(token: TimestampToken, type: string): ArrayBuffer | undefined {
  const attrs = (token.signerInfo.signedAttrs ?? []).filter((a) => a.attrType === type);
  if (attrs.length > 1 || (attrs[0] !== undefined && attrs[0].attrValues.length !== 1)) throw invalid(`has signed attribute ${type} more than once`);
  return attrs[0]?.attrValues[0];
}

function der(value: ArrayBuffer, what: string): Asn1js.AsnType {
  const { asn1js } = asn1();
  const parsed = asn1js.fromBER(value);
  if (parsed.offset === -1 || parsed.offset !== value.byteLength) throw invalid(`has a malformed ${what} attribute`);
  return parsed.result;
}

function findSigner(token: TimestampToken): X509Certificate {
  const { schema: { AsnConvert }, x509 } = asn1();
  const sid = token.signerInfo.sid;
  const match = token.certificates.filter((cert) => {
    const parsed = AsnConvert.parse(cert.raw, x509.Certificate).tbsCertificate;
    if (sid.issuerAndSerialNumber !== undefined) {
      return (
        Buffer.from(AsnConvert.serialize(sid.issuerAndSerialNumber.issuer)).equals(Buffer.from(AsnConvert.serialize(parsed.issuer))) &&
        Buffer.from(sid.issuerAndSerialNumber.serialNumber).equals(Buffer.from(parsed.serialNumber))
      );
    }
    if (sid.subjectKeyIdentifier !== undefined) {
      const ext = parsed.extensions?.find((e) => e.extnID === x509.id_ce_subjectKeyIdentifier);
      if (ext === undefined) return false;
      const ski = AsnConvert.parse(ext.extnValue, x509.SubjectKeyIdentifier);
      return Buffer.from(ski.buffer).equals(Buffer.from(sid.subjectKeyIdentifier.buffer));
    }
    return false;
  });
  if (match.length !== 1) throw invalid('does not carry exactly one certificate for its signer; the TSA certificate must be included');
  return match[0]!;
}

/** The ESS signing-certificate(-v2) attribute must name the signer certificate by hash (RFC 2634 / RFC 5035). */
function checkSigningCertificate(token: TimestampToken, signer: X509Certificate): void {
  const { asn1js } = asn1();
  const v2 = attributeValue(token, ATTR_SIGNING_CERTIFICATE_V2);
  const v1 = attributeValue(token, ATTR_SIGNING_CERTIFICATE);
  if (v2 === undefined && v1 === undefined) throw invalid('has neither signing-certificate nor signing-certificate-v2 attribute');
  const value = der((v2 ?? v1)!, 'signing-certificate');
  const seq = (n: Asn1js.AsnType | undefined): Asn1js.AsnType[] => (n instanceof asn1js.Sequence ? n.valueBlock.value : []);
  const firstId = seq(seq(value)[0])[0];
  const fields = seq(firstId);
  let hash = v2 !== undefined ? 'sha256' : 'sha1';
  let hashField = fields[0];
  if (v2 !== undefined && fields[0] instanceof asn1js.Sequence) {
    const oid = fields[0].valueBlock.value[0];
    const name = oid instanceof asn1js.ObjectIdentifier ? HASHES[oid.valueBlock.toString()] : undefined;
    if (name === undefined) throw invalid('names its certificate with an unsupported hash algorithm');
    hash = name;
    hashField = fields[1];
  }
  if (!(hashField instanceof asn1js.OctetString)) throw invalid('has a malformed signing-certificate attribute');
  const expected = createHash(hash).update(signer.raw).digest();
  if (!Buffer.from(hashField.valueBlock.valueHexView).equals(expected)) throw invalid('has a signing-certificate attribute that does not match the TSA certificate');
}

function checkSignature(token: TimestampToken, signer: X509Certificate): void {
  const { asn1js } = asn1();
  const si = token.signerInfo;
  const digestHash = HASHES[si.digestAlgorithm.algorithm];
  if (digestHash === undefined) throw invalid(`uses digest algorithm ${si.digestAlgorithm.algorithm}; SHA-256, SHA-384 or SHA-512 is required`);
  const contentType = attributeValue(token, ATTR_CONTENT_TYPE);
  const ct = contentType === undefined ? undefined : der(contentType, 'content-type');
  if (!(ct instanceof asn1js.ObjectIdentifier) || ct.valueBlock.toString() !== ID_CT_TSTINFO) throw invalid('has a content-type attribute that is not TSTInfo');
  const digest = attributeValue(token, ATTR_MESSAGE_DIGEST);
  const md = digest === undefined ? undefined : der(digest, 'message-digest');
  if (!(md instanceof asn1js.OctetString)) throw invalid('has no message-digest attribute');
  if (!Buffer.from(md.valueBlock.valueHexView).equals(createHash(digestHash).update(token.tstInfoDer).digest())) {
    throw invalid('has a message-digest attribute that does not match its TSTInfo; the token was altered');
  }
  checkSigningCertificate(token, signer);
  const algorithm = SIGNATURE_ALGORITHMS[si.signatureAlgorithm.algorithm];
  if (algorithm === undefined) throw invalid(`is signed with ${si.signatureAlgorithm.algorithm}, which tollgate does not support (RSA PKCS#1 v1.5 or ECDSA with SHA-2)`);
  const keyType = signer.publicKey.asymmetricKeyType;
  if ((algorithm.kind === 'rsa') !== (keyType === 'rsa') || (algorithm.kind === 'ecdsa') !== (keyType === 'ec')) {
    throw invalid(`signature algorithm does not fit the TSA's ${keyType ?? 'unknown'} key`);
  }
  let ok = false;
  try {
    const key = algorithm.kind === 'rsa' ? { key: signer.publicKey, padding: constants.RSA_PKCS1_PADDING } : signer.publicKey;
    ok = verify(algorithm.hash ?? digestHash, token.signedAttributesDer, key, Buffer.from(si.signature.buffer));
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('signature does not verify with the TSA certificate; the token was altered');
}

/** From the TSA certificate through the token's certificates to a trusted TSA root. */
function buildChain(signer: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): X509Certificate[] {
  const chain = [signer];
  let current = signer;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    if (roots.some((r) => r.raw.equals(current.raw))) return chain;
    const root = roots.find((r) => isIssuedBy(current, r));
    if (root !== undefined) {
      chain.push(root);
      return chain;
    }
    const next = intermediates.find((c) => !chain.some((x) => x.raw.equals(c.raw)) && isIssuedBy(current, c));
    if (next === undefined) break;
    chain.push(next);
    current = next;
  }
  throw invalid(`TSA certificate "${formatSubject(certificateInfo(signer))}" does not chain to a trusted TSA root in the trust store`);
}

/**
 * Verifies an RFC 3161 countersignature over a JWS signature, per the Notary Project trusted-timestamp step:
 * the message imprint is the hash of the raw signature bytes; the CMS signature, message digest, content type and
 * ESS signing-certificate attributes check out; the TSA chain leads to a trusted TSA root, meets the timestamping
 * certificate requirements and was valid at genTime. Returns genTime with its accuracy range; throws otherwise.
 */
export async function verifyTimestampToken(tokenBytes: Buffer, signature: Buffer, tsaRoots: readonly X509Certificate[]): Promise<VerifiedTimestamp> {
  await loadAsn1();
  const token = parseTimestampToken(tokenBytes);
  const info = token.tstInfo;
  if (info.version !== 1) throw invalid(`has TSTInfo version ${info.version}; version 1 is required`);
  const imprintHash = HASHES[info.messageImprint.hashAlgorithm.algorithm];
  if (imprintHash === undefined) throw invalid('uses an unsupported message imprint hash; SHA-256, SHA-384 or SHA-512 is required');
  const imprint = Buffer.from(info.messageImprint.hashedMessage.buffer);
  if (!imprint.equals(createHash(imprintHash).update(signature).digest())) {
    throw invalid('is not over this signature (message imprint mismatch); it was copied from another signature');
  }
  const signer = findSigner(token);
  checkSignature(token, signer);
  if (tsaRoots.length === 0) throw invalid('cannot be trusted: no TSA roots are configured');
  const chain = buildChain(signer, token.certificates, tsaRoots);
  const problem = chainProblem(chain, 'timeStamping');
  if (problem !== undefined) throw invalid(`TSA chain is not acceptable: ${problem}`);
  const genTime = info.genTime;
  const validity = validityProblem(chain, genTime, genTime, `at the timestamp's genTime ${genTime.toISOString()}`);
  if (validity !== undefined) throw invalid(`TSA chain: ${validity}`);
  let accuracyMs = 0;
  if (info.accuracy !== undefined) {
    accuracyMs = (info.accuracy.seconds ?? 0) * 1000 + (info.accuracy.millis ?? 0) + (info.accuracy.micros ?? 0) / 1000;
  } else if (info.policy === BASELINE_POLICY) {
    accuracyMs = 1000;
  }
  return {
    genTime,
    lower: new Date(genTime.getTime() - accuracyMs),
    upper: new Date(genTime.getTime() + accuracyMs),
    chain,
    tsa: formatSubject(certificateInfo(signer)),
  };
}
