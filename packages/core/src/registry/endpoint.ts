/**
 * Where a registry lives on the network: thin wrappers over the reference module plus the Docker Hub aliases that
 * docker config files use.
 */
import { isDockerHubHost } from '../reference/docker-hub.js';
import { isLoopbackRegistry, registryEndpointHost } from '../reference/registry-host.js';

export function isDockerHub(registry: string): boolean {
  return isDockerHubHost(registry);
}

/** The host (with port) to send API requests to for a registry name. */
export function apiHost(registry: string): string {
  return registryEndpointHost(isDockerHub(registry) ? 'docker.io' : registry.toLowerCase());
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
  return isLoopbackRegistry(host);
}
