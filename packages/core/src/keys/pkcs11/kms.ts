import { TollgateError } from '../../errors/tollgate-error.js';

/** Key references of cosign's KMS providers, refused until they can be tested here. */
const KMS_SCHEMES = ['awskms://', 'gcpkms://', 'azurekms://', 'hashivault://', 'k8s://', 'gitlab://'];

/** The KMS scheme a key reference uses, if any. */
export function kmsScheme(reference: string): string | undefined {
  const lower = reference.slice(0, 16).toLowerCase();
  return KMS_SCHEMES.find((scheme) => lower.startsWith(scheme));
}

/** A "not supported" error for a KMS key reference (which is never echoed whole: it may carry credentials). */
export function kmsNotSupported(scheme: string): TollgateError {
  return new TollgateError('UNSUPPORTED_KEY', `${scheme} keys are not supported: tollgate signs with key files and PKCS#11 tokens (--key pkcs11:…); export the public key from the KMS for verification, or sign with cosign`);
}
