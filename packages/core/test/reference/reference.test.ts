import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTollgateError, parseDigest, parseReference, referenceWithDigest, TollgateError, type ImageReference } from '@tollgate/core';

const HEX = 'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const DIGEST = `sha256:${HEX}`;

function fields(ref: ImageReference) {
  return { registry: ref.registry, repository: ref.repository, tag: ref.tag, digest: ref.digest, name: ref.name };
}

function rejects(input: string, pattern?: RegExp): void {
  let caught: unknown;
  try {
    parseReference(input);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${JSON.stringify(input)} to be rejected`).toBeInstanceOf(TollgateError);
  expect((caught as TollgateError).code).toBe('INVALID_REFERENCE');
  if (pattern) expect((caught as TollgateError).message).toMatch(pattern);
}

describe('parseReference: Docker normalisation examples (distribution/reference)', () => {
  // [input, normalised toString, familiar, registry, repository]
  it.each([
    ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest', 'docker.io', 'library/nginx'],
    ['redis:latest', 'docker.io/library/redis:latest', 'redis:latest', 'docker.io', 'library/redis'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest', 'docker.io', 'library/nginx'],
    ['docker.io/library/foo/bar', 'docker.io/library/foo/bar:latest', 'library/foo/bar:latest', 'docker.io', 'library/foo/bar'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest', 'docker.io', 'library/nginx'],
    ['index.docker.io/fooo/bar', 'docker.io/fooo/bar:latest', 'fooo/bar:latest', 'docker.io', 'fooo/bar'],
    ['registry-1.docker.io/debian', 'docker.io/library/debian:latest', 'debian:latest', 'docker.io', 'library/debian'],
    ['registry.hub.docker.com/debian', 'docker.io/library/debian:latest', 'debian:latest', 'docker.io', 'library/debian'],
    ['Registry.Hub.Docker.com/org/app', 'docker.io/org/app:latest', 'org/app:latest', 'docker.io', 'org/app'],
    ['library/ubuntu', 'docker.io/library/ubuntu:latest', 'ubuntu:latest', 'docker.io', 'library/ubuntu'],
    ['other/library', 'docker.io/other/library:latest', 'other/library:latest', 'docker.io', 'other/library'],
    ['store/foo/bar', 'docker.io/store/foo/bar:latest', 'store/foo/bar:latest', 'docker.io', 'store/foo/bar'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest', 'dmcgowan/myapp:latest', 'docker.io', 'dmcgowan/myapp'],
    ['ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base:latest', 'ubuntu-12.04-base:latest', 'docker.io', 'library/ubuntu-12.04-base'],
    ['test_com/foo', 'docker.io/test_com/foo:latest', 'test_com/foo:latest', 'docker.io', 'test_com/foo'],
    ['test.com/foo', 'test.com/foo:latest', 'test.com/foo:latest', 'test.com', 'foo'],
    ['test.com:8080/foo', 'test.com:8080/foo:latest', 'test.com:8080/foo:latest', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080/foo:latest', 'test-com:8080/foo:latest', 'test-com:8080', 'foo'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo:latest', 'xn--n3h.com:18080/foo:latest', 'xn--n3h.com:18080', 'foo'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase:latest', '127.0.0.1:8000/private/moonbase:latest', '127.0.0.1:8000', 'private/moonbase'],
    ['example.com/privatebase', 'example.com/privatebase:latest', 'example.com/privatebase:latest', 'example.com', 'privatebase'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest', 'localhost', 'x'],
    ['localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000/x:latest', 'localhost:5000', 'x'],
    ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000/docker/docker:latest', '[fc00::1]:5000/docker/docker:latest', '[fc00::1]:5000', 'docker/docker'],
    ['[FC00::1]:5000/docker', '[fc00::1]:5000/docker:latest', '[fc00::1]:5000/docker:latest', '[fc00::1]:5000', 'docker'],
    ['Foo/bar', 'Foo/bar:latest', 'Foo/bar:latest', 'Foo', 'bar'],
    ['Registry.Example.COM/team/app:v1', 'registry.example.com/team/app:v1', 'registry.example.com/team/app:v1', 'registry.example.com', 'team/app'],
    ['192.168.0.1', 'docker.io/library/192.168.0.1:latest', '192.168.0.1:latest', 'docker.io', 'library/192.168.0.1'],
    ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80', '192.168.0.1:80', 'docker.io', 'library/192.168.0.1'],
    ['docker---rules/docker', 'docker.io/docker---rules/docker:latest', 'docker---rules/docker:latest', 'docker.io', 'docker---rules/docker'],
    ['dock__er/docker', 'docker.io/dock__er/docker:latest', 'dock__er/docker:latest', 'docker.io', 'dock__er/docker'],
    ['d/docker', 'docker.io/d/docker:latest', 'd/docker:latest', 'docker.io', 'd/docker'],
    [`docker.io/${HEX}`, `docker.io/library/${HEX}:latest`, `${HEX}:latest`, 'docker.io', `library/${HEX}`],
    [HEX.slice(0, 63), `docker.io/library/${HEX.slice(0, 63)}:latest`, `${HEX.slice(0, 63)}:latest`, 'docker.io', `library/${HEX.slice(0, 63)}`],
  ])('%s', (input, normalised, familiar, registry, repository) => {
    const ref = parseReference(input);
    expect(ref.toString()).toBe(normalised);
    expect(ref.familiar()).toBe(familiar);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.name).toBe(`${registry}/${repository}`);
    expect(String(ref)).toBe(normalised);
  });

  it('keeps tag and digest together, and gives no default tag to a digest-only reference', () => {
    const both = parseReference(`busybox:1.36@${DIGEST}`);
    expect(both.toString()).toBe(`docker.io/library/busybox:1.36@${DIGEST}`);
    expect(both.familiar()).toBe(`busybox:1.36@${DIGEST}`);
    expect(both.tag).toBe('1.36');
    expect(both.pinned()).toBe(DIGEST);

    const pinned = parseReference(`localhost:5000/a/b@${DIGEST}`);
    expect(pinned.tag).toBeUndefined();
    expect(pinned.toString()).toBe(`localhost:5000/a/b@${DIGEST}`);
    expect(pinned.pinned()).toBe(DIGEST);

    expect(parseReference('nginx').pinned()).toBeUndefined();
    expect(parseReference(`redis@sha512:${'ab'.repeat(64)}`).digest).toBe(`sha512:${'ab'.repeat(64)}`);
  });

  it('pins an existing reference with referenceWithDigest', () => {
    const ref = referenceWithDigest(parseReference('nginx:1'), DIGEST);
    expect(ref.toString()).toBe(`docker.io/library/nginx:1@${DIGEST}`);
    expect(() => referenceWithDigest(parseReference('nginx'), 'sha256:abc')).toThrow(/invalid digest/);
  });

  it('keeps docker.io/ in the familiar form where dropping it would name another registry', () => {
    expect(parseReference('docker.io/a.b/c').familiar()).toBe('docker.io/a.b/c:latest');
    expect(parseReference('docker.io/localhost/c').familiar()).toBe('docker.io/localhost/c:latest');
    expect(parseReference('docker.io/a.b').familiar()).toBe('a.b:latest');
  });

  it('accepts a name of exactly 255 characters and refuses 256', () => {
    const repo = (n: number) => `example.com/${'a'.repeat(n - 'example.com/'.length)}`;
    expect(parseReference(repo(255)).name).toHaveLength(255);
    rejects(repo(256), /256 characters long; Docker allows at most 255/);
  });
});

describe('parseReference: rejections say what is wrong', () => {
  it.each([
    ['', /is empty/],
    ['   ', /whitespace/],
    ['nginx ', /whitespace/],
    ['ngi\u0000nx', /control/],
    ['nginx\n', /whitespace/],
    ['ngi\u200bnx', /control or invisible/],
    ['a'.repeat(4097), /4097 characters long/],
    ['https://github.com/docker/docker', /registry "https:" is not a valid host/],
    ['docker/Docker', /repository names must be lowercase/],
    ['docker.io/docker/Docker', /must be lowercase/],
    ['NGINX', /must be lowercase/],
    ['-docker', /path component "-docker" is invalid/],
    ['-docker/docker', /path component/],
    ['docker-/docker', /path component/],
    ['-docker.io/docker/docker', /registry "-docker.io" is not a valid host/],
    ['docker///docker', /empty path component/],
    ['docker.io/docker///docker', /empty path component/],
    ['docker/', /empty path component/],
    ['____/____', /path component/],
    ['_docker/_docker', /path component/],
    ['dock..er/docker', /not a valid host/],
    ['dock_.er/docker', /not a valid host/],
    ['dock-.er/docker', /not a valid host/],
    ['[fc00::1]', /tag/],
    ['[fc00::1]:5000', /path component "\[fc00::1\]"/],
    ['fc00::1:5000/debian', /not a valid host/],
    ['[fe80::1%eth0]:5000/debian', /not a valid host/],
    ['[2001:db8:3:4::192.0.2.33]:5000/debian', /not a valid host/],
    [HEX, /64-character hex string/],
    ['nginx:', /empty tag/],
    ['nginx:-x', /tag "-x" is invalid/],
    ['nginx:.x', /tag ".x" is invalid/],
    [`nginx:${'a'.repeat(129)}`, /is invalid/],
    ['nginx:a+b', /is invalid/],
    [':tag', /no repository name/],
    [`@${DIGEST}`, /no repository name/],
    ['nginx@', /digest/],
    ['nginx@sha256:abc', /sha256 needs 64 hex characters/],
    [`nginx@sha256:${HEX.toUpperCase()}`, /lowercase hex/],
    [`nginx@md5:${'a'.repeat(32)}`, /unsupported algorithm/],
    [`nginx@${DIGEST}@${DIGEST}`, /digest/],
    ['example.com:port/app', /not a valid host/],
    ['example.com:5000:1/app', /not a valid host/],
    ['exa_mple.com/app', /not a valid host/],
    ['a/b$/c', /path component "b\$"/],
  ])('refuses %j', (input, pattern) => rejects(input, pattern));

  it('refuses a non-string with an INVALID_REFERENCE error', () => {
    expect(() => parseReference(undefined as unknown as string)).toThrow(/not a string/);
  });
});

// Generators of valid references.
const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
const component = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
const repository = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);
const host = fc.oneof(
  fc.array(label, { minLength: 2, maxLength: 3 }).map((labels) => labels.join('.')),
  fc.constant('localhost'),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc.constantFrom('[::1]', '[fc00::1]', '[2001:db8::abcd]', '[FE80:0:0:0:0:0:0:1]'),
  fc.constantFrom('docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'),
);
const domain = fc.option(
  fc.oneof(host, fc.tuple(host, port).map(([h, p]) => h + p)),
  { nil: undefined },
);
const tag = fc.stringMatching(/^\w[\w.-]{0,30}$/);
const digest = fc.oneof(
  fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`),
  fc.stringMatching(/^[a-f0-9]{128}$/).map((h) => `sha512:${h}`),
);
const validReference = fc
  .tuple(domain, repository, fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }))
  // Without a registry, a first component with a dot would be read as one: give those a registry.
  .map(([d, r, t, g]) => [d ?? (r.split('/')[0]!.includes('.') ? 'example.com' : undefined), r, t, g] as const)
  .map(([d, r, t, g]) => `${d !== undefined ? `${d}/` : ''}${r}${t !== undefined ? `:${t}` : ''}${g !== undefined ? `@${g}` : ''}`);

