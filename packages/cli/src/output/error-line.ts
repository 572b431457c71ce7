import { TollgateError } from '@tollgate/core';

/** Codes of a connection that broke under a library call tollgate did not wrap (undici, node:net). */
const BROKEN_CONNECTION = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** Longest message printed: a TollgateError's is written to be read, anything else is a library's, shown briefly. */
const MAX_TOLLGATE_MESSAGE = 2000;
const MAX_OTHER_MESSAGE = 500;

/**
 * The one line printed for an error. A TollgateError already says what happened and what to do, but its message
 * can carry a server's multi-line text or a wrapped cause, so it is made one line too. Anything else is an error
 * core did not translate: it is printed with its code, and a broken connection says so and what to do, rather than
 * a bare "other side closed". The message is bounded before the prefix and the code are added, so neither is cut off.
 */
export function errorLine(error: unknown): string {
  if (error instanceof TollgateError) return `Error: ${oneLine(error.message, MAX_TOLLGATE_MESSAGE)}`;
  const message = oneLine(error instanceof Error ? error.message : String(error), MAX_OTHER_MESSAGE);
  const code = codeOf(error);
  if (code !== undefined && BROKEN_CONNECTION.has(code)) {
    return `Error: a network connection broke (${message}, ${code}); retry, or check the network and the registry`;
  }
  return `Error: ${message}${code !== undefined ? ` (${code})` : ''}`;
}

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Control characters (a server's text may hold terminal escapes), the Unicode line separators and bidi overrides. */
const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const BREAK_RUN = new RegExp(`\\s*[${CONTROL}][\\s${CONTROL}]*`, 'g');

/** Each run of CONTROL characters, with the blanks around it, becomes one space; then cut to `max`, never inside a surrogate pair. */
function oneLine(text: string, max: number): string {
  const line = text.replace(BREAK_RUN, ' ').trim();
  if (line.length <= max) return line;
  let end = max - 1;
  if (/[\ud800-\udbff]/.test(line[end - 1] ?? '')) end--;
  return `${line.slice(0, end).trimEnd()}…`;
}
