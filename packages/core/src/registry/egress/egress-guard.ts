import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { ConnectionRefusal, registryError, type RequestContext } from '../errors.js';
import { addressClass, describeClass, registryHostClass, type AddressClass } from './address-class.js';
import { guardedDispatcher, systemResolve, type ResolveHost } from './guarded-dispatcher.js';
import { matchesHostPattern, type HostPattern } from './host-patterns.js';

export interface EgressGuardOptions {
  /** The registry's API host (`host[:port]`): always reachable, through the client's own dispatcher. */
  apiHost: string;
  /** Hosts the registry may send tollgate to whatever they resolve to (trusted object stores, CDNs). */
  redirectHosts: readonly HostPattern[];
  /** Where a user lists redirect hosts, named in refusals (`redirectHosts`, or the proxy's config key). */
  redirectHostsSetting: string;
  resolveHost?: ResolveHost;
}

/** Classes a registry may never send tollgate to, whatever class it is in itself. */
const NEVER: ReadonlySet<AddressClass> = new Set(['unspecified', 'special']);

/**
 * Decides where a registry may send tollgate (blob redirects, token realms): its own API host; hosts the user
 * configured; and otherwise only public addresses, plus the class the registry itself is in when it is named by
 * a loopback, private or link-local address (a loopback test registry may redirect to loopback). Names are
 * checked by every address they resolve to, at connection time, so a hostile registry gets no requests into the
 * network behind tollgate (cloud metadata at 169.254.169.254, internal services) — blind SSRF is refused.
 */
export class EgressGuard {
  /** Address classes an unconfigured host may be on. */
  readonly allowed: ReadonlySet<AddressClass>;
  private guarded: Promise<Dispatcher> | undefined;

  constructor(private readonly options: EgressGuardOptions) {
    const own = registryHostClass(options.apiHost);
    this.allowed = new Set<AddressClass>(['public', ...(NEVER.has(own) ? [] : [own])]);
  }

  /** Whether the user listed this URL's host as a redirect host. */
  isRedirectHost(url: URL): boolean {
    return matchesHostPattern(url, this.options.redirectHosts);
  }

  /**
   * The dispatcher for a request to `url` at the registry's direction: undefined (the client's own) for the
   * registry's host and trusted hosts, a checking one otherwise. Throws REGISTRY_ERROR, naming the host and the
   * setting to change, when the URL carries credentials or names an address the registry may not send us to.
   */
  async route(url: URL, context: RequestContext, what: string, trusted = false): Promise<Dispatcher | undefined> {
    if (url.username !== '' || url.password !== '') {
      throw registryError('REGISTRY_ERROR', context, `refusing the ${what} to ${url.host.slice(0, 100)}: the URL carries a user name or password`);
    }
    if (url.host.toLowerCase() === this.options.apiHost.toLowerCase() || trusted || this.isRedirectHost(url)) return undefined;
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) {
      const kind = addressClass(literal);
      if (!this.allowed.has(kind)) throw registryError('REGISTRY_ERROR', context, this.refusal(`the ${what} to ${url.hostname.slice(0, 100)}`, url.hostname, literal, kind));
    }
    this.guarded ??= guardedDispatcher(this.options.resolveHost ?? systemResolve, this.allowed, (host, address, kind) =>
      new ConnectionRefusal('REGISTRY_ERROR', this.refusal(`to connect to ${host.slice(0, 100)} for the registry`, host, address, kind)),
    );
    return this.guarded;
  }

  private refusal(what: string, host: string, address: string, kind: AddressClass): string {
    const shownHost = host.slice(0, 100);
    const where = shownHost === address || `[${address}]` === shownHost ? `${shownHost} is` : `${shownHost} resolves to ${address},`;
    const why = NEVER.has(kind) ? ', which is never followed' : ' and the registry is not on one (it could reach services inside the network)';
    return `refusing ${what}: ${where} ${describeClass(kind)}${why}; if you trust that host, add it to ${this.options.redirectHostsSetting}`;
  }
}
