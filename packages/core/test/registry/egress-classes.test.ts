/** Address classes and redirect host patterns: the vocabulary the egress guard decides with. */
import { describe, expect, it } from 'vitest';
import { addressClass, matchesHostPattern, parseHostPattern, type AddressClass } from '@tollgate/core';

/** The class of a URL's host as WHATWG URL parsing leaves it (how every redirect target is read). */
function urlClass(host: string): AddressClass {
  return addressClass(new URL(`http://${host}/`).hostname);
}

describe('addressClass', () => {
  it('classes IPv4 special-purpose ranges', () => {
    const cases: [string, AddressClass][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', 'public'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['100.127.255.255', 'private'],
      ['100.128.0.1', 'public'],
      ['169.254.169.254', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['192.0.2.10', 'special'],
      ['198.18.0.1', 'special'],
      ['224.0.0.1', 'special'],
      ['255.255.255.255', 'special'],
      ['8.8.8.8', 'public'],
      ['52.216.0.1', 'public'],
    ];
    for (const [ip, kind] of cases) expect([ip, addressClass(ip)]).toEqual([ip, kind]);
  });

  it('classes IPv6, and IPv4-mapped / NAT64 addresses by the IPv4 address inside', () => {
    const cases: [string, AddressClass][] = [
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fd00::2', 'private'],
      ['fc00::1', 'private'],
      ['fec0::1', 'private'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:8.8.8.8', 'public'],
      ['64:ff9b::169.254.169.254', 'link-local'],
      ['64:ff9b::808:808', 'public'],
      ['::7f00:1', 'special'],
      ['2002:7f00:1::', 'special'],
      ['2001:db8::1', 'special'],
      ['ff02::1', 'special'],
      ['2a00:1450:4001::1', 'public'],
      ['[::1]', 'loopback'],
      ['not-an-ip', 'special'],
    ];
    for (const [ip, kind] of cases) expect([ip, addressClass(ip)]).toEqual([ip, kind]);
  });

  it('sees through the spellings URL parsing normalises: decimal, octal, hex, short, percent- and width-encoded', () => {
    for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0x7f.1', '%31%32%37.0.0.1', '127。0。0。1', '127.0.0.1.', '[::ffff:127.0.0.1]']) {
      expect([host, urlClass(host)]).toEqual([host, 'loopback']);
    }
    expect(urlClass('0')).toBe('unspecified');
    expect(urlClass('[::]')).toBe('unspecified');
    expect(urlClass('2852039166')).toBe('link-local'); // 169.254.169.254
  });
});

describe('redirect host patterns', () => {
  const url = (text: string) => new URL(text);

  it('matches exact hosts (any port, or the one given) and *.domain below the domain only', () => {
    const patterns = ['minio.internal', 'cache.lan:8443', '*.s3.amazonaws.com', '10.0.0.7', '[fd00::7]:9000'].map(parseHostPattern);
    expect(matchesHostPattern(url('http://minio.internal:9000/b'), patterns)).toBe(true);
    expect(matchesHostPattern(url('http://MINIO.internal./b'), patterns)).toBe(true);
    expect(matchesHostPattern(url('https://cache.lan:8443/b'), patterns)).toBe(true);
    expect(matchesHostPattern(url('https://cache.lan/b'), patterns)).toBe(false);
    expect(matchesHostPattern(url('https://bucket.s3.amazonaws.com/k'), patterns)).toBe(true);
    expect(matchesHostPattern(url('https://a.b.s3.amazonaws.com/k'), patterns)).toBe(true);
    expect(matchesHostPattern(url('https://s3.amazonaws.com/k'), patterns)).toBe(false);
    expect(matchesHostPattern(url('https://evils3.amazonaws.com/k'), patterns)).toBe(false);
    expect(matchesHostPattern(url('https://s3.amazonaws.com.evil.example/k'), patterns)).toBe(false);
    expect(matchesHostPattern(url('http://0xa000007/'), patterns)).toBe(true); // 10.0.0.7, spelt in hex
    expect(matchesHostPattern(url('http://[fd00:0::7]:9000/'), patterns)).toBe(true);
    expect(matchesHostPattern(url('http://[fd00::7]:9001/'), patterns)).toBe(false);
    expect(matchesHostPattern(url('http://minio.internal.evil.example/'), patterns)).toBe(false);
  });

  it('refuses entries that are not hosts, wildcards on IPs and wildcards over a whole top-level domain', () => {
    for (const bad of ['', '*', '*.com', '*.10.0.0.1', 'https://minio', 'user@minio', 'minio/path', 'minio.', 'a*.example.com', 'minio:0', 'minio:99999', ' minio']) {
      expect(() => parseHostPattern(bad), bad).toThrow(/redirect host .* (is not|would trust|wildcard|port 0)/);
    }
  });
});
