import { canonicalRegistryHost, parseReference } from '@tollgate/core';
import type { UpstreamConfig } from './types.js';

/**
 * The registry an upstream's images are named under for policy rules (`<registry>/<repository>`): its `registry`
 * setting, else its containerd `ns` (a Docker Hub mirror reached as `ns: docker.io` serves docker.io images, whatever
 * its URL), else its URL's host; Docker Hub's aliases are `docker.io`. An OCI layout upstream is `<name>.oci`.
 */
export function registryOf(upstream: UpstreamConfig): string {
  if (upstream.registry !== undefined) return upstream.registry;
  if (upstream.ns !== undefined) return canonicalRegistryHost(upstream.ns);
  if (upstream.url === undefined) return `${upstream.name}.oci`;
  // Normalised as references are (lowercase host, Hub aliases folded).
  return parseReference(`${new URL(upstream.url).host.toLowerCase()}/x`).registry;
}

/**
 * A `registry:` setting as policy names use it, or undefined when it is not a registry host: the first component of
 * an image name is a registry only with a `.` or `:` in it or as `localhost` (Docker's rule), so `myreg` is refused.
 */
export function normalizeRegistryName(text: string): string | undefined {
  if (text.length === 0 || text.length > 255 || /[/@\s]/.test(text)) return undefined;
  // Docker also takes a capitalised dotless name (`Foo`) as a host; a config has no need of that corner.
  if (!/[.:]/.test(text) && text.toLowerCase() !== 'localhost') return undefined;
  try {
    // Two components, so Docker Hub's `library/` never comes into it.
    const parsed = parseReference(`${text}/x/y`);
    return parsed.repository === 'x/y' && parsed.registry.toLowerCase() === canonicalRegistryHost(text) ? parsed.registry : undefined;
  } catch {
    return undefined;
  }
}
