import { TollgateError } from '../../errors/tollgate-error.js';

/** The ASN.1 libraries notation verification needs (certificate extensions, CMS, RFC 3161 TSTInfo). */
export interface Asn1Runtime {
  schema: typeof import('@peculiar/asn1-schema');
  x509: typeof import('@peculiar/asn1-x509');
  cms: typeof import('@peculiar/asn1-cms');
  tsp: typeof import('@peculiar/asn1-tsp');
  asn1js: typeof import('asn1js');
}

let loaded: Asn1Runtime | undefined;
let loading: Promise<Asn1Runtime> | undefined;

/**
 * Loads the ASN.1 libraries. They are large, and only notation verification needs them, so they load when a
 * notation envelope is verified rather than when tollgate starts; every async entry point awaits this first.
 */
export function loadAsn1(): Promise<Asn1Runtime> {
  loading ??= Promise.all([
    import('@peculiar/asn1-schema'),
    import('@peculiar/asn1-x509'),
    import('@peculiar/asn1-cms'),
    import('@peculiar/asn1-tsp'),
    import('asn1js'),
  ]).then(([schema, x509, cms, tsp, asn1js]) => (loaded = { schema, x509, cms, tsp, asn1js }));
  return loading;
}

/** The loaded libraries, for the synchronous parsers behind an entry point that awaited loadAsn1(). */
export function asn1(): Asn1Runtime {
  if (loaded === undefined) {
    throw new TollgateError('USAGE', 'notation ASN.1 support is not loaded; call an async notation entry point (verifyNotationEnvelope, verifyTimestampToken)');
  }
  return loaded;
}

/** Key usage bits (RFC 5280 §4.2.1.3) as @peculiar/asn1-x509 numbers them. */
export const KeyUsageFlags = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;
