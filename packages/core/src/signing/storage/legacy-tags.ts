import { parseDigest } from '../../digest/digest.js';

/** cosign's legacy tag for a manifest's signatures (`.sig`) or attestations (`.att`): `sha256-<hex>.sig`. */
export function legacyTag(digest: string, kind: 'sig' | 'att'): string {
  const parsed = parseDigest(digest);
  return `${parsed.algorithm}-${parsed.hex}.${kind}`;
}
