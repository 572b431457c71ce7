import { parseManifest } from '../../manifest/parse.js';
import type { NotationImageLimits } from '../../notation/verify/verify-image.js';
import { verifyNotationImage } from '../../notation/verify/verify-image.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';
import type { Authority } from '../schema/types.js';
import type { AuthorityResult } from '../evaluate/types.js';

/**
 * Verifies the Notary Project signatures of one manifest against a notation authority at the strict level: the
 * authority's certificates are the trust anchors (for both the `notary.x509` and signing-authority schemes), its
 * trusted identities must name the signing certificate's subject, and every check (integrity, authenticity,
 * expiry, authentic timestamp, revocation) is enforced. The signer credited is the certificate subject.
 */
export async function verifyNotationAuthority(
  reader: SignatureReader,
  repository: string,
  digest: string,
  authority: Authority,
  limits: NotationImageLimits,
  now?: Date,
): Promise<AuthorityResult> {
  const certificates = authority.certificates ?? [];
  if (certificates.length === 0) return { passed: false, signers: [], reasons: ['the notation authority has no trusted certificates'] };
  const raw = await reader.getManifest(repository, digest);
  const mediaType = parseManifest(raw.bytes, raw.mediaType, `manifest ${digest}`).mediaType;
  const result = await verifyNotationImage(
    reader,
    repository,
    { digest, size: raw.bytes.byteLength, mediaType },
    {
      trustStore: { ca: certificates, signingAuthority: certificates, tsa: [] },
      trustedIdentities: authority.trustedIdentities ?? [],
      level: 'strict',
      ...(now ? { now } : {}),
    },
    limits,
  );
  const subject = result.verified?.signer?.subject;
  if (result.ok && subject !== undefined) return { passed: true, signers: [subject], reasons: [] };
  return { passed: false, signers: [], reasons: result.reasons.length > 0 ? result.reasons.slice(0, 5) : ['no notation signature verified'] };
}
