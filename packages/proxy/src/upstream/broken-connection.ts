import { TollgateError } from '@tollgate/core';

/** What undici and Node raise when a connection breaks after the request went out (mid-body, or a timeout). */
const BROKEN = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * A read's failure as the upstream's outage when it is the connection breaking: core names failures before the
 * answer (NETWORK_ERROR), but a body cut off mid-way reaches the reader as undici's own error ("other side closed").
 * Counted and answered as the NETWORK_ERROR it is (the upstream is down, clients get 503 and retry), not as an
 * unknown error that says nothing about the upstream. Undefined for anything else (tollgate's own errors, bugs).
 */
export function brokenConnection(error: unknown, what: string): TollgateError | undefined {
  if (error instanceof TollgateError || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !BROKEN.has(code)) return undefined;
  const reason = error.message !== '' ? error.message.slice(0, 120) : code;
  return new TollgateError('NETWORK_ERROR', `${what}: the upstream connection broke (${reason})`, { cause: error });
}
