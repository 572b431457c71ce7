import { X509Certificate } from 'node:crypto';
import { TollgateError } from '../../errors/tollgate-error.js';
import { parseStrictJson } from '../../json/strict-json.js';
import { decodeBase64, decodeBase64Url } from './base64.js';
import { parsePayload, type NotationPayload } from './payload.js';
import { parseProtectedHeader, type NotationProtectedHeader } from './protected-header.js';

/** Largest envelope accepted (notation's own limit for a signature blob is 4 MiB too). */
export const MAX_NOTATION_ENVELOPE_BYTES = 4 * 1024 * 1024;
const MAX_CHAIN_LENGTH = 10;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_TIMESTAMP_BYTES = 256 * 1024;

export const HEADER_TIMESTAMP_SIGNATURE = 'io.cncf.notary.timestampSignature';
const TOP_LEVEL_KEYS = new Set(['payload', 'protected', 'header', 'signature']);

/** A Notary Project JWS envelope (flattened JWS JSON serialization), decoded but not yet verified. */
export interface NotationEnvelope {
  /** The envelope as received, for the JWS verification. */
  jws: { payload: string; protected: string; signature: string; header: Record<string, unknown> };
  protectedHeader: NotationProtectedHeader;
  payload: NotationPayload;
  /** The raw signature bytes (what an RFC 3161 countersignature is over). */
  signature: Buffer;
  /** x5c: signing certificate first, root last. */
  certificates: X509Certificate[];
  /** DER of the RFC 3161 TimeStampToken, when present. */
  timestampToken?: Buffer;
  signingAgent?: string;
}

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_BUNDLE', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a Notary Project JWS envelope (`application/jose+json`) strictly: bounded size, strict JSON (no duplicate
 * keys), canonical base64url, the protected header checked against the signature specification (algorithm
 * allow-list, `crit`, signing scheme, times), the payload's targetArtifact descriptor, and the x5c chain parsed.
 * Throws INVALID_BUNDLE with one line saying what is wrong. Signatures are checked by verifyNotationEnvelope.
 */
export function parseNotationEnvelope(bytes: Uint8Array): NotationEnvelope {
  if (bytes.byteLength > MAX_NOTATION_ENVELOPE_BYTES) {
    throw new TollgateError('SIZE_LIMIT', `the notation signature envelope is ${bytes.byteLength} bytes, over the ${MAX_NOTATION_ENVELOPE_BYTES}-byte limit; refusing it`);
  }
  let doc: unknown;
  try {
    doc = parseStrictJson(bytes, 'the notation signature envelope', { maxBytes: MAX_NOTATION_ENVELOPE_BYTES, maxDepth: 8 });
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  if (!isRecord(doc)) throw invalid('the notation signature envelope is not a JSON object; expected a flattened JWS {payload, protected, header, signature}');
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw invalid(`the notation signature envelope has an unexpected member "${key.slice(0, 64)}"; only the flattened JWS members payload, protected, header and signature are allowed`);
    }
  }
  for (const key of ['payload', 'protected', 'signature'] as const) {
    if (typeof doc[key] !== 'string') throw invalid(`the notation signature envelope has no "${key}" string; it is not a flattened JWS`);
  }
  const header = doc.header;
  if (!isRecord(header)) throw invalid('the notation signature envelope has no unprotected "header" object; it must carry the x5c certificate chain');
  const protectedText = doc.protected as string;
  const payloadText = doc.payload as string;
  const signatureText = doc.signature as string;

  const protectedHeader = parseProtectedHeader(decodeBase64Url(protectedText, 'the protected header'));
  const payload = parsePayload(decodeBase64Url(payloadText, 'the payload'));
  const signature = decodeBase64Url(signatureText, 'the signature');
  if (signature.length === 0) throw invalid('the notation signature envelope has an empty signature');

  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) throw invalid('the envelope header has no x5c certificate chain; a Notary Project signature must carry its chain');
  if (x5c.length > MAX_CHAIN_LENGTH) throw invalid(`the x5c chain has ${x5c.length} certificates, over the limit of ${MAX_CHAIN_LENGTH}`);
  const certificates = x5c.map((entry, i) => {
    if (typeof entry !== 'string') throw invalid(`x5c[${i}] is not a string`);
    if (entry.length > (MAX_CERTIFICATE_BYTES * 4) / 3 + 4) throw invalid(`x5c[${i}] is larger than ${MAX_CERTIFICATE_BYTES} bytes`);
    const der = decodeBase64(entry, `x5c[${i}]`);
    try {
      return new X509Certificate(der);
    } catch (error) {
      throw invalid(`x5c[${i}] is not an X.509 certificate (${error instanceof Error ? error.message : String(error)})`);
    }
  });

  const envelope: NotationEnvelope = {
    jws: { payload: payloadText, protected: protectedText, signature: signatureText, header },
    protectedHeader,
    payload,
    signature,
    certificates,
  };
  const token = header[HEADER_TIMESTAMP_SIGNATURE];
  if (token !== undefined) {
    if (typeof token !== 'string') throw invalid(`the header ${HEADER_TIMESTAMP_SIGNATURE} is not a string`);
    if (token.length > (MAX_TIMESTAMP_BYTES * 4) / 3 + 4) throw invalid(`the timestamp countersignature is larger than ${MAX_TIMESTAMP_BYTES} bytes`);
    envelope.timestampToken = decodeBase64(token, 'the timestamp countersignature');
  }
  // notation writes io.cncf.notary.signingAgent; older signers wrote SigningAgent. It is informational only.
  for (const [key, value] of Object.entries(header)) {
    if (key.toLowerCase() === 'io.cncf.notary.signingagent' && typeof value === 'string') envelope.signingAgent = value.slice(0, 256);
  }
  return envelope;
}
