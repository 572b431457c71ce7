import { TollgateError } from '../../errors/tollgate-error.js';

/** The audience Fulcio (public good, and the Sigstore mock) expects in an identity token, as cosign requests it. */
export const SIGSTORE_AUDIENCE = 'sigstore';

/** What tollgate reads from an identity token before sending it to Fulcio (the signature is Fulcio's to check). */
export interface IdentityTokenClaims {
  issuer: string;
  /** `email` when the token carries one, else `sub`: what Fulcio puts in the certificate. */
  subject: string;
  /** `exp`, in ms since the epoch. */
  expiresAt: number;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Checks an OIDC identity token before it is used: a JWT (three base64url parts) whose claims are a JSON object
 * with an `iss`, an `exp` still in the future at `now`, and an `aud` that is or includes `audience`. Fulcio would
 * refuse such a token too, but with a message about a certificate request; this one names where the token came
 * from (`source`, e.g. "SIGSTORE_ID_TOKEN") and what to do. The signature is not checked here (Fulcio checks it).
 */
export function checkIdentityToken(token: string, source: string, now: number, audience = SIGSTORE_AUDIENCE): IdentityTokenClaims {
  const fail = (what: string) => new TollgateError('INVALID_IDENTITY_TOKEN', `the identity token from ${source} ${what}`);
  if (!JWT.test(token)) throw fail('is not a JWT (three base64url parts separated by dots)');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
  } catch {
    throw fail('is not a JWT: its claims are not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw fail('is not a JWT: its claims are not a JSON object');
  const { iss, exp, aud, sub, email } = claims as Record<string, unknown>;
  if (typeof iss !== 'string' || iss === '') throw fail('has no issuer (iss claim)');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw fail('has no expiry (exp claim)');
  const expiresAt = exp * 1000;
  if (expiresAt <= now) {
    throw fail(`expired at ${new Date(expiresAt).toISOString()} (issued by ${oneLine(iss)}); get a fresh token`);
  }
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (!audiences.includes(audience)) {
    const got = audiences.length > 0 ? audiences.map((a) => JSON.stringify(oneLine(a))).join(', ') : 'none';
    throw fail(`is for audience ${got}, not ${JSON.stringify(audience)}; request the token with audience ${audience}`);
  }
  const subject = typeof email === 'string' && email !== '' ? email : typeof sub === 'string' ? sub : '';
  if (subject === '') throw fail('names no subject (sub or email claim)');
  return { issuer: oneLine(iss), subject: oneLine(subject), expiresAt };
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, 200);
}