describe('parseReference: properties', () => {
  it('round-trips every generated valid reference through toString() and familiar()', () => {
    fc.assert(
      fc.property(validReference, (input) => {
        const ref = parseReference(input);
        expect(fields(parseReference(ref.toString()))).toEqual(fields(ref));
        expect(fields(parseReference(ref.familiar()))).toEqual(fields(ref));
        expect(ref.toString()).toBe(parseReference(ref.toString()).toString());
        expect(ref.tag !== undefined || ref.digest !== undefined).toBe(true);
        expect(ref.registry).not.toMatch(/^(index|registry-1)\.docker\.io$/);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every generated invalid repository component', () => {
    const badComponent = fc.oneof(
      component.map((c) => `-${c}`),
      component.map((c) => `${c}_`),
      component.map((c) => `${c}..x`),
      component.map((c) => `${c}._x`),
      fc.tuple(component, fc.constantFrom('A', 'Z', 'Q')).map(([c, u]) => c + u),
      fc.tuple(component, fc.constantFrom('$', '+', '!', '~', '%', '#', '*', ',', '=', '"')).map(([c, x]) => c + x + 'a'),
      fc.constant(''),
    );
    fc.assert(
      fc.property(domain, repository, badComponent, fc.option(tag, { nil: undefined }), (d, r, bad, t) => {
        rejects(`${d ?? 'example.com'}/${r}/${bad}${t !== undefined ? `:${t}` : ''}`);
      }),
    );
  });

  it('refuses every generated invalid tag', () => {
    fc.assert(
      fc.property(repository, fc.string({ maxLength: 140 }), (r, t) => {
        fc.pre(!/^\w[\w.-]{0,127}$/.test(t) && !t.includes('@'));
        rejects(`example.com/${r}:${t}`);
      }),
    );
  });

  it('refuses every generated invalid digest', () => {
    fc.assert(
      fc.property(
        repository,
        fc.oneof(
          fc.string({ maxLength: 140 }),
          fc.stringMatching(/^[a-fA-F0-9]{60,70}$/).map((h) => `sha256:${h}`),
          fc.stringMatching(/^[a-z0-9]{1,8}:[a-f0-9]{32,130}$/),
        ),
        (r, g) => {
          let valid = true;
          try {
            parseDigest(g);
          } catch {
            valid = false;
          }
          fc.pre(!valid);
          rejects(`example.com/${r}@${g}`);
        },
      ),
    );
  });

  it('throws nothing but INVALID_REFERENCE TollgateErrors on arbitrary text', () => {
    const arbitrary = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.string({ unit: fc.constantFrom(...'abAB09./:@-_[]%'.split('')), maxLength: 80 }),
      validReference.chain((v) => fc.nat(v.length).map((n) => v.slice(0, n))),
    );
    fc.assert(
      fc.property(arbitrary, (input) => {
        try {
          const ref = parseReference(input);
          expect(fields(parseReference(ref.toString()))).toEqual(fields(ref));
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_REFERENCE')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parses hostile long input quickly', () => {
    const hostile = [
      `${'a-'.repeat(2000)}!`,
      `${'a.'.repeat(2000)}/x`,
      `${'a'.repeat(4000)}:/`,
      `example.com/${'a__'.repeat(1300)}$`,
      `[${':'.repeat(4000)}]/x`,
    ];
    const start = performance.now();
    for (const input of hostile) rejects(input);
    expect(performance.now() - start).toBeLessThan(500);
  });
});
