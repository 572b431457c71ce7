import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { ConnectionRefusal, registryError, type RequestContext } from '../errors.js';
import { hostnameOf } from '../endpoint.js';
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
/** Classes a registry named by a host name passes on to its redirects when its name resolves into them. */
const INHERITED_BY_NAME: ReadonlySet<AddressClass> = new Set(['loopback', 'private']);

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
  private widened: Promise<ReadonlySet<AddressClass>> | undefined;

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
    const allowed = await this.allowedClasses();
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) {
      const kind = addressClass(literal);
      if (!allowed.has(kind)) throw registryError('REGISTRY_ERROR', context, this.refusal(`the ${what} to ${url.hostname.slice(0, 100)}`, url.hostname, literal, kind));
    }
    this.guarded ??= guardedDispatcher(this.options.resolveHost ?? systemResolve, allowed, (host, address, kind) =>
      new ConnectionRefusal('REGISTRY_ERROR', this.refusal(`to connect to ${host.slice(0, 100)} for the registry`, host, address, kind)),
    );
    return this.guarded;
  }

  /**
   * `allowed`, plus — for a registry named by a host name that resolves into a private network or loopback — that
   * class: such a registry is itself on one (an internal registry whose storage is internal too), as the issue's
   * rule "unless the upstream itself is one" asks. Link-local is never inherited this way. Resolved once.
   */
  private allowedClasses(): Promise<ReadonlySet<AddressClass>> {
    this.widened ??= (async () => {
      const name = hostnameOf(this.options.apiHost);
      if (isIP(name) !== 0) return this.allowed;
      const addresses = await (this.options.resolveHost ?? systemResolve)(name).catch(() => undefined);
      // Not resolvable now: public only this time, and asked again next time.
      if (addresses === undefined) {
        this.widened = undefined;
        return this.allowed;
      }
      const classes = new Set(this.allowed);
      for (const { address } of addresses) {
        const kind = addressClass(address);
        if (INHERITED_BY_NAME.has(kind)) classes.add(kind);
      }
      return classes;
    })();
    return this.widened;
  }

  private refusal(what: string, host: string, address: string, kind: AddressClass): string {
    const shownHost = host.slice(0, 100);
    const where = shownHost === address || `[${address}]` === shownHost ? `${shownHost} is` : `${shownHost} resolves to ${address},`;
    const why = NEVER.has(kind) ? ', which is never followed' : ' and the registry is not on one (it could reach services inside the network)';
    return `refusing ${what}: ${where} ${describeClass(kind)}${why}; if you trust that host, add it to ${this.options.redirectHostsSetting}`;
  }
}
