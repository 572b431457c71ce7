import { canonicalRegistryHost, TollgateError } from '@tollgate/core';
import { normalizeRegistryName } from '../config/registry-name.js';

/** The proxy as nodes reach it: `https://tollgate.example.com:5000` → scheme and host (with port). */
export interface ProxyAddress {
  /** `https://host[:port]`, as containerd's hosts.toml writes hosts. */
  url: string;
  /** `host[:port]`, as image names and registries.conf write it. */
  host: string;
  plainHttp: boolean;
}

/** `--proxy`: an http(s) URL with a host and nothing after it (no path, query, credentials). */
export function parseProxyAddress(text: string): ProxyAddress {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new TollgateError('USAGE', `--proxy ${JSON.stringify(text.slice(0, 100))} is not a URL; give the proxy as nodes reach it, e.g. https://tollgate.example.com:5000`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TollgateError('USAGE', `--proxy must be an https:// (or, for testing, http://) URL, not ${url.protocol}//`);
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new TollgateError('USAGE', '--proxy must be scheme://host[:port] only: no credentials, path, query or fragment');
  }
  return { url: `${url.protocol}//${url.host}`, host: url.host, plainHttp: url.protocol === 'http:' };
}

/** `--registry`: a registry host as image names write it (Docker Hub's aliases are docker.io). */
export function parseRegistryHost(text: string): string {
  const name = normalizeRegistryName(text.trim());
  if (name === undefined) throw new TollgateError('USAGE', `--registry ${JSON.stringify(text.slice(0, 100))} is not a registry host (a name with a "." or ":", or localhost), e.g. docker.io or ghcr.io`);
  return canonicalRegistryHost(name);
}

/** `--upstream-prefix`: the proxy's path prefix for an upstream (`hub`, `team/mirror`). */
export function parseUpstreamPrefix(text: string): string {
  const prefix = text.replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(prefix)) {
    throw new TollgateError('USAGE', `--upstream-prefix ${JSON.stringify(text.slice(0, 100))} is not a path prefix (lowercase letters, digits, ".", "_", "-", "/"), e.g. hub`);
  }
  return prefix;
}
