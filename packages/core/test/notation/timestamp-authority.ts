/** A test RFC 3161 timestamp authority: TimeStampTokens (CMS SignedData over a TSTInfo) made with @peculiar/asn1-*. */
import { createHash, sign, type X509Certificate } from 'node:crypto';
import * as cms from '@peculiar/asn1-cms';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as tsp from '@peculiar/asn1-tsp';
import * as x509 from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import type { TestKey } from './pki.js';

const SHA256 = '2.16.840.1.101.3.4.2.1';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ATTR_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.from(bytes).buffer;
}

export interface TimestampOptions {
  /** The bytes the token countersigns (a JWS signature): the message imprint is their SHA-256. */
  signature: Uint8Array;
  genTime: Date;
  /** The TSA certificate (timeStamping EKU) and its RSA key. */
  tsa: { cert: X509Certificate; key: TestKey };
  /** Further certificates to carry (intermediates), after the TSA certificate. */
  intermediates?: X509Certificate[];
  /** Accuracy in seconds (default 1). */
  accuracySeconds?: number;
}

/**
 * A DER TimeStampToken as a TSA answers it: TSTInfo (v1, SHA-256 imprint, accuracy) signed with RSA PKCS#1 v1.5 over
 * signed attributes (content type, message digest, ESS signing-certificate-v2 naming the TSA certificate).
 */
export function timestampToken(options: TimestampOptions): Buffer {
  const tstInfo = new tsp.TSTInfo({
    version: tsp.TSTInfoVersion.v1,
    policy: '1.3.6.1.4.1.55555.1.1',
    messageImprint: new tsp.MessageImprint({ hashAlgorithm: new x509.AlgorithmIdentifier({ algorithm: SHA256 }), hashedMessage: new OctetString(sha256(options.signature)) }),
    serialNumber: arrayBuffer(sha256(Buffer.from(options.genTime.toISOString())).subarray(0, 8).map((b, i) => (i === 0 ? b & 0x7f : b))),
    genTime: options.genTime,
    accuracy: new tsp.Accuracy({ seconds: options.accuracySeconds ?? 1 }),
  });
  const tstInfoDer = Buffer.from(AsnConvert.serialize(tstInfo));
  const essCertIdV2 = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: sha256(options.tsa.cert.raw) })] });
  const signingCertificateV2 = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
  const attribute = (attrType: string, value: asn1js.BaseBlock) => new cms.Attribute({ attrType, attrValues: [value.toBER()] });
  // DER sorts the members of a SET OF by their encoding.
  const attributes = [
    attribute(ATTR_CONTENT_TYPE, new asn1js.ObjectIdentifier({ value: ID_CT_TSTINFO })),
    attribute(ATTR_MESSAGE_DIGEST, new asn1js.OctetString({ valueHex: sha256(tstInfoDer) })),
    attribute(ATTR_SIGNING_CERTIFICATE_V2, signingCertificateV2),
  ].sort((a, b) => Buffer.compare(Buffer.from(AsnConvert.serialize(a)), Buffer.from(AsnConvert.serialize(b))));
  const signedSet = Buffer.concat(attributes.map((a) => Buffer.from(AsnConvert.serialize(a))));
  // What the signature covers: the signed attributes with the SET OF tag (0x31), not their [0] IMPLICIT tag.
  const signedAttributesDer = Buffer.concat([Buffer.from([0x31]), derLength(signedSet.length), signedSet]);
  const tsaTbs = AsnConvert.parse(options.tsa.cert.raw, x509.Certificate).tbsCertificate;
  const signerInfo = new cms.SignerInfo({
    version: cms.CMSVersion.v1,
    sid: new cms.SignerIdentifier({ issuerAndSerialNumber: new cms.IssuerAndSerialNumber({ issuer: tsaTbs.issuer, serialNumber: tsaTbs.serialNumber }) }),
    digestAlgorithm: new x509.AlgorithmIdentifier({ algorithm: SHA256 }),
    signedAttrs: attributes,
    signatureAlgorithm: new x509.AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null }),
    signature: new OctetString(sign('sha256', signedAttributesDer, options.tsa.key.privateKey)),
  });
  const signedData = new cms.SignedData({
    version: cms.CMSVersion.v3,
    digestAlgorithms: new cms.DigestAlgorithmIdentifiers([new x509.AlgorithmIdentifier({ algorithm: SHA256 })]),
    encapContentInfo: new cms.EncapsulatedContentInfo({ eContentType: ID_CT_TSTINFO, eContent: new cms.EncapsulatedContent({ single: new OctetString(tstInfoDer) }) }),
    certificates: new cms.CertificateSet(
      [options.tsa.cert, ...(options.intermediates ?? [])].map((cert) => new cms.CertificateChoices({ certificate: AsnConvert.parse(cert.raw, x509.Certificate) })),
    ),
    signerInfos: new cms.SignerInfos([signerInfo]),
  });
  return Buffer.from(AsnConvert.serialize(new cms.ContentInfo({ contentType: ID_SIGNED_DATA, content: AsnConvert.serialize(signedData) })));
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
