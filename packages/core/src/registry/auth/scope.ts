/** The access a request needs: `repository:<name>:pull` or `repository:<name>:pull,push`; none for `/v2/`. */
export interface AccessScope {
  repository: string;
  actions: ReadonlyArray<'pull' | 'push' | 'delete'>;
}

export function scopeString(scope: AccessScope): string {
  return `repository:${scope.repository}:${[...scope.actions].join(',')}`;
}

export function pullScope(repository: string): AccessScope {
  return { repository, actions: ['pull'] };
}

export function pushScope(repository: string): AccessScope {
  return { repository, actions: ['pull', 'push'] };
}

/** One scope, several (blob mounts need pull on the source and push on the target), or none. */
export type ScopeInput = AccessScope | readonly AccessScope[] | undefined;

export function scopeStrings(scope: ScopeInput): string[] {
  if (scope === undefined) return [];
  const list: readonly AccessScope[] = Array.isArray(scope) ? scope : [scope as AccessScope];
  return list.map(scopeString);
}
