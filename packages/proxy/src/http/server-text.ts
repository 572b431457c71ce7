/**
 * Server text (an upstream's error message, an error that quotes one) made fit to hand to a client: one line,
 * bounded, and with anything that looks like a credential replaced — a registry or a token service behind a
 * misconfigured gateway may quote a URL with a signature or a password, or a header, back at us.
 */
export function sanitizeServerText(text: string, max = 200): string {
  const redacted = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(/(\/\/)[^/\s@]*@/g, '$1[redacted]@')
    .replace(/([?&;][^=&\s]*(?:token|signature|sig|password|passwd|secret|credential|key)[^=&\s]*=)[^&\s"']*/gi, '$1[redacted]')
    .replace(/\b(password|passwd|secret|token|access_token|refresh_token)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1$2[redacted]')
    .trim();
  return redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
}
