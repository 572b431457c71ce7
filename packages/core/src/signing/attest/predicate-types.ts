import { TollgateError } from '../../errors/tollgate-error.js';

export const FILEMANIFEST_PREDICATE_TYPE = 'https://tollgate.dev/attestations/filemanifest/v1';
export const COSIGN_CUSTOM_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/v1';

/** cosign's `--type` short names and the predicate type URIs they stand for, plus tollgate's filemanifest. */
export const PREDICATE_TYPE_NAMES: Readonly<Record<string, string>> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
  custom: COSIGN_CUSTOM_PREDICATE_TYPE,
  filemanifest: FILEMANIFEST_PREDICATE_TYPE,
};

/** The predicate type URI for a `--type` value: a short name above, or an absolute URI given as is. */
export function predicateTypeFor(type: string): string {
  const named = PREDICATE_TYPE_NAMES[type];
  if (named !== undefined) return named;
  if (type.length <= 1024 && /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(type)) return type;
  throw new TollgateError('USAGE', `unknown predicate type ${JSON.stringify(type.slice(0, 100))}: use one of ${Object.keys(PREDICATE_TYPE_NAMES).join(', ')} or an absolute URI`);
}

/**
 * The predicate to sign for `--type` and the predicate file's bytes: JSON for every named type (strictly parsed by
 * the caller); cosign's `custom` wraps the text as `{Data, Timestamp}`.
 */
export function wrapCustomPredicate(text: string, now = new Date()): unknown {
  return { Data: text, Timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}
