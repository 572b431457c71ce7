import { isIP } from 'node:net';
import { TollgateError } from '../../errors/tollgate-error.js';
import { DOMAIN_AND_PORT, shown } from '../../reference/grammar.js';

/**
 * A host a registry may send tollgate to whatever address it resolves to (an object store or CDN inside the
 * network): `host` (any port), `host:port`, or `*.domain[:port]` (any name below the domain, not the domain itself).
 */
export interface HostPattern {
  /** Canonical hostname (IPv6 in brackets), or the domain after `*.` for a wildcard. */
  host: string;
  wildcard: boolean;
  port?: number;
}

function invalid(text: string, why: string): TollgateError {
  return new TollgateError('USAGE', `redirect host ${shown(text, 100)} ${why}; write host, host:port or *.domain (e.g. *.s3.amazonaws.com)`);
}

/** Parses one redirect host entry; throws USAGE naming the entry and the accepted forms. */
export function parseHostPattern(text: string): HostPattern {
  if (typeof text !== 'string' || text.length === 0 || text.length > 300) throw invalid(String(text), 'is not a host name');
  const wildcard = text.startsWith('*.');
  const rest = wildcard ? text.slice(2) : text;
  if (!DOMAIN_AND_PORT.test(rest)) throw invalid(text, 'is not a host name (no scheme, path, user or trailing dot)');
  let url: URL;
  try {
    url = new URL(`http://${rest}/`);
  } catch {
    throw invalid(text, 'is not a host name');
  }
  const pattern: HostPattern = { host: url.hostname, wildcard };
  const portText = (rest.startsWith('[') ? /\]:(\d+)$/ : /:(\d+)$/).exec(rest)?.[1];
  if (portText !== undefined) {
    const port = Number(portText);
    if (port < 1) throw invalid(text, 'names port 0');
    pattern.port = port;
  }
  if (wildcard) {
    const bare = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0 || /^\d+$/.test(bare.split('.').at(-1) ?? '')) throw invalid(text, 'puts a wildcard on an IP address');
    if (bare.split('.').length < 2) throw invalid(text, 'would trust a whole top-level domain; a wildcard needs at least two labels after "*."');
  }
  return pattern;
}

/** The port a URL connects to. */
function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Whether a URL's host is one of the patterns (a single trailing dot on the URL's host is ignored). */
export function matchesHostPattern(url: URL, patterns: readonly HostPattern[]): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const port = portOf(url);
  return patterns.some((p) => {
    if (p.port !== undefined && p.port !== port) return false;
    return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
  });
}
