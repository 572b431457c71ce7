/** One entry of a token's `access` claim (distribution's token format). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

const MAX_SCOPES = 16;

/**
 * Parses `scope` values (`repository:<name>:<actions>`, space-separated or repeated) as distribution's token
 * servers do: the name is between the first and the last colon; anything malformed is dropped.
 */
export function parseScopes(values: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      if (scope === '' || scope.length > 512 || out.length >= MAX_SCOPES) continue;
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last <= first + 1) continue;
      const type = scope.slice(0, first).replace(/\(.*\)$/, '');
      const name = scope.slice(first + 1, last);
      const actions = scope.slice(last + 1).split(',').filter((a) => /^[a-z*]{1,16}$/.test(a));
      out.push({ type, name, actions });
    }
  }
  return out;
}

/** Whether an access claim grants `pull` on the repository `name` (exactly that name, as the client sees it). */
export function grantsPull(access: unknown, name: string): boolean {
  if (!Array.isArray(access)) return false;
  return access.slice(0, 64).some((e: unknown) => {
    const entry = e as Partial<AccessEntry> | null;
    return entry !== null && typeof entry === 'object' && entry.type === 'repository' && entry.name === name && Array.isArray(entry.actions) && entry.actions.includes('pull');
  });
}
