import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { parseDocument } from 'yaml';
import { normalizeProxyConfig } from './normalize.js';
import type { ProxyConfig } from './types.js';

/** Config files are small; anything bigger is a mistake. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Reads and validates a YAML proxy config file (relative paths in it are relative to the file). */
export async function loadProxyConfig(file: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<ProxyConfig> {
  const absolute = resolve(file);
  let size: number;
  try {
    size = (await stat(absolute)).size;
  } catch {
    throw new TollgateError('INVALID_CONFIG', `cannot read the proxy config ${absolute}; check the --config path`);
  }
  if (size > MAX_CONFIG_FILE_BYTES) throw new TollgateError('INVALID_CONFIG', `the proxy config ${absolute} is over 1 MiB; it is not a config file`);
  const text = await readFile(absolute, 'utf8');
  return parseProxyConfig(text, { baseDir: dirname(absolute), ...(options.env ? { env: options.env } : {}) });
}

/** Parses YAML text (one document, no duplicate keys, no aliases beyond a small bound) into a validated config. */
export function parseProxyConfig(text: string, options: { baseDir?: string; env?: NodeJS.ProcessEnv } = {}): ProxyConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new TollgateError('INVALID_CONFIG', `proxy config is not valid YAML: ${first.message.split('\n')[0]!.slice(0, 200)}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new TollgateError('INVALID_CONFIG', `proxy config could not be read: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
  return normalizeProxyConfig(value, options);
}
