/**
 * Where a registry lives on the network. Private to the registry client: the reference module has the public
 * helpers; these small ones keep the client independent of it.
 */

/** Docker Hub's name in references, and the host its API is served from. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase());
}

/** The host (with port) to send API requests to for a registry name. */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_API : registry.toLowerCase();
}

/** The hostname without port or IPv6 brackets. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end).toLowerCase() : host.toLowerCase();
  }
  const colon = host.lastIndexOf(':');
  return (colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host).toLowerCase();
}

/** Loopback hosts may be reached over plain HTTP, as Docker allows. */
export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host);
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** `host[:port]` of a URL, lower-cased, with the default port dropped. */
export function urlHost(url: URL): string {
  return url.host.toLowerCase();
}
