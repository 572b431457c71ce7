import { isIPv6 } from 'node:net';
import { DOCKER_HUB } from './reference.js';

/** The host to contact for a normalised registry name: Docker Hub's API lives at registry-1.docker.io. */
export function registryEndpointHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/**
 * Whether a registry (`host[:port]`) is on the loopback interface: `localhost`, 127.0.0.0/8, or `[::1]` (and the
 * IPv4-mapped `[::ffff:127.x.y.z]`), with any port. Such registries may be spoken to over plain HTTP, as Docker allows.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const text = registry.toLowerCase();
  let host: string;
  let port: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return false;
    host = text.slice(0, close + 1);
    port = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? '' : text.slice(colon);
  }
  if (port !== '' && !/^:[0-9]{1,5}$/.test(port)) return false;
  if (host === 'localhost') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255) && v4[1] === '127';
  if (host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1))) {
    const canonical = new URL(`http://${host}/`).hostname;
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
  }
  return false;
}
