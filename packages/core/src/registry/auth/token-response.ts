import { TollgateError } from '../../errors/tollgate-error.js';

/** How long a token lives when the token service does not say (the distribution spec's default). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_LENGTH = 64 * 1024;

export interface IssuedToken {
  token: string;
  expiresInSeconds: number;
}

/**
 * Reads a token service answer: `token` or `access_token` (the OAuth2 name), `expires_in` seconds. The token must
 * be a printable header-safe string; anything else is refused without echoing the body.
 */
export function parseTokenResponse(bytes: Uint8Array, realmHost: string): IssuedToken {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new TollgateError('REGISTRY_ERROR', `the token service at ${realmHost} answered with something that is not JSON; check the registry's auth configuration`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TollgateError('REGISTRY_ERROR', `the token service at ${realmHost} answered with JSON that is not an object; check the registry's auth configuration`);
  }
  const { token, access_token: accessToken, expires_in: expiresIn } = doc as Record<string, unknown>;
  const chosen = typeof token === 'string' && token !== '' ? token : typeof accessToken === 'string' && accessToken !== '' ? accessToken : undefined;
  if (chosen === undefined) {
    throw new TollgateError('REGISTRY_ERROR', `the token service at ${realmHost} answered without a token; check the registry's auth configuration`);
  }
  if (chosen.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(chosen)) {
    throw new TollgateError('REGISTRY_ERROR', `the token service at ${realmHost} issued a token that is not a printable header value; check the registry's auth configuration`);
  }
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, 86_400) : DEFAULT_TOKEN_LIFETIME_S;
  return { token: chosen, expiresInSeconds: seconds };
}
