import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { buildConnector as BuildConnector, Dispatcher } from 'undici';
import { addressClass, type AddressClass } from './address-class.js';

/** Resolves a host name to every address it has (both families). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

/** Builds the error for a connection refused because `hostname` is (or resolves to) `address` of class `kind`. */
export type RefuseConnection = (hostname: string, address: string, kind: AddressClass) => Error;

export const systemResolve: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family: 0 }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

function notFound(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
}

function familyOf(option: unknown): 4 | 6 | undefined {
  if (option === 4 || option === 'IPv4') return 4;
  if (option === 6 || option === 'IPv6') return 6;
  return undefined;
}

/**
 * A `lookup` for net/tls.connect that resolves the name itself, refuses it when any of its addresses is outside
 * `allowed`, and hands the socket only those checked addresses: the address connected to is the address checked,
 * so a DNS answer that changes between check and connect (rebinding) gains nothing.
 */
export function checkingLookup(resolveHost: ResolveHost, allowed: ReadonlySet<AddressClass>, refuse: RefuseConnection): LookupFunction {
  return (hostname, options, callback) => {
    const answer = callback as (error: Error | null, address: string | LookupAddress[], family?: number) => void;
    resolveHost(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const kind = addressClass(address);
          if (!allowed.has(kind)) {
            answer(refuse(hostname, address, kind), '');
            return;
          }
        }
        const family = familyOf(options.family);
        const usable = family === undefined ? addresses : addresses.filter((a) => a.family === family);
        if (usable.length === 0) answer(notFound(hostname), '');
        else if (options.all === true) answer(null, usable);
        else answer(null, usable[0]!.address, usable[0]!.family);
      },
      (error: unknown) => answer(error instanceof Error ? error : notFound(hostname), ''),
    );
  };
}

/**
 * An undici Agent whose every connection is checked: IP literals by their class, names through checkingLookup.
 * Used for hosts a registry sends tollgate to that nobody configured (blob redirects, token realms).
 */
export async function guardedDispatcher(resolveHost: ResolveHost, allowed: ReadonlySet<AddressClass>, refuse: RefuseConnection): Promise<Dispatcher> {
  const { Agent, buildConnector } = await import('undici');
  const connect = buildConnector({ lookup: checkingLookup(resolveHost, allowed, refuse) } as BuildConnector.BuildOptions);
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname;
      if (isIP(host) !== 0) {
        const kind = addressClass(host);
        if (!allowed.has(kind)) {
          callback(refuse(host, host, kind), null);
          return;
        }
      }
      connect(options, callback);
    },
  });
}
