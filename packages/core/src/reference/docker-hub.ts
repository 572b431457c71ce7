/** Docker Hub's canonical registry name, as Docker writes it. */
export const DOCKER_HUB = 'docker.io';

/**
 * Every host name that means Docker Hub: the canonical name, the index (Docker's legacy default domain), the API
 * host, and the old API alias. One copy, used for references, policy patterns, routing, containerd's `ns`, and
 * credentials, so a spelling can never get Hub routing without Hub naming (or a rule written for `docker.io` miss
 * an image pulled as `index.docker.io/...`).
 */
export const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** Whether a registry host (no port; any case) is Docker Hub under one of its names. */
export function isDockerHubHost(host: string): boolean {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase());
}

/** `docker.io` for any Docker Hub alias; the host lowercased otherwise. */
export function canonicalRegistryHost(host: string): string {
  return isDockerHubHost(host) ? DOCKER_HUB : host.toLowerCase();
}
