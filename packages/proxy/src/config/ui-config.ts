import { asRecord, checkKeys, configError, optionalBoolean, optionalString } from './fields.js';
import { parseListen } from './listen.js';
import type { UiConfig } from './types.js';

/** A URL path prefix: `/` then path segments of safe characters, no trailing slash, no `..`. */
const UI_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;
const RESERVED = /^\/(?:v2|token|metrics|healthz|readyz|mutate|validate)(?:\/|$)/;

/**
 * `ui: {enabled, path: /ui, listen?}`: the read-only dashboard. Absent: disabled. `listen` gives it a listener of
 * its own (host:port); without it the dashboard is served by the proxy's listener under `path`.
 */
export function readUi(value: unknown): UiConfig {
  if (value === undefined || value === null) return { enabled: false, path: '/ui' };
  const doc = asRecord(value, 'ui');
  checkKeys(doc, ['enabled', 'path', 'listen'], 'ui');
  const enabled = optionalBoolean(doc.enabled, 'ui.enabled') ?? true;
  const path = optionalString(doc.path, 'ui.path', 128) ?? '/ui';
  if (!UI_PATH.test(path) || path.split('/').some((part) => part === '.' || part === '..')) {
    throw configError('ui.path', `must be an absolute URL path such as /ui (letters, digits, ".", "_", "~", "-"; no trailing slash), got ${JSON.stringify(path.slice(0, 80))}`);
  }
  if (RESERVED.test(path)) throw configError('ui.path', `must not be under the proxy's own endpoints (/v2, /token, /metrics, /healthz, /readyz, /mutate, /validate)`);
  const listen = optionalString(doc.listen, 'ui.listen', 300);
  return { enabled, path, ...(listen !== undefined ? { listen: parseListen(listen, 'ui.listen') } : {}) };
}
