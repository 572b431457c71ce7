import { parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { FetchedSignatures, ImageVerificationResult } from '../types.js';
import type { ImageTrust, ImageVerifyOptions } from './trust.js';
import { verifyOne, type Wanted } from './verify-one.js';

/**
 * Verifies the image signatures fetched for `digest` (fetchSignatures), purely: no I/O. Passes when at least one
 * signature verifies against `trust` and binds `digest`; lists every signature examined with why it failed.
 * Fetch problems (a limit exceeded, an unreadable index) fail the whole verification.
 */
export async function verifyImageSignatures(
  digest: string,
  reference: string | undefined,
  fetched: FetchedSignatures,
  trust: ImageTrust,
  options: ImageVerifyOptions = {},
): Promise<ImageVerificationResult> {
  return verifyFetched(digest, reference, fetched, trust, options, { kind: 'signature' });
}

/** The same for attestations: at least one must verify, bind `digest` as its in-toto subject, and have `predicateType`. */
export async function verifyImageAttestations(
  digest: string,
  reference: string | undefined,
  fetched: FetchedSignatures,
  trust: ImageTrust,
  options: ImageVerifyOptions & { predicateType: string },
): Promise<ImageVerificationResult> {
  if (typeof options.predicateType !== 'string' || options.predicateType === '') throw new TollgateError('USAGE', 'give the predicate type the attestation must have (--type)');
  return verifyFetched(digest, reference, fetched, trust, options, { kind: 'attestation', predicateType: options.predicateType });
}

async function verifyFetched(
  digest: string,
  reference: string | undefined,
  fetched: FetchedSignatures,
  trust: ImageTrust,
  options: ImageVerifyOptions,
  wanted: Wanted,
): Promise<ImageVerificationResult> {
  parseDigest(digest, 'image digest');
  if (fetched.digest !== digest) throw new TollgateError('USAGE', `the signatures were fetched for ${fetched.digest}, not ${digest}`);
  const examined = [];
  for (const signature of fetched.signatures) examined.push(await verifyOne(digest, signature, trust, options, wanted));
  const reasons = [...fetched.problems];
  const what = wanted.kind === 'signature' ? 'signature' : `attestation of type ${wanted.predicateType}`;
  if (examined.length === 0 && reasons.length === 0) reasons.push(`no ${wanted.kind === 'signature' ? 'signatures' : 'attestations'} are attached to ${digest}`);
  else if (reasons.length === 0 && !examined.some((e) => e.ok)) reasons.push(`none of the ${examined.length} examined ${examined.length === 1 ? 'entry is a valid' : 'entries is a valid'} ${what}`);
  const ok = reasons.length === 0 && examined.some((e) => e.ok);
  return {
    ok,
    digest,
    ...(reference !== undefined ? { reference } : {}),
    kind: wanted.kind,
    ...(wanted.kind === 'attestation' ? { predicateType: wanted.predicateType } : {}),
    examined,
    reasons,
  };
}
