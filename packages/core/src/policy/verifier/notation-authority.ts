import { parseManifest } from '../../manifest/parse.js';
import type { NotationTrustStore } from '../../notation/types.js';
import type { NotationImageLimits } from '../../notation/verify/verify-image.js';
import { verifyNotationImage } from '../../notation/verify/verify-image.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';
import type { Authority } from '../schema/types.js';
import type { AuthorityResult } from '../evaluate/types.js';

/**
 * The trust store a notation authority stands for: its certificates under its one store type — `ca` (the default)
 * or `signingAuthority` — and nothing under the other. Listing them as both would let a CA's signer use the
 * signing-authority scheme, whose chain is checked at the `authenticSigningTime` the signer itself wrote: a
 * back-dated time would admit an expired (or not yet valid) certificate.
 */
export function notationTrustStore(authority: Authority): NotationTrustStore {
  const certificates = authority.certificates ?? [];
  const type = authority.notationStoreType ?? 'ca';
  return { ca: type === 'ca' ? certificates : [], signingAuthority: type === 'signingAuthority' ? certificates : [], tsa: [] };
}

/**
 * Verifies the Notary Project signatures of one manifest against a notation authority at the strict level: the
 * authority's certificates are the trust anchors of its one store type (see notationTrustStore), its trusted
 * identities must name the signing certificate's subject, and every check (integrity, authenticity, expiry,
 * authentic timestamp, revocation) is enforced. Every signature that verifies is credited to its signer: the
 * certificate subject, also known by the certificate's public key id (so the same key under another subject, or
 * as a cosign key, is the same signer when a threshold is counted).
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
      trustStore: notationTrustStore(authority),
      trustedIdentities: authority.trustedIdentities ?? [],
      level: 'strict',
      ...(now ? { now } : {}),
    },
    { ...limits, all: true },
  );
  const verified = result.ok ? (result.verifiedAll ?? (result.verified ? [result.verified] : [])) : [];
  const signers = new Set<string>();
  const aliases: string[][] = [];
  for (const entry of verified) {
    const signer = entry.signer;
    if (signer === undefined || signer.subject === '') continue;
    signers.add(signer.subject);
    aliases.push([signer.subject, signer.keyId]);
  }
  if (signers.size > 0) return { passed: true, signers: [...signers], aliases, reasons: [] };
  return { passed: false, signers: [], reasons: result.reasons.length > 0 ? result.reasons.slice(0, 5) : ['no notation signature verified'] };
}
