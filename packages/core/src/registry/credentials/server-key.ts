/**
 * Docker config keys come in several spellings for the same registry: `https://index.docker.io/v1/` for Docker Hub,
 * `host:port`, `https://host:port`, `http://host/v2/`. These helpers normalise them to a host so lookups agree.
 */
import { isDockerHub } from '../endpoint.js';

export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

/** The host (lower-cased, with port) a docker config key names, or undefined for something unreadable. */
export function normaliseServerKey(key: string): string | undefined {
  let text = key.trim();
  if (text === '') return undefined;
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = text.indexOf('/');
  if (slash >= 0) text = text.slice(0, slash);
  if (text === '') return undefined;
  text = text.toLowerCase();
  return isDockerHub(text) ? 'docker.io' : text;
}

/** The host we look up for a registry name: `docker.io` for every Docker Hub alias. */
export function registryKey(registry: string): string {
  const lower = registry.toLowerCase();
  return isDockerHub(lower) ? 'docker.io' : lower;
}

/** What a credential helper is asked for: Docker Hub's historical URL, otherwise the host. */
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_SERVER_URL : registry.toLowerCase();
}
