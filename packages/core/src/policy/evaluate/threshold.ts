/**
 * How many authorities can each be credited to a different signer: a maximum bipartite matching between the
 * authorities that passed and the signers each one accepted. Two authorities satisfied only by the same signer
 * (the same key listed twice, two identity patterns that both match one certificate) count once.
 */
export function distinctAuthorityCount(signersByAuthority: ReadonlyArray<readonly string[]>): number {
  const owner = new Map<string, number>();
  const tryAssign = (authority: number, seen: Set<string>): boolean => {
    for (const signer of signersByAuthority[authority]!) {
      if (seen.has(signer)) continue;
      seen.add(signer);
      const current = owner.get(signer);
      if (current === undefined || tryAssign(current, seen)) {
        owner.set(signer, authority);
        return true;
      }
    }
    return false;
  };
  let count = 0;
  for (let i = 0; i < signersByAuthority.length; i++) if (tryAssign(i, new Set())) count++;
  return count;
}
