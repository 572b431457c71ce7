import { canonicalRegistryHost } from '@tollgate/core';
import type { Upstream } from '../upstream/types.js';

export interface UpstreamRoute {
  upstream: Upstream;
  /** The repository at the upstream. */
  repository: string;
  /** The containerd namespace the client sent, when it sent one. */
  ns?: string;
}

export type RouteResult = UpstreamRoute | { error: 'unknown-ns' | 'no-upstream' | 'empty-name'; message: string };

/**
 * Chooses the configured upstream for a request: containerd's `ns` parameter first (an unknown ns is refused, with
 * no request anywhere), then the longest matching path prefix, then the default upstream. Docker Hub upstreams
 * get `library/` in front of single-component names, as Docker does. Never a client-supplied URL.
 */
export function selectUpstream(upstreams: readonly Upstream[], name: string, ns: string | undefined): RouteResult {
  let chosen: Upstream | undefined;
  let repository = name;
  if (ns !== undefined) {
    // containerd may name Docker Hub by any of its hosts; the config holds the canonical docker.io.
    const wanted = canonicalRegistryHost(ns);
    chosen = upstreams.find((u) => u.config.ns === wanted);
    if (chosen === undefined) {
      return { error: 'unknown-ns', message: `no upstream is configured for namespace ${JSON.stringify(ns.slice(0, 100))}; tollgate only contacts configured upstreams` };
    }
  } else {
    let best: Upstream | undefined;
    for (const u of upstreams) {
      const prefix = u.config.prefix;
      if (prefix === undefined) continue;
      if ((name === prefix || name.startsWith(`${prefix}/`)) && (best === undefined || prefix.length > best.config.prefix!.length)) best = u;
    }
    if (best !== undefined) {
      if (name === best.config.prefix) return { error: 'empty-name', message: `${name} is the prefix of upstream ${best.name}; add the repository after it` };
      chosen = best;
      repository = name.slice(best.config.prefix!.length + 1);
    } else {
      chosen = upstreams.find((u) => u.config.default);
      if (chosen === undefined) {
        return { error: 'no-upstream', message: `no upstream serves ${name}: no prefix matches and there is no default upstream` };
      }
    }
  }
  if (chosen.dockerHub && !repository.includes('/')) repository = `library/${repository}`;
  return { upstream: chosen, repository, ...(ns !== undefined ? { ns } : {}) };
}
