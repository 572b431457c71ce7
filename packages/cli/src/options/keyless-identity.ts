import { resolveIdentityToken, TollgateError, type ResolvedIdentityToken } from '@tollgate/core';
import { writeErr } from '../output/write.js';

export interface KeylessIdentityFlags {
  identityToken?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
}

/**
 * The identity token for keyless signing: `--identity-token` (a token or @file), else SIGSTORE_ID_TOKEN, else the
 * GitHub Actions token endpoint. Says on stderr, in one line, which source was used and for whom (and, when the
 * token endpoint had to be asked again, why). No interactive flow: --oidc-issuer / --oidc-client-id are refused
 * (see docs/signing.md#ci).
 */
export async function keylessIdentity(flags: KeylessIdentityFlags, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedIdentityToken> {
  if (flags.oidcIssuer !== undefined || flags.oidcClientId !== undefined) {
    throw new TollgateError('USAGE', '--oidc-issuer/--oidc-client-id (an interactive OIDC flow) are not supported: use --identity-token or an ambient CI identity (SIGSTORE_ID_TOKEN, GitHub Actions)');
  }
  const resolved = await resolveIdentityToken({ ...(flags.identityToken !== undefined ? { explicit: flags.identityToken } : {}), env, now: Date.now, timeoutMs });
  if (resolved === undefined) {
    throw new TollgateError('USAGE', 'give --key <cosign.key>, or an identity for keyless signing: --identity-token <jwt|@file>, SIGSTORE_ID_TOKEN, or a GitHub Actions job with `permissions: id-token: write`');
  }
  // A token that took more than one request says so: a flaky token service is worth knowing about before it fails.
  const retried = resolved.retried !== undefined ? `; fetched on attempt ${resolved.retried.length + 1}, after ${resolved.retried.join(', ')}` : '';
  writeErr(`Using the identity token from ${resolved.sourceDescription} (subject ${resolved.subject}, issuer ${resolved.issuer})${retried}`);
  return resolved;
}
