/** Credentials for one registry: a username and password, or an identity (OAuth2 refresh) token. */
export type RegistryCredentials = { username: string; password: string } | { identityToken: string };

export function isIdentityToken(credentials: RegistryCredentials): credentials is { identityToken: string } {
  return 'identityToken' in credentials;
}
