/**
 * How many authorities can each be credited to a different signer: a maximum bipartite matching between the
 * authorities that passed and the signers each one accepted. Two authorities satisfied only by the same signer
 * (the same key listed twice, two identity patterns that both match one certificate) count once.
 *
 * `aliases` are groups of ids known to name one signer (a certificate's subject and its public key id): ids that
 * share a group — directly or through other groups — are one signer before the matching is made.
 */
export function distinctAuthorityCount(signersByAuthority: ReadonlyArray<readonly string[]>, aliases: ReadonlyArray<readonly string[]> = []): number {
  const canonical = signerClasses(aliases);
  const byAuthority = signersByAuthority.map((signers) => [...new Set(signers.map(canonical))]);
  const owner = new Map<string, number>();
  const tryAssign = (authority: number, seen: Set<string>): boolean => {
    for (const signer of byAuthority[authority]!) {
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
  for (let i = 0; i < byAuthority.length; i++) if (tryAssign(i, new Set())) count++;
  return count;
}

/** A function from a signer id to one representative id of every id it is linked to by the alias groups. */
function signerClasses(aliases: ReadonlyArray<readonly string[]>): (id: string) => string {
  if (aliases.length === 0) return (id) => id;
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    for (let next = parent.get(root); next !== undefined && next !== root; next = parent.get(root)) root = next;
    // Path compression: point every id on the way straight at the root.
    for (let at = id, next = parent.get(at); next !== undefined && next !== root; at = next, next = parent.get(at)) parent.set(at, root);
    return root;
  };
  for (const group of aliases) {
    const [first, ...rest] = group;
    if (first === undefined) continue;
    const root = find(first);
    if (!parent.has(root)) parent.set(root, root);
    for (const id of rest) {
      const other = find(id);
      if (other !== root) parent.set(other, root);
    }
  }
  return find;
}
