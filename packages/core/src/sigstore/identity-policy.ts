import { TollgateError } from '../errors/tollgate-error.js';

/**
 * Who must have signed a keyless (certificate) bundle: the certificate's subject alternative name (an email or a
 * URI such as a GitHub workflow) and the OIDC issuer recorded by Fulcio. Each is given exactly or as a regular
 * expression; a regular expression always has to match the whole value (we wrap it in `^(?:…)$`), so
 * `alice@example` never accepts `alice@example.com`, whatever anchors the caller wrote or forgot.
 */
export interface IdentityPolicy {
  subject?: string;
  subjectRegexp?: string;
  issuer?: string;
  issuerRegexp?: string;
}

/** A longer pattern is not a real identity policy, and bounding it bounds the regular-expression work too. */
const MAX_PATTERN_LENGTH = 1024;

export interface CompiledIdentityPolicy {
  matchSubject(value: string | undefined): boolean;
  matchIssuer(value: string | undefined): boolean;
  describeSubject: string;
  describeIssuer: string;
}

/** Checks the policy (one subject form and one issuer form, each non-empty, regexps that compile) and compiles it. */
export function compileIdentityPolicy(policy: IdentityPolicy): CompiledIdentityPolicy {
  const subject = matcher('subject', policy.subject, policy.subjectRegexp);
  const issuer = matcher('issuer', policy.issuer, policy.issuerRegexp);
  return { matchSubject: subject.match, matchIssuer: issuer.match, describeSubject: subject.describe, describeIssuer: issuer.describe };
}

function matcher(what: 'subject' | 'issuer', exact: string | undefined, pattern: string | undefined): { match: (value: string | undefined) => boolean; describe: string } {
  if (exact !== undefined && pattern !== undefined) throw usage(`give the certificate ${what} either exactly or as a regular expression, not both`);
  if (exact === undefined && pattern === undefined) throw usage(`a certificate ${what} is required to verify a keyless signature (exactly or as a regular expression)`);
  if (exact !== undefined) {
    if (exact === '') throw usage(`the certificate ${what} must not be empty`);
    return { match: (value) => value === exact, describe: JSON.stringify(exact) };
  }
  if (pattern === '' || pattern!.length > MAX_PATTERN_LENGTH) throw usage(`the certificate ${what} regular expression must be 1 to ${MAX_PATTERN_LENGTH} characters`);
  let regexp: RegExp;
  try {
    // Compiled alone first: a pattern that compiles on its own has balanced groups, so `a)|(b` cannot escape the anchors.
    new RegExp(pattern!);
    regexp = new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    throw usage(`the certificate ${what} regular expression does not compile: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { match: (value) => value !== undefined && regexp.test(value), describe: `/${regexp.source}/` };
}

function usage(message: string): TollgateError {
  return new TollgateError('USAGE', message);
}
