import { TollgateError } from '../../errors/tollgate-error.js';
import { parseStrictJson } from '../../json/strict-json.js';
import { NOTATION_PAYLOAD_MEDIA_TYPE } from '../types.js';
import { parseRfc3339 } from './time.js';

/** The JWS algorithms the Notary Project signature specification allows; nothing else is accepted. */
export const NOTATION_ALGORITHMS = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
export type NotationAlgorithm = (typeof NOTATION_ALGORITHMS)[number];

export const HEADER_SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const HEADER_SIGNING_TIME = 'io.cncf.notary.signingTime';
export const HEADER_AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const HEADER_EXPIRY = 'io.cncf.notary.expiry';
const HEADER_VERIFICATION_PLUGIN = 'io.cncf.notary.verificationPlugin';
const HEADER_VERIFICATION_PLUGIN_MIN_VERSION = 'io.cncf.notary.verificationPluginMinVersion';

/** The critical header parameters tollgate understands and processes (given to jose as recognised). */
export const RECOGNISED_CRITICAL_HEADERS = [HEADER_SIGNING_SCHEME, HEADER_SIGNING_TIME, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY] as const;

export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

export interface NotationProtectedHeader {
  alg: NotationAlgorithm;
  crit: string[];
  signingScheme: SigningScheme;
  /** notary.x509: the signer's (unauthenticated) clock. */
  signingTime?: Date;
  /** notary.x509.signingAuthority: the signing authority's time. */
  authenticSigningTime?: Date;
  expiry?: Date;
  raw: Record<string, unknown>;
}

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_BUNDLE', `the protected header ${message}`);
}

function time(header: Record<string, unknown>, key: string): Date | undefined {
  if (!(key in header)) return undefined;
  const parsed = parseRfc3339(header[key]);
  if (parsed === undefined) throw invalid(`"${key}" is not an RFC 3339 date-time`);
  return parsed;
}

/**
 * Checks the JWS protected header against the Notary Project specification (signature-envelope-jws.md): `alg` on
 * the allow-list, `cty` the Notary payload type, a supported signing scheme with the times it requires and none
 * it forbids, and `crit` naming every header that must be processed and nothing tollgate does not understand
 * (unknown critical headers, including verification plugins, fail the signature, as the specification requires).
 */
export function parseProtectedHeader(bytes: Uint8Array): NotationProtectedHeader {
  let doc: unknown;
  try {
    doc = parseStrictJson(bytes, 'the protected header', { maxBytes: 64 * 1024, maxDepth: 4 });
  } catch (error) {
    throw new TollgateError('INVALID_BUNDLE', error instanceof Error ? error.message : String(error));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('is not a JSON object');
  const header = doc as Record<string, unknown>;

  const alg = header.alg;
  if (typeof alg !== 'string' || !(NOTATION_ALGORITHMS as readonly string[]).includes(alg)) {
    throw invalid(`has alg ${JSON.stringify(alg)?.slice(0, 40) ?? 'missing'}; the Notary Project allows only ${NOTATION_ALGORITHMS.join(', ')}`);
  }
  if (header.cty !== NOTATION_PAYLOAD_MEDIA_TYPE) {
    throw invalid(`has cty ${JSON.stringify(header.cty)?.slice(0, 80) ?? 'missing'}; the supported payload type is ${NOTATION_PAYLOAD_MEDIA_TYPE}`);
  }
  const scheme = header[HEADER_SIGNING_SCHEME];
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') {
    throw invalid(`has signing scheme ${JSON.stringify(scheme)?.slice(0, 60) ?? 'missing'}; supported are notary.x509 and notary.x509.signingAuthority`);
  }
  for (const key of [HEADER_VERIFICATION_PLUGIN, HEADER_VERIFICATION_PLUGIN_MIN_VERSION]) {
    if (key in header) throw invalid(`names a verification plugin (${key}); tollgate runs no notation plugins and cannot perform the plugin's checks, so the signature is refused`);
  }

  const crit = header.crit;
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c): c is string => typeof c === 'string')) {
    throw invalid('has no crit list of header names; a Notary Project signature must mark its signing scheme critical');
  }
  if (new Set(crit).size !== crit.length) throw invalid('lists a header twice in crit');
  for (const name of crit) {
    if (!(RECOGNISED_CRITICAL_HEADERS as readonly string[]).includes(name)) {
      throw invalid(`marks "${name.slice(0, 80)}" critical, which tollgate does not understand; unknown critical headers fail verification`);
    }
    if (!(name in header)) throw invalid(`marks "${name}" critical but does not contain it`);
  }
  const mustBeCritical = [HEADER_SIGNING_SCHEME];
  if (HEADER_EXPIRY in header) mustBeCritical.push(HEADER_EXPIRY);
  if (scheme === 'notary.x509.signingAuthority') mustBeCritical.push(HEADER_AUTHENTIC_SIGNING_TIME);
  for (const name of mustBeCritical) {
    if (!crit.includes(name)) throw invalid(`does not mark "${name}" critical; the specification requires it`);
  }

  const result: NotationProtectedHeader = { alg: alg as NotationAlgorithm, crit, signingScheme: scheme, raw: header };
  const signingTime = time(header, HEADER_SIGNING_TIME);
  const authenticSigningTime = time(header, HEADER_AUTHENTIC_SIGNING_TIME);
  const expiry = time(header, HEADER_EXPIRY);
  if (scheme === 'notary.x509') {
    if (authenticSigningTime !== undefined) throw invalid(`has ${HEADER_AUTHENTIC_SIGNING_TIME}, which the notary.x509 scheme must not have`);
    if (signingTime === undefined) throw invalid(`has no ${HEADER_SIGNING_TIME}, which the notary.x509 scheme requires`);
    result.signingTime = signingTime;
  } else {
    if (signingTime !== undefined) throw invalid(`has ${HEADER_SIGNING_TIME}, which the notary.x509.signingAuthority scheme must not have`);
    if (authenticSigningTime === undefined) throw invalid(`has no ${HEADER_AUTHENTIC_SIGNING_TIME}, which the notary.x509.signingAuthority scheme requires`);
    result.authenticSigningTime = authenticSigningTime;
  }
  if (expiry !== undefined) result.expiry = expiry;
  return result;
}
