import { TollgateError } from '../../errors/tollgate-error.js';
import type { DnAttribute } from '../x509/cert-info.js';
import { parseDistinguishedName, subjectMatches } from '../x509/dn.js';

/**
 * Whether a signing certificate subject is trusted: `*` trusts any, otherwise some identity's attributes must all
 * appear in the subject (notation's x509.subject matching). Identities are written `x509.subject: <DN>`; a bare DN
 * is accepted too (the policy engine stores them without the prefix). Throws INVALID_POLICY for a malformed one.
 */
export function identityMatches(trustedIdentities: readonly string[], subject: readonly DnAttribute[]): boolean {
  if (trustedIdentities.length === 0) throw new TollgateError('INVALID_POLICY', 'no trusted identities are configured; give "*" or x509.subject distinguished names');
  return trustedIdentities.some((identity) => {
    if (identity.trim() === '*') return true;
    const dn = identity.replace(/^\s*x509\.subject:\s*/, '');
    return subjectMatches(parseDistinguishedName(dn, `the trusted identity "${identity.slice(0, 80)}"`), subject);
  });
}
