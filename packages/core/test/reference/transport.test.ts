import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatTransportReference, isTollgateError, parseTransportReference, type TransportReference } from '@tollgate/core';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function plain(t: TransportReference) {
  return t.transport === 'docker' ? { transport: 'docker', reference: t.reference.toString() } : t;
}

describe('parseTransportReference', () => {
  it.each([
    ['nginx', { transport: 'docker', reference: 'docker.io/library/nginx:latest' }],
    ['docker://nginx:1', { transport: 'docker', reference: 'docker.io/library/nginx:1' }],
    ['localhost:5000/x', { transport: 'docker', reference: 'localhost:5000/x:latest' }],
    ['docker://localhost:5000/x@' + DIGEST, { transport: 'docker', reference: `localhost:5000/x@${DIGEST}` }],
    ['dir:5000/app', { transport: 'docker', reference: 'dir:5000/app:latest' }],
    ['sif:2', { transport: 'docker', reference: 'docker.io/library/sif:2' }],
    ['nginx:latest', { transport: 'docker', reference: 'docker.io/library/nginx:latest' }],
    ['oci:/tmp/layout', { transport: 'oci', dir: '/tmp/layout' }],
    ['oci:/tmp/layout:v1', { transport: 'oci', dir: '/tmp/layout', tag: 'v1' }],
    ['oci:layout:1.0-rc.1', { transport: 'oci', dir: 'layout', tag: '1.0-rc.1' }],
    ['oci:/tmp/a:b/c', { transport: 'oci', dir: '/tmp/a:b/c' }],
    ['oci:/tmp/a:b:c', { transport: 'oci', dir: '/tmp/a:b', tag: 'c' }],
    ['oci:/tmp/my layout:v1', { transport: 'oci', dir: '/tmp/my layout', tag: 'v1' }],
    ['oci:/tmp/x:-bad', { transport: 'oci', dir: '/tmp/x:-bad' }],
    ['docker-archive:/tmp/a.tar', { transport: 'docker-archive', path: '/tmp/a.tar' }],
    ['docker-archive:/tmp/a.tar:busybox:latest', { transport: 'docker-archive', path: '/tmp/a.tar', reference: 'busybox:latest' }],
    ['docker-archive:a.tar:localhost:5000/app:1', { transport: 'docker-archive', path: 'a.tar', reference: 'localhost:5000/app:1' }],
    ['docker-archive:/tmp/a.tar:@1', { transport: 'docker-archive', path: '/tmp/a.tar', reference: '@1' }],
  ])('%s', (input, expected) => {
    expect(plain(parseTransportReference(input))).toEqual(expected);
  });

  it.each([
    ['containers-storage:nginx', /"containers-storage:" transport is not supported; use one of docker:\/\/<reference>, oci:<dir>/],
    ['dir:/tmp/x', /"dir:" transport is not supported/],
    ['docker-daemon:nginx:latest', /"docker-daemon:" transport is not supported/],
    ['oci-archive:/tmp/a.tar', /"oci-archive:" transport is not supported/],
    ['docker:nginx', /write the docker transport as "docker:\/\/"/],
    ['https://registry.example.com/app', /has no URL scheme/],
    ['foo:/tmp/x', /if "foo:" is meant as a transport, the supported ones are docker:\/\//],
    ['oci:', /names no directory/],
    ['oci::v1', /names no directory before the tag/],
    ['oci:/tmp/x:', /names no tag/],
    ['docker-archive:', /names no file/],
    ['docker-archive::busybox:1', /names no file/],
    ['docker-archive:/a.tar:busybox', /has no tag/],
    ['docker-archive:/a.tar:busybox@' + DIGEST, /not by digest/],
    ['docker-archive:/a.tar:@x', /not an image index/],
    ['docker-archive:/a.tar:@-1', /not an image index/],
    ['docker-archive:/a.tar:Busybox:1', /must be lowercase/],
    ['docker://', /is empty/],
    ['docker://nginx latest', /whitespace/],
    ['oci:/tmp/x\u0000', /control/],
    ['', /is empty/],
  ])('refuses %j', (input, pattern) => {
    let caught: unknown;
    try {
      parseTransportReference(input);
    } catch (error) {
      caught = error;
    }
    expect(isTollgateError(caught, 'INVALID_REFERENCE'), String(caught)).toBe(true);
    expect((caught as Error).message).toMatch(pattern);
  });

  it('formats back to text that parses to the same thing', () => {
    for (const input of [
      'nginx',
      'docker://localhost:5000/a/b:1@' + DIGEST,
      'oci:/tmp/layout:v1',
      'oci:/tmp/layout',
      'docker-archive:/tmp/a.tar:busybox:latest',
      'docker-archive:/tmp/a.tar:@0',
      'docker-archive:/tmp/a.tar',
    ]) {
      const parsed = parseTransportReference(input);
      expect(plain(parseTransportReference(formatTransportReference(parsed)))).toEqual(plain(parsed));
    }
    expect(formatTransportReference(parseTransportReference('nginx'))).toBe('docker://docker.io/library/nginx:latest');
  });

  it('throws only INVALID_REFERENCE TollgateErrors on arbitrary text', () => {
    const prefix = fc.constantFrom('', 'docker://', 'oci:', 'docker-archive:', 'dir:', 'x:');
    fc.assert(
      fc.property(prefix, fc.string({ maxLength: 120 }), (p, rest) => {
        try {
          const parsed = parseTransportReference(p + rest);
          expect(parsed.transport).toMatch(/^(docker|oci|docker-archive)$/);
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_REFERENCE'), String(error)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
