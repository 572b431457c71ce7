import { X509Certificate } from 'node:crypto';
import type { SignedData, SignerInfo } from '@peculiar/asn1-cms';
import type { TSTInfo } from '@peculiar/asn1-tsp';
import type * as Asn1js from 'asn1js';
import { asn1 } from '../asn1/asn1-runtime.js';
import { TollgateError } from '../../errors/tollgate-error.js';

export const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';

/** An RFC 3161 TimeStampToken (a CMS SignedData over a TSTInfo), decoded but not verified. */
export interface TimestampToken {
  tstInfo: TSTInfo;
  /** DER of the TSTInfo (the eContent the signer's messageDigest covers). */
  tstInfoDer: Buffer;
  signerInfo: SignerInfo;
  /** DER of the signed attributes re-tagged as SET OF, exactly as signed (RFC 5652 §5.4). */
  signedAttributesDer: Buffer;
  certificates: X509Certificate[];
}

function invalid(message: string): TollgateError {
  return new TollgateError('SIGNATURE_INVALID', `the timestamp countersignature ${message}`);
}

interface RawParts {
  /** DER of each certificate in the SignedData `certificates` set, as received. */
  certificates: Buffer[];
  /** The signer's [0] signed attributes re-tagged as SET OF. */
  signedAttributes: Buffer;
}

/**
 * The parts whose exact bytes matter, taken from the token itself with asn1js (never re-encoded): a lenient parser
 * followed by re-serialisation would turn a tampered encoding back into the signed one.
 */
function rawParts(token: Buffer): RawParts {
  const parsed = asn1().asn1js.fromBER(new Uint8Array(token));
  if (parsed.offset === -1 || parsed.offset !== token.length) throw invalid('is not a single DER structure');
  const children = (node: Asn1js.AsnType | undefined): Asn1js.AsnType[] => {
    const value = (node as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
    return Array.isArray(value) ? (value as Asn1js.AsnType[]) : [];
  };
  const explicit = children(parsed.result)[1];
  const parts = children(children(explicit)[0]);
  const certificateSet = parts.find((c) => c.idBlock.tagClass === 3 && c.idBlock.tagNumber === 0);
  const certificates = children(certificateSet)
    .filter((c) => c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 16)
    .map((c) => Buffer.from(c.valueBeforeDecodeView));
  const signerInfo = children(parts[parts.length - 1])[0];
  const attrs = children(signerInfo).find((c) => c.idBlock.tagClass === 3 && c.idBlock.tagNumber === 0);
  if (attrs === undefined) throw invalid('has no signed attributes; RFC 3161 requires them');
  const signedAttributes = Buffer.from(attrs.valueBeforeDecodeView);
  signedAttributes[0] = 0x31; // [0] IMPLICIT → SET OF, as the signature covers it
  return { certificates, signedAttributes };
}

/** Decodes a TimeStampToken (DER ContentInfo) with @peculiar/asn1-cms and @peculiar/asn1-tsp. */
export function parseTimestampToken(token: Buffer): TimestampToken {
  const { schema, cms, tsp } = asn1();
  const { AsnConvert } = schema;
  let signedData: SignedData;
  let tstInfoDer: Buffer;
  let tstInfo: TSTInfo;
  try {
    const contentInfo = AsnConvert.parse(token, cms.ContentInfo);
    if (contentInfo.contentType !== ID_SIGNED_DATA) throw invalid(`has content type ${contentInfo.contentType}, not CMS SignedData`);
    signedData = AsnConvert.parse(contentInfo.content, cms.SignedData);
    // DER only: re-encoding must give back the very bytes, so no lenient variant of a token verifies.
    if (!Buffer.from(AsnConvert.serialize(contentInfo)).equals(token) || !Buffer.from(AsnConvert.serialize(signedData)).equals(Buffer.from(contentInfo.content))) {
      throw invalid('is not DER-encoded (re-encoding it changes its bytes); RFC 3161 tokens are DER');
    }
    if (signedData.encapContentInfo.eContentType !== ID_CT_TSTINFO) throw invalid('does not encapsulate a TSTInfo');
    const content = signedData.encapContentInfo.eContent;
    const raw = content?.single?.buffer ?? content?.any;
    if (raw === undefined) throw invalid('has no TSTInfo content');
    tstInfoDer = Buffer.from(raw);
    tstInfo = AsnConvert.parse(tstInfoDer, tsp.TSTInfo);
  } catch (error) {
    if (error instanceof TollgateError) throw error;
    throw invalid(`cannot be decoded as an RFC 3161 token (${error instanceof Error ? error.message : String(error)})`);
  }
  if (signedData.signerInfos.length !== 1) throw invalid(`has ${signedData.signerInfos.length} signers; exactly one is required`);
  const signer = signedData.signerInfos[0]!;
  if (![1, 3].includes(signedData.version) || ![1, 3].includes(signer.version)) throw invalid('has an unknown CMS version');
  if (!signedData.digestAlgorithms.some((a) => a.algorithm === signer.digestAlgorithm.algorithm)) throw invalid("does not list its signer's digest algorithm");
  const raw = rawParts(token);
  if (raw.certificates.length > 16) throw invalid('carries more than 16 certificates');
  const certificates = raw.certificates.map((der) => {
    try {
      return new X509Certificate(der);
    } catch (error) {
      throw invalid(`carries a certificate that cannot be decoded (${error instanceof Error ? error.message : String(error)})`);
    }
  });
  return { tstInfo, tstInfoDer, signerInfo: signedData.signerInfos[0]!, signedAttributesDer: raw.signedAttributes, certificates };
}
