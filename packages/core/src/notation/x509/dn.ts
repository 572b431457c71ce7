import { TollgateError } from '../../errors/tollgate-error.js';
import type { DnAttribute } from './cert-info.js';

const TYPE_ALIASES: Record<string, string> = { S: 'ST', E: 'EMAILADDRESS', EMAIL: 'EMAILADDRESS' };
const MAX_DN_LENGTH = 2048;

/**
 * Parses the distinguished name of a trusted identity (`C=US, ST=WA, O=acme, CN=builder`), as the Notary Project
 * trust policy writes it: comma-separated `TYPE=value` pairs, `\,` `\;` `\\` and `\ ` escapes, no multi-valued
 * RDNs (`+`) and no attribute twice.
 */
export function parseDistinguishedName(text: string, what: string): DnAttribute[] {
  if (text.length > MAX_DN_LENGTH) throw new TollgateError('INVALID_POLICY', `${what} is longer than ${MAX_DN_LENGTH} characters`);
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) throw new TollgateError('INVALID_POLICY', `${what} ends with a lone backslash`);
      current += c + next;
      i++;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else if (c === '+') {
      throw new TollgateError('INVALID_POLICY', `${what} has a multi-valued RDN ("+"); write one attribute per RDN, or escape "+" as "\\+"`);
    } else {
      current += c;
    }
  }
  parts.push(current);
  const attributes: DnAttribute[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TollgateError('INVALID_POLICY', `${what} has "${part.trim().slice(0, 60)}", which is not TYPE=value`);
    let type = part.slice(0, eq).trim().toUpperCase();
    type = TYPE_ALIASES[type] ?? type;
    if (!/^([A-Z][A-Z0-9-]*|[0-9]+(\.[0-9]+)+)$/.test(type)) throw new TollgateError('INVALID_POLICY', `${what} has an invalid attribute type "${type.slice(0, 40)}"`);
    const value = unescapeValue(part.slice(eq + 1).trim());
    if (value.length === 0) throw new TollgateError('INVALID_POLICY', `${what} has an empty value for ${type}`);
    if (attributes.some((a) => a.type === type)) throw new TollgateError('INVALID_POLICY', `${what} names ${type} twice`);
    attributes.push({ type, value });
  }
  return attributes;
}

function unescapeValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Every attribute of `identity` appears exactly once in the certificate subject with the same value (notation's
 * IsSubsetDN). A subject that repeats an attribute the identity names does not match: which of the two would be
 * meant is ambiguous, so tollgate fails closed.
 */
export function subjectMatches(identity: readonly DnAttribute[], subject: readonly DnAttribute[]): boolean {
  return identity.every((want) => {
    const found = subject.filter((a) => a.type === want.type);
    return found.length === 1 && found[0]!.value === want.value;
  });
}
