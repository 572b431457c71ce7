import { selectUpstream } from '../routing/select-upstream.js';
import type { Upstream } from '../upstream/types.js';

/** What an `access` audit event says a request was for. */
export interface AccessSubject {
  upstream?: string;
  repository?: string;
  /** The repository path as the client sent it (`team/app` with ?ns=, `hub/library/alpine` by prefix). */
  path: string;
  ns?: string;
}

/**
 * The upstream and repository a request's path and `?ns=` route to, as a verdict event names them — so
 * `tollgate audit --image <upstream>/<repository>` finds a refused client whichever way it asked, and two upstreams
 * with the same repository stay apart — with the client's own path beside them. A path that routes nowhere (an
 * unknown ns, no upstream) keeps only the path.
 */
export function accessSubject(upstreams: readonly Upstream[], name: string, ns: string | undefined): AccessSubject {
  const path = name.slice(0, 256);
  const shownNs = ns !== undefined ? { ns: ns.slice(0, 256) } : {};
  const route = selectUpstream(upstreams, name, ns);
  if ('error' in route) return { path, ...shownNs };
  return { upstream: route.upstream.name, repository: route.repository.slice(0, 256), path, ...shownNs };
}
