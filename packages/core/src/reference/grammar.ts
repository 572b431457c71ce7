import { TollgateError } from '../errors/tollgate-error.js';

/**
 * The image reference grammar of Docker's distribution/reference package, written out as anchored regular
 * expressions. Every repetition is separated by characters the repeated part cannot contain, so matching is linear.
 */

/** A repository path component: lowercase alphanumerics joined by one `.`, one `_`, `__` or any run of `-`. */
export const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A domain (DNS-ish name, IPv4 dotted decimal, or bracketed IPv6 without zone) with an optional port. */
export const DOMAIN_AND_PORT =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/** A tag: a word character, then up to 127 word characters, dots or dashes. */
export const TAG = /^\w[\w.-]{0,127}$/;

/** A 64 hex character identifier, which Docker refuses as a repository name (it would be mistaken for an image ID). */
export const IDENTIFIER = /^[a-f0-9]{64}$/;

/** The longest `registry/repository` name Docker accepts. */
export const NAME_TOTAL_LENGTH_MAX = 255;

/** Longest reference text tollgate looks at, whatever follows. */
export const MAX_REFERENCE_INPUT = 4096;

/** Shows untrusted text in a message: quoted, escaped, and cut short. */
export function shown(input: string, max = 120): string {
  return JSON.stringify(input.length > max ? `${input.slice(0, max)}…` : input);
}

/**
 * Refuses text that cannot be a reference whatever its grammar: not a string, empty, too long, or holding
 * whitespace or control characters (which would otherwise surface as baffling grammar errors, or in logs).
 */
export function checkReferenceText(input: unknown, what: string, options: { allowSpaces?: boolean } = {}): string {
  if (typeof input !== 'string') {
    throw invalid(`${what} is not a string`);
  }
  if (input.length === 0) {
    throw invalid(`${what} is empty; expected e.g. "nginx:1.27" or "registry.example.com/team/app@sha256:…"`);
  }
  if (input.length > MAX_REFERENCE_INPUT) {
    throw invalid(`${what} is ${input.length} characters long, more than the ${MAX_REFERENCE_INPUT} allowed; check what was passed`);
  }
  const bad = (options.allowSpaces ? CONTROL : CONTROL_OR_SPACE).exec(input);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, '0');
    const kind = /\s/.test(bad[0]) ? 'whitespace' : 'a control or invisible character';
    throw invalid(`${what} ${shown(input)} contains ${kind} (U+${code.toUpperCase()}) at position ${bad.index}; remove it`);
  }
  return input;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u2060\u2066-\u2069\u3000\ufeff]/;

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_REFERENCE', message);
}
