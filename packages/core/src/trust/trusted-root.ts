import { createPublicKey, X509Certificate as NodeX509 } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { TollgateError } from '../errors/tollgate-error.js';
import { parseStrictJson } from '../json/strict-json.js';
import { sigstoreProtobufSpecs } from '../sigstore/sigstore-libraries.js';

export type { TrustedRoot } from '@sigstore/protobuf-specs';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** A trusted root is small (the public-good one is ~6 KiB); 1 MiB leaves room for any real one. */
export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

const RSA_PKCS1_DETAILS = new Set(['PKCS1_RSA_PKCS1V5', 'PKIX_RSA_PKCS1V5', 'PKIX_RSA_PKCS1V15_2048_SHA256', 'PKIX_RSA_PKCS1V15_3072_SHA256', 'PKIX_RSA_PKCS1V15_4096_SHA256']);

/**
 * Loads a Sigstore TrustedRoot (the `trusted_root.json` that cosign and sigstore-go take with `--trusted-root`),
 * strictly: strict JSON, the trusted-root media type, and every log, CT log, CA and TSA complete — a validity
 * start, a key that parses, a certificate chain that parses. A malformed or incomplete root is refused whole
 * (upstream treats a missing `validFor.start` as "since the beginning of time"; we do not), because a trust root
 * that is half used is a trust root that says something its author did not mean.
 */
export function loadTrustedRoot(json: Uint8Array | string, what = 'trusted root'): TrustedRoot {
  const raw = parseStrictJson(json, what, { maxBytes: MAX_TRUSTED_ROOT_BYTES });
  if (!isObject(raw)) throw bad(what, 'is not a JSON object');
  if (raw.mediaType !== TRUSTED_ROOT_MEDIA_TYPE) {
    throw bad(what, `has mediaType ${JSON.stringify(raw.mediaType)}, expected "${TRUSTED_ROOT_MEDIA_TYPE}"`);
  }
  for (const field of ['tlogs', 'ctlogs', 'certificateAuthorities', 'timestampAuthorities']) {
    if (raw[field] !== undefined && !Array.isArray(raw[field])) throw bad(what, `${field} is not an array`);
  }
  asArray(raw.tlogs).forEach((log, i) => checkLog(what, `tlogs[${i}]`, log));
  asArray(raw.ctlogs).forEach((log, i) => checkLog(what, `ctlogs[${i}]`, log));
  asArray(raw.certificateAuthorities).forEach((ca, i) => checkAuthority(what, `certificateAuthorities[${i}]`, ca));
  asArray(raw.timestampAuthorities).forEach((tsa, i) => checkAuthority(what, `timestampAuthorities[${i}]`, tsa));
  if (asArray(raw.tlogs).length + asArray(raw.certificateAuthorities).length + asArray(raw.timestampAuthorities).length === 0) {
    throw bad(what, 'has no transparency log, certificate authority or timestamp authority; nothing could be verified with it');
  }
  try {
    return sigstoreProtobufSpecs().TrustedRoot.fromJSON(raw);
  } catch (error) {
    throw bad(what, `could not be decoded (${error instanceof Error ? error.message : String(error)})`);
  }
}

function checkLog(what: string, where: string, log: unknown): void {
  if (!isObject(log)) throw bad(what, `${where} is not an object`);
  const logId = log.logId;
  if (!isObject(logId) || typeof logId.keyId !== 'string' || !isBase64(logId.keyId)) throw bad(what, `${where}.logId.keyId is missing or not base64`);
  const key = log.publicKey;
  if (!isObject(key)) throw bad(what, `${where}.publicKey is missing`);
  if (typeof key.rawBytes !== 'string' || !isBase64(key.rawBytes) || key.rawBytes.length === 0) throw bad(what, `${where}.publicKey.rawBytes is missing or not base64`);
  if (typeof key.keyDetails !== 'string') throw bad(what, `${where}.publicKey.keyDetails is missing`);
  checkValidity(what, `${where}.publicKey.validFor`, key.validFor);
  const der = Buffer.from(key.rawBytes, 'base64');
  if (!parsesAs(der, 'spki') && !(RSA_PKCS1_DETAILS.has(key.keyDetails) && parsesAs(der, 'pkcs1'))) {
    throw bad(what, `${where}.publicKey.rawBytes is not a public key that parses (keyDetails ${key.keyDetails})`);
  }
}

function parsesAs(der: Buffer, type: 'spki' | 'pkcs1'): boolean {
  try {
    createPublicKey({ key: der, format: 'der', type });
    return true;
  } catch {
    return false;
  }
}

function checkAuthority(what: string, where: string, authority: unknown): void {
  if (!isObject(authority)) throw bad(what, `${where} is not an object`);
  checkValidity(what, `${where}.validFor`, authority.validFor);
  const chain = authority.certChain;
  if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
    throw bad(what, `${where}.certChain.certificates is missing or empty`);
  }
  chain.certificates.forEach((cert, j) => {
    if (!isObject(cert) || typeof cert.rawBytes !== 'string' || !isBase64(cert.rawBytes)) throw bad(what, `${where}.certChain.certificates[${j}].rawBytes is missing or not base64`);
    try {
      new NodeX509(Buffer.from(cert.rawBytes, 'base64'));
    } catch {
      throw bad(what, `${where}.certChain.certificates[${j}] is not an X.509 certificate that parses`);
    }
  });
}

function checkValidity(what: string, where: string, validFor: unknown): void {
  if (!isObject(validFor) || validFor.start === undefined || validFor.start === null) {
    throw bad(what, `${where}.start is missing; every key and authority needs the start of its validity (an open start is not "always")`);
  }
  const start = parseTime(what, `${where}.start`, validFor.start);
  if (validFor.end !== undefined && validFor.end !== null) { // protobuf JSON writes an open end as null
    const end = parseTime(what, `${where}.end`, validFor.end);
    if (end < start) throw bad(what, `${where} ends before it starts`);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseTime(what: string, where: string, value: unknown): number {
  const time = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw bad(what, `${where} is not an RFC 3339 time: ${JSON.stringify(value)?.slice(0, 64)}`);
  return time;
}

function isBase64(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function bad(what: string, detail: string): TollgateError {
  return new TollgateError('INVALID_TRUSTED_ROOT', `${what}: ${detail}; fix or replace the trusted root (cosign/sigstore-go trusted_root.json format)`);
}
