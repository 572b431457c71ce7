import { TollgateError } from '@tollgate/core';

/** Codes of a connection that broke under a library call tollgate did not wrap (undici, node:net). */
const BROKEN_CONNECTION = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * The one line printed for an error. A TollgateError already says what happened and what to do. Anything else is
 * an error core did not translate: it is printed with its code, and a broken connection says so and what to do,
 * rather than a bare "other side closed".
 */
export function errorLine(error: unknown): string {
  if (error instanceof TollgateError) return `Error: ${error.message}`;
  const message = oneLine(error instanceof Error ? error.message : String(error));
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

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim().slice(0, 500);
}
