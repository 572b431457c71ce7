import { X509Certificate } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { TollgateError } from '../errors/tollgate-error.js';
import { parseStrictJson } from '../json/strict-json.js';
import { BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } from './bundle-media-types.js';
import { sigstoreBundle } from './sigstore-libraries.js';

export type { Bundle } from '@sigstore/bundle';

/** Real bundles are a few KiB (a certificate chain, one or two log entries); 10 MiB bounds a hostile one. */
export const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;

/** Every Sigstore bundle media type there is: v0.1, v0.2, and v0.3 under both of its names. */
export const SIGSTORE_BUNDLE_MEDIA_TYPES: readonly string[] = [BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE];

export type BundleVersion = '0.1' | '0.2' | '0.3';

/**
 * Parses a Sigstore bundle (`*.sigstore.json`): bounded size, strict JSON (no duplicate keys), a known media
 * type, and the shape that version requires (@sigstore/bundle's assertions: inclusion promise for v0.1, inclusion
 * proof from v0.2, a single certificate or key from v0.3). On top of that we refuse what upstream lets through:
 * a DSSE envelope with other than exactly one signature, and a certificate chain that carries a self-signed
 * (root) certificate, which would let a bundle bring its own trust anchor.
 */
export function parseBundle(bytes: Uint8Array | string, what = 'bundle'): Bundle {
  const raw = parseStrictJson(bytes, what, { maxBytes: MAX_BUNDLE_BYTES });
  return bundleFromValue(raw, what);
}

/** The same checks as parseBundle, for a bundle already parsed as JSON (e.g. taken from an OCI referrer layer). */
export function bundleFromValue(raw: unknown, what = 'bundle'): Bundle {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(what, 'is not a JSON object');
  const mediaType = (raw as Record<string, unknown>).mediaType;
  if (typeof mediaType !== 'string' || !SIGSTORE_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw invalid(what, `has unknown mediaType ${JSON.stringify(mediaType)?.slice(0, 100)}; expected one of ${SIGSTORE_BUNDLE_MEDIA_TYPES.join(', ')}`);
  }
  let bundle: Bundle;
  try {
    bundle = sigstoreBundle().bundleFromJSON(raw);
  } catch (error) {
    throw invalid(what, `is not a valid Sigstore bundle (${describe(error)})`);
  }
  if (bundle.content?.$case === 'dsseEnvelope') {
    const count = bundle.content.dsseEnvelope.signatures.length;
    if (count !== 1) throw invalid(what, `carries a DSSE envelope with ${count} signatures; a Sigstore bundle has exactly one`);
  }
  const material = bundle.verificationMaterial.content;
  if (material?.$case === 'x509CertificateChain') {
    for (const [i, cert] of material.x509CertificateChain.certificates.entries()) {
      if (isSelfSigned(cert.rawBytes)) {
        throw invalid(what, `certificate chain entry ${i} is a self-signed root certificate; roots come from the trusted root, never from the bundle`);
      }
    }
  }
  return bundle;
}

export function bundleVersion(bundle: Bundle): BundleVersion {
  switch (bundle.mediaType) {
    case BUNDLE_V01_MEDIA_TYPE:
      return '0.1';
    case BUNDLE_V02_MEDIA_TYPE:
      return '0.2';
    default:
      return '0.3';
  }
}

function isSelfSigned(der: Uint8Array): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return false; // an unparseable certificate fails chain verification later, with its own message
  }
  if (cert.subject !== cert.issuer) return false;
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const fields = (error as { fields?: unknown }).fields;
    return Array.isArray(fields) && fields.length > 0 ? `${error.message}: ${fields.join(', ')}` : error.message;
  }
  return String(error);
}

function invalid(what: string, detail: string): TollgateError {
  return new TollgateError('INVALID_BUNDLE', `${what}: ${detail}`);
}
