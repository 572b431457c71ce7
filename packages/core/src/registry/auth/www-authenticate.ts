/**
 * A parser for the WWW-Authenticate header (RFC 7235 §4.1):
 *
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * Several challenges may share one header, separated by commas, so a comma ends a parameter but not necessarily the
 * challenge: what follows decides (`name=` continues the parameters, a bare token starts a new challenge).
 * Parameter names are case-insensitive and returned lower-cased; values keep their case. Hostile input never throws:
 * parsing stops at the first syntax error and returns the challenges read so far.
 */

export interface AuthChallenge {
  /** Lower-cased scheme, e.g. `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
  token68?: string;
}

/** Longest header we look at; registries send a few hundred bytes. */
export const MAX_WWW_AUTHENTICATE_LENGTH = 16 * 1024;
const MAX_PARAMS = 64;

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text.charAt(this.pos + offset);
  }
  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  /** Skips spaces and empty list elements (`,,`). */
  skipSeparators(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

/** Looks ahead (without moving) for `token BWS "="` that is not a token68 ending the challenge. */
function atParam(cursor: Cursor): boolean {
  let i = cursor.pos;
  const text = cursor.text;
  const start = i;
  while (i < text.length && TCHAR.test(text.charAt(i))) i++;
  if (i === start) return false;
  while (text.charAt(i) === ' ' || text.charAt(i) === '\t') i++;
  return text.charAt(i) === '=';
}

/** Reads a token68 when the rest of this challenge is exactly one (followed by end or a comma). */
function tryToken68(cursor: Cursor): string | undefined {
  const text = cursor.text;
  let i = cursor.pos;
  const start = i;
  while (i < text.length && TOKEN68_CHAR.test(text.charAt(i))) i++;
  if (i === start) return undefined;
  while (text.charAt(i) === '=') i++;
  let j = i;
  while (text.charAt(j) === ' ' || text.charAt(j) === '\t') j++;
  if (j < text.length && text.charAt(j) !== ',') return undefined;
  // `name=value` is a parameter, not a token68: only accept when the `=` run is the end of it.
  const value = text.slice(start, i);
  if (/=[^=]/.test(value)) return undefined;
  cursor.pos = i;
  return value;
}

function quotedString(cursor: Cursor): string | undefined {
  // cursor is on the opening quote
  cursor.pos++;
  let out = '';
  while (!cursor.done) {
    const c = cursor.peek();
    if (c === '"') {
      cursor.pos++;
      return out;
    }
    if (c === '\\') {
      if (cursor.pos + 1 >= cursor.text.length) return undefined;
      out += cursor.peek(1);
      cursor.pos += 2;
      continue;
    }
    out += c;
    cursor.pos++;
  }
  return undefined; // unterminated
}

export function parseWwwAuthenticate(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (text.length > MAX_WWW_AUTHENTICATE_LENGTH) return [];
  const cursor = new Cursor(text);
  const challenges: AuthChallenge[] = [];
  for (;;) {
    cursor.skipSeparators();
    if (cursor.done) return challenges;
    const scheme = cursor.token();
    if (scheme === '') return challenges;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> };
    challenges.push(challenge);
    const hadSpace = cursor.peek() === ' ' || cursor.peek() === '\t';
    cursor.skipSpace();
    if (cursor.done) return challenges;
    if (cursor.peek() === ',') continue;
    if (!hadSpace) return challenges; // e.g. `Bearer"x"`: not a challenge we can read further
    if (!atParam(cursor)) {
      const token68 = tryToken68(cursor);
      if (token68 === undefined) return challenges;
      challenge.token68 = token68;
      continue;
    }
    let count = 0;
    // auth-params, comma separated, until something that is not `name=` follows a comma
    for (;;) {
      const name = cursor.token().toLowerCase();
      cursor.skipSpace();
      if (cursor.peek() !== '=') return challenges;
      cursor.pos++;
      cursor.skipSpace();
      let value: string | undefined;
      if (cursor.peek() === '"') value = quotedString(cursor);
      else {
        value = cursor.token();
        if (value === '') value = undefined;
      }
      if (value === undefined) return challenges;
      if (++count > MAX_PARAMS) return challenges;
      if (!(name in challenge.params)) challenge.params[name] = value;
      cursor.skipSpace();
      if (cursor.done) return challenges;
      if (cursor.peek() !== ',') return challenges;
      cursor.skipSeparators();
      if (cursor.done) return challenges;
      if (!atParam(cursor)) break; // a new challenge starts here
    }
  }
}

/** Quotes a parameter value for a header (used by tests and by anything that writes challenges). */
export function quoteHeaderValue(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
