import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { hostnameOf, isLoopbackHost } from '../endpoint.js';

/**
 * What kind of network an IP address is on, for deciding where a registry may send tollgate (redirects, token
 * realms). `special` is every other special-purpose range (documentation, benchmarking, multicast, 6to4, Teredo,
 * reserved): nothing a registry has a reason to send a client to.
 */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'special';

type Family = 'ipv4' | 'ipv6';
type Range = readonly [address: string, prefix: number, family: Family];

/** Checked in this order; the first list holding the address gives its class. */
const RANGES: readonly (readonly [AddressClass, readonly Range[]])[] = [
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'], // CGNAT (shared address space)
      ['fc00::', 7, 'ipv6'], // unique local
      ['fec0::', 10, 'ipv6'], // site-local (deprecated, still routed inside some networks)
    ],
  ],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  [
    'special',
    [
      ['192.0.0.0', 24, 'ipv4'],
      ['192.0.2.0', 24, 'ipv4'],
      ['192.88.99.0', 24, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ['198.51.100.0', 24, 'ipv4'],
      ['203.0.113.0', 24, 'ipv4'],
      ['224.0.0.0', 4, 'ipv4'], // multicast
      ['240.0.0.0', 4, 'ipv4'], // reserved, and the broadcast address
      ['::', 96, 'ipv6'], // IPv4-compatible (deprecated)
      ['::ffff:0:0:0', 96, 'ipv6'], // IPv4-translated
      ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
      ['100::', 64, 'ipv6'], // discard
      ['2001::', 23, 'ipv6'], // IETF protocol assignments, Teredo
      ['2001:db8::', 32, 'ipv6'], // documentation
      ['2002::', 16, 'ipv6'], // 6to4
      ['3fff::', 20, 'ipv6'], // documentation
      ['5f00::', 16, 'ipv6'], // SRv6
      ['ff00::', 8, 'ipv6'], // multicast
    ],
  ],
];

const LISTS: readonly (readonly [AddressClass, BlockList])[] = RANGES.map(([kind, ranges]) => {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return [kind, list] as const;
});

/** The eight 16-bit words of an IPv6 address (any textual form Node accepts, zone id removed). */
function ipv6Words(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // hex words only, at most one "::"
  const [head = '', tail] = canonical.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - front.length - back.length;
  return [...front, ...Array<string>(zeros).fill('0'), ...back].map((word) => parseInt(word, 16));
}

/** The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address. */
function embeddedIPv4(address: string): string | undefined {
  const w = ipv6Words(address);
  const mapped = w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff;
  const nat64 = w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  return [w[6]! >> 8, w[6]! & 0xff, w[7]! >> 8, w[7]! & 0xff].join('.');
}

/**
 * The class of an IP address. IPv4-mapped and NAT64 IPv6 addresses are classed by the IPv4 address inside them
 * (`::ffff:127.0.0.1` is loopback). Anything that is not an IP address is `special` (fail closed).
 */
export function addressClass(ip: string): AddressClass {
  let address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  address = address.replace(/%.*$/, '');
  let family: Family;
  if (isIPv4(address)) family = 'ipv4';
  else if (isIPv6(address)) {
    const inner = embeddedIPv4(address);
    if (inner !== undefined) {
      address = inner;
      family = 'ipv4';
    } else family = 'ipv6';
  } else return 'special';
  for (const [kind, list] of LISTS) if (list.check(address, family)) return kind;
  return 'public';
}

/**
 * The class a registry host (`host[:port]`) is on, from its text alone: an IP literal's class, `loopback` for
 * `localhost`, and `public` for every other name. A name does not widen anything: its DNS answer is not the
 * configuration's to vouch for, and a hostile registry's owner controls it.
 */
export function registryHostClass(host: string): AddressClass {
  if (isLoopbackHost(host)) return 'loopback';
  const name = hostnameOf(host);
  return isIPv4(name) || isIPv6(name) ? addressClass(name) : 'public';
}

/** Words for messages: "a loopback address", "an unspecified address", "a special-purpose address". */
export function describeClass(kind: AddressClass): string {
  if (kind === 'special') return 'a special-purpose address';
  if (kind === 'unspecified') return 'an unspecified address';
  return `a ${kind} address`;
}
