import { parseHostPattern } from '@tollgate/core';
import { configError } from './fields.js';

/** At most this many redirect hosts per upstream. */
const MAX_REDIRECT_HOSTS = 100;

/**
 * `upstreams[].redirectHosts`: hosts (`host`, `host:port`, `*.domain`) the upstream may redirect blob downloads to
 * (or name as token realm) even when they resolve to loopback, private or link-local addresses.
 */
export function readRedirectHosts(value: unknown, at: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw configError(at, 'must be a list of host names, e.g. [minio.internal:9000, "*.cdn.example.com"]');
  if (value.length > MAX_REDIRECT_HOSTS) throw configError(at, `lists more than ${MAX_REDIRECT_HOSTS} hosts`);
  return value.map((entry, i) => {
    if (typeof entry !== 'string') throw configError(`${at}[${i}]`, 'must be a host name string');
    try {
      parseHostPattern(entry);
    } catch (error) {
      throw configError(`${at}[${i}]`, (error as Error).message.replace(/^redirect host /, ''));
    }
    return entry.toLowerCase();
  });
}
