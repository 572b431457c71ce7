import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/types.js';

/** Paths pino replaces with "[redacted]": credentials never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  '*.password',
  '*.passwordEnv',
  '*.token',
  '*.identityToken',
  'credentials',
  '*.credentials',
  'upstreams[*].credentials',
];

/** A pino JSON logger with secrets redacted. */
export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'tollgate-proxy' } };
  return destination !== undefined ? pino(options, destination as pino.DestinationStream) : pino(options);
}
