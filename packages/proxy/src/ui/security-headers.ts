import type { FastifyReply } from 'fastify';

/**
 * The dashboard's Content-Security-Policy: only its own scripts and styles (separate files, no inline code, no
 * nonces, no `unsafe-inline` or `unsafe-eval`), its own origin for the live-update requests, no frames either way,
 * no plugins, forms post nowhere but here.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers on every dashboard answer (HTML, JSON, scripts, styles, errors). */
export function setSecurityHeaders(reply: FastifyReply): void {
  reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=()')
    .header('cache-control', 'no-store');
}
