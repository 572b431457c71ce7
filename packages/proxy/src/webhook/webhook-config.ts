import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DOCKER_HUB, TollgateError } from '@tollgate/core';
import { parseDocument } from 'yaml';
import { normalizeRegistryName } from '../config/registry-name.js';

/**
 * The webhook's own settings, in a file of their own (`tollgate webhook serve --config webhook.yaml`) that names the
 * proxy config: upstreams, gate, stores, mode and audit come from there, so the webhook decides with exactly the
 * proxy's routing, policy revision and verdict cache.
 */
export interface WebhookConfig {
  /** The proxy config file (absolute). */
  proxyConfig: string;
  /** The proxy's registry host as nodes and image names write it (`tollgate.example.com:5000`), normalised. */
  proxyHost: string;
  listen: { host: string; port: number };
  tls: { cert: string; key: string; reloadMs: number };
  /** Time allowed per review before undecided images are refused. */
  budgetMs: number;
  /** Also serve the proxy (its `listen`) from this process: needed with a level metadata store, which one process holds. */
  serveProxy: boolean;
}

const KEYS = ['proxyConfig', 'proxyHost', 'listen', 'tls', 'timeBudgetSeconds', 'serveProxy'] as const;
const TLS_KEYS = ['cert', 'key', 'reloadSeconds'] as const;
const MAX_FILE_BYTES = 64 * 1024;

function fail(path: string, problem: string): TollgateError {
  return new TollgateError('INVALID_CONFIG', `webhook config: ${path === '' ? 'the document' : path} ${problem}`);
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(path, 'must be a mapping (key: value)');
  return value as Record<string, unknown>;
}

function checkKeys(doc: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key)) throw fail(path === '' ? key : `${path}.${key}`, `is not a known setting; allowed here: ${allowed.join(', ')}`);
  }
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 4096) throw fail(path, value === undefined ? 'is required' : 'must be a non-empty string');
  return value;
}

/** A number of seconds (`fallback` when absent), as milliseconds. */
function seconds(value: unknown, path: string, min: number, max: number, fallback: number): number {
  const given = value ?? fallback;
  if (typeof given !== 'number' || !Number.isFinite(given) || given < min || given > max) throw fail(path, `must be a number of seconds from ${min} to ${max}`);
  return Math.round(given * 1000);
}

function listen(value: unknown): { host: string; port: number } {
  if (value === undefined || value === null) return { host: '0.0.0.0', port: 8443 };
  const match = typeof value === 'string' ? /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim()) : null;
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw fail('listen', `must be host:port, e.g. 0.0.0.0:8443 or :8443 (got ${JSON.stringify(String(value).slice(0, 80))})`);
  return { host: match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]!), port };
}

/** Validates a parsed document; relative paths are relative to `baseDir`. */
export function normalizeWebhookConfig(value: unknown, baseDir: string): WebhookConfig {
  const doc = record(value, '');
  checkKeys(doc, KEYS, '');
  const host = text(doc.proxyHost, 'proxyHost');
  const proxyHost = normalizeRegistryName(host);
  if (proxyHost === undefined || proxyHost === DOCKER_HUB) throw fail('proxyHost', `must be the proxy's registry host as nodes pull from it, such as tollgate.example.com:5000 (with a "." or ":", or localhost)`);
  const tls = record(doc.tls, 'tls');
  checkKeys(tls, TLS_KEYS, 'tls');
  const serveProxy = doc.serveProxy ?? false;
  if (typeof serveProxy !== 'boolean') throw fail('serveProxy', 'must be true or false');
  return {
    proxyConfig: resolve(baseDir, text(doc.proxyConfig, 'proxyConfig')),
    proxyHost,
    listen: listen(doc.listen),
    tls: { cert: resolve(baseDir, text(tls.cert, 'tls.cert')), key: resolve(baseDir, text(tls.key, 'tls.key')), reloadMs: seconds(tls.reloadSeconds, 'tls.reloadSeconds', 0.05, 3600, 10) },
    // The API server waits at most 30 s (its default 10 s); the answer has to come before that.
    budgetMs: seconds(doc.timeBudgetSeconds, 'timeBudgetSeconds', 0.05, 29, 5),
    serveProxy,
  };
}

/** Reads and validates the webhook config file (YAML: one document, no duplicate keys). */
export async function loadWebhookConfig(file: string): Promise<WebhookConfig> {
  const absolute = resolve(file);
  let size: number;
  try {
    size = (await stat(absolute)).size;
  } catch {
    throw new TollgateError('INVALID_CONFIG', `cannot read the webhook config ${absolute}; check the --config path`);
  }
  if (size > MAX_FILE_BYTES) throw new TollgateError('INVALID_CONFIG', `the webhook config ${absolute} is over 64 KiB; it is not a webhook config`);
  const parsed = parseDocument(await readFile(absolute, 'utf8'), { uniqueKeys: true, prettyErrors: false, strict: true });
  if (parsed.errors.length > 0) throw new TollgateError('INVALID_CONFIG', `webhook config is not valid YAML: ${parsed.errors[0]!.message.split('\n')[0]!.slice(0, 200)}`);
  let value: unknown;
  try {
    value = parsed.toJS({ maxAliasCount: 20 });
  } catch (error) {
    throw new TollgateError('INVALID_CONFIG', `webhook config could not be read: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
  return normalizeWebhookConfig(value, dirname(absolute));
}
