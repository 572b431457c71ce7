import { parseReference, type ImageReference } from '@tollgate/core';
import { registryOf } from '../config/registry-name.js';
import { selectUpstream, type UpstreamRoute } from '../routing/select-upstream.js';
import type { Upstream } from '../upstream/types.js';

/** Where an image is resolved and what nodes call it on the proxy. */
export interface ImageTarget {
  route: UpstreamRoute;
  /** The tag or digest to resolve (the digest when the image names both: that is what a node would pull). */
  reference: string;
  /** `<proxy host>/<prefix>/<repository>` (no tag, no digest). */
  proxyName: string;
  /** The image names the proxy itself (validating: it must, and by digest). */
  viaProxy: boolean;
  /** The digest the image pins, if it pins one. */
  digest?: string;
}

export type TargetResult = ImageTarget | { error: string };

/**
 * The path under which nodes reach `repository` of `upstream` on the proxy: `<prefix>/<repository>`, or for the
 * default upstream without a prefix `<repository>`. Only when routing that path brings the same upstream and
 * repository back, so a rewritten image can never pull something else (a repository under another's prefix).
 */
export function proxyPath(upstreams: readonly Upstream[], upstream: Upstream, repository: string): string | undefined {
  const prefix = upstream.config.prefix;
  const path = prefix !== undefined ? `${prefix}/${repository}` : upstream.config.default ? repository : undefined;
  if (path === undefined) return undefined;
  const back = selectUpstream(upstreams, path, undefined);
  return 'error' in back || back.upstream !== upstream || back.repository !== repository ? undefined : path;
}

/** The upstreams that serve a registry's images (their `registry`, else `ns`, else URL host), reachable by path. */
function upstreamFor(upstreams: readonly Upstream[], registry: string): { upstream?: Upstream; unreachable?: Upstream } {
  const serving = upstreams.filter((u) => registryOf(u.config).toLowerCase() === registry.toLowerCase());
  // A prefix names the upstream whatever the repository; the default upstream only for paths no prefix claims.
  const upstream = serving.find((u) => u.config.prefix !== undefined) ?? serving.find((u) => u.config.default);
  return upstream !== undefined ? { upstream } : serving.length > 0 ? { unreachable: serving[0]! } : {};
}

function parsed(image: string): ImageReference | { error: string } {
  try {
    return parseReference(image);
  } catch (error) {
    return { error: (error as Error).message.slice(0, 300) };
  }
}

/**
 * Maps a pod's image to its upstream: a name on the proxy (`<proxy host>/<path>`) is routed as the proxy routes a
 * pull; any other is normalised as Docker does (`nginx` → `docker.io/library/nginx:latest`) and goes to the upstream
 * serving its registry. A registry no upstream serves is an error (fail closed: nodes would pull it unchecked).
 */
export function targetFor(image: string, proxyHost: string, upstreams: readonly Upstream[]): TargetResult {
  const ref = parsed(image);
  if ('error' in ref) return ref;
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const pinned = ref.digest !== undefined ? { digest: ref.digest } : {};
  if (ref.registry.toLowerCase() === proxyHost) {
    const route = selectUpstream(upstreams, ref.repository, undefined);
    if ('error' in route) return { error: `${ref.repository} on the proxy ${proxyHost}: ${route.message}` };
    const path = proxyPath(upstreams, route.upstream, route.repository);
    if (path === undefined) return { error: `${ref.repository} on the proxy ${proxyHost} routes to upstream ${route.upstream.name}, which nodes cannot name by path; give that upstream a prefix` };
    return { route, reference, proxyName: `${proxyHost}/${path}`, viaProxy: true, ...pinned };
  }
  const { upstream, unreachable } = upstreamFor(upstreams, ref.registry);
  if (upstream === undefined) {
    if (unreachable !== undefined) return { error: `registry ${ref.registry} is served by upstream ${unreachable.name}, which has neither a prefix nor default: true, so nodes cannot pull it through the proxy; give it a prefix` };
    return { error: `registry ${ref.registry} is not fronted by the tollgate proxy (no upstream has registry: ${ref.registry}); add an upstream for it or use an image from a registry the proxy serves` };
  }
  // Docker Hub upstreams take `library/` for one-component names as parseReference already wrote them.
  const route: UpstreamRoute = { upstream, repository: ref.repository };
  const path = proxyPath(upstreams, upstream, ref.repository);
  if (path === undefined) return { error: `${ref.name} would be named ${proxyHost}/${ref.repository} on the proxy, which routes elsewhere (another upstream's prefix); give upstream ${upstream.name} a prefix` };
  return { route, reference, proxyName: `${proxyHost}/${path}`, viaProxy: false, ...pinned };
}
