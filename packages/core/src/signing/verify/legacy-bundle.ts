import { createHash, X509Certificate } from 'node:crypto';
import { parseStrictJson } from '../../json/strict-json.js';
import { BUNDLE_V01_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } from '../../sigstore/bundle-media-types.js';
import {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_CHAIN_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
} from '../constants.js';
import { isObject } from '../simple-signing.js';

/** The Rekor entry of a legacy signature, from the `dev.sigstore.cosign/bundle` annotation. */
export interface LegacyRekorBundle {
  signedEntryTimestamp: string;
  body: string;
  integratedTime: number;
  logIndex: number;
  logIDHex: string;
  kind: string;
  version: string;
}

const MAX_PEM_CERTS = 10;

/**
 * Re-expresses a legacy cosign signature (payload + annotations) as the Sigstore bundle it is equivalent to, so one
 * verifier checks both: with a Rekor SET a v0.1 bundle (the SET is its inclusion promise), without one a v0.3
 * bundle with no log entry. Self-signed certificates in the chain annotation are dropped (roots come from the
 * trusted root only). Throws on malformed annotations with a one-line reason.
 */
export function legacyToBundle(kind: 'signature' | 'attestation', bytes: Uint8Array, annotations: Record<string, string>): Record<string, unknown> {
  const certificates = [
    ...pemCertificates(annotations[COSIGN_CERTIFICATE_ANNOTATION], 'certificate annotation').slice(0, 1),
    ...pemCertificates(annotations[COSIGN_CHAIN_ANNOTATION], 'chain annotation').slice(1).filter((der) => !selfSigned(der)),
  ];
  if (annotations[COSIGN_CERTIFICATE_ANNOTATION] !== undefined && certificates.length === 0) throw new Error('the certificate annotation holds no certificate');
  const rekor = annotations[COSIGN_BUNDLE_ANNOTATION] !== undefined ? parseRekorBundle(annotations[COSIGN_BUNDLE_ANNOTATION]) : undefined;
  const timestamp = annotations[COSIGN_RFC3161_ANNOTATION] !== undefined ? parseTimestamp(annotations[COSIGN_RFC3161_ANNOTATION]) : undefined;

  const verificationMaterial: Record<string, unknown> = {
    tlogEntries: rekor
      ? [{
          logIndex: String(rekor.logIndex),
          logId: { keyId: Buffer.from(rekor.logIDHex, 'hex').toString('base64') },
          kindVersion: { kind: rekor.kind, version: rekor.version },
          integratedTime: String(rekor.integratedTime),
          inclusionPromise: { signedEntryTimestamp: rekor.signedEntryTimestamp },
          canonicalizedBody: rekor.body,
        }]
      : [],
    ...(timestamp ? { timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: timestamp }] } } : {}),
  };
  const b64 = (der: Uint8Array) => Buffer.from(der).toString('base64');
  if (certificates.length === 0) verificationMaterial.publicKey = { hint: '' };
  else if (rekor) verificationMaterial.x509CertificateChain = { certificates: certificates.map((der) => ({ rawBytes: b64(der) })) };
  else verificationMaterial.certificate = { rawBytes: b64(certificates[0]!) };

  const bundle: Record<string, unknown> = { mediaType: rekor ? BUNDLE_V01_MEDIA_TYPE : BUNDLE_V03_MEDIA_TYPE, verificationMaterial };
  if (kind === 'signature') {
    const signature = annotations[COSIGN_SIGNATURE_ANNOTATION];
    if (signature === undefined || signature === '' || !isBase64(signature)) throw new Error('the dev.cosignproject.cosign/signature annotation is missing or not base64');
    bundle.messageSignature = {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(bytes).digest('base64') },
      signature,
    };
  } else {
    const envelope = parseStrictJson(bytes, 'DSSE envelope', { maxBytes: bytes.byteLength });
    if (!isObject(envelope) || typeof envelope.payload !== 'string' || typeof envelope.payloadType !== 'string' || !Array.isArray(envelope.signatures)) {
      throw new Error('the attestation layer is not a DSSE envelope (payloadType, payload, signatures)');
    }
    bundle.dsseEnvelope = {
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map((s) => (isObject(s) ? { sig: s.sig, keyid: typeof s.keyid === 'string' ? s.keyid : '' } : s)),
    };
  }
  return bundle;
}

export function parseRekorBundle(text: string): LegacyRekorBundle {
  const value = parseStrictJson(text, 'dev.sigstore.cosign/bundle annotation', { maxBytes: 1024 * 1024 });
  const payload = isObject(value) ? value.Payload : undefined;
  if (
    !isObject(value) || typeof value.SignedEntryTimestamp !== 'string' || !isObject(payload) ||
    typeof payload.body !== 'string' || !Number.isSafeInteger(payload.integratedTime) || !Number.isSafeInteger(payload.logIndex) ||
    typeof payload.logID !== 'string' || !/^[0-9a-f]{64}$/.test(payload.logID)
  ) {
    throw new Error('the dev.sigstore.cosign/bundle annotation is not a Rekor bundle {SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}');
  }
  let kind = '';
  let version = '';
  try {
    const body = JSON.parse(Buffer.from(payload.body, 'base64').toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    if (typeof body.kind === 'string') kind = body.kind;
    if (typeof body.apiVersion === 'string') version = body.apiVersion;
  } catch {
    // reported below
  }
  if (kind === '' || version === '') throw new Error('the Rekor entry body in the bundle annotation is not a Rekor entry (kind, apiVersion)');
  return {
    signedEntryTimestamp: value.SignedEntryTimestamp,
    body: payload.body,
    integratedTime: payload.integratedTime as number,
    logIndex: payload.logIndex as number,
    logIDHex: payload.logID,
    kind,
    version,
  };
}

function parseTimestamp(text: string): string {
  const value = parseStrictJson(text, 'dev.sigstore.cosign/rfc3161timestamp annotation', { maxBytes: 1024 * 1024 });
  if (!isObject(value) || typeof value.SignedRFC3161Timestamp !== 'string' || !isBase64(value.SignedRFC3161Timestamp)) {
    throw new Error('the dev.sigstore.cosign/rfc3161timestamp annotation is not {SignedRFC3161Timestamp: base64}');
  }
  return value.SignedRFC3161Timestamp;
}

export function pemCertificates(text: string | undefined, what: string): Uint8Array[] {
  if (text === undefined || text === '') return [];
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new Error(`the ${what} holds no PEM certificate`);
  if (blocks.length > MAX_PEM_CERTS) throw new Error(`the ${what} holds more than ${MAX_PEM_CERTS} certificates`);
  return blocks.map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
}

function selfSigned(der: Uint8Array): boolean {
  try {
    const cert = new X509Certificate(der);
    return cert.subject === cert.issuer && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}
