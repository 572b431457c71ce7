import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeProxyConfig } from '../src/index.js';
import { parseV2Path } from '../src/routing/parse-path.js';
import { selectUpstream } from '../src/routing/select-upstream.js';
import { createUpstream } from '../src/upstream/create-upstream.js';
import { parseRange } from '../src/http/range.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseV2Path', () => {
  it('recognises every pull endpoint', () => {
    expect(parseV2Path('/v2/')).toEqual({ kind: 'ping' });
    expect(parseV2Path('/v2/library/alpine/manifests/3.19')).toEqual({ kind: 'manifest', name: 'library/alpine', reference: '3.19' });
    expect(parseV2Path(`/v2/a/b/c/blobs/${D}`)).toEqual({ kind: 'blob', name: 'a/b/c', digest: D });
    expect(parseV2Path('/v2/a/tags/list')).toEqual({ kind: 'tags', name: 'a' });
    expect(parseV2Path(`/v2/a/referrers/${D}`)).toEqual({ kind: 'referrers', name: 'a', digest: D });
    expect(parseV2Path('/v2/a/blobs/uploads/')).toEqual({ kind: 'upload', name: 'a' });
    expect(parseV2Path('/v2/a/blobs/uploads/123-abc')).toEqual({ kind: 'upload', name: 'a' });
    // A repository may itself contain a component called "manifests".
    expect(parseV2Path('/v2/manifests/manifests/latest')).toEqual({ kind: 'manifest', name: 'manifests', reference: 'latest' });
  });

  it('refuses names outside the grammar and unknown paths', () => {
    expect(parseV2Path('/v2/UPPER/manifests/x').kind).toBe('invalid-name');
    expect(parseV2Path('/v2/../etc/manifests/x').kind).toBe('invalid-name');
    expect(parseV2Path('/v2/a//b/manifests/x').kind).toBe('invalid-name');
    expect(parseV2Path('/v2/a/manifests/').kind).toBe('unknown');
    expect(parseV2Path('/v2/_catalog').kind).toBe('unknown');
    expect(parseV2Path(`/v2/${'a'.repeat(3000)}/manifests/x`).kind).toBe('unknown');
    expect(parseV2Path(`/v2/${'a'.repeat(256)}/manifests/x`).kind).toBe('invalid-name');
  });

  it('never throws and only yields grammatical names (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (tail) => {
        const target = parseV2Path(`/v2/${tail}`);
        if ('name' in target && target.kind !== 'invalid-name') expect(target.name).toMatch(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/);
      }),
    );
  });
});

describe('selectUpstream', () => {
  const config = normalizeProxyConfig(
    {
      dataDir: '/tmp/x',
      upstreams: [
        { name: 'hub', url: 'https://registry-1.docker.io', ns: 'docker.io', prefix: 'hub', default: true },
        { name: 'ghcr', url: 'https://ghcr.io', ns: 'ghcr.io', prefix: 'ghcr' },
        { name: 'deep', url: 'https://registry.example.com', prefix: 'ghcr/mirror' },
      ],
    },
    { env: {} },
  );
  const upstreams = config.upstreams.map((u) => createUpstream(u, {}));
  const pick = (name: string, ns?: string) => {
    const r = selectUpstream(upstreams, name, ns);
    return 'error' in r ? r.error : `${r.upstream.name}:${r.repository}`;
  };

  it('routes by ns first, then the longest prefix, then the default; Docker Hub gets library/', () => {
    expect(pick('alpine', 'docker.io')).toBe('hub:library/alpine');
    expect(pick('owner/tool', 'GHCR.io')).toBe('ghcr:owner/tool');
    expect(pick('ghcr/owner/tool')).toBe('ghcr:owner/tool');
    expect(pick('ghcr/mirror/x')).toBe('deep:x');
    expect(pick('hub/alpine')).toBe('hub:library/alpine');
    expect(pick('library/alpine')).toBe('hub:library/alpine');
    expect(pick('alpine')).toBe('hub:library/alpine');
    expect(pick('ghcrx/tool')).toBe('hub:ghcrx/tool');
    expect(pick('ghcr')).toBe('empty-name');
  });

  it('refuses an unknown ns rather than falling back', () => {
    expect(pick('alpine', 'evil.example.com')).toBe('unknown-ns');
    expect(pick('alpine', '')).toBe('unknown-ns');
  });

  it('treats every Docker Hub host as one ns, as references do (containerd may send any of them)', () => {
    for (const ns of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', 'Index.Docker.IO']) {
      expect(pick('alpine', ns), ns).toBe('hub:library/alpine');
    }
    // Only Hub's own names: look-alikes, ports and suffixes are other registries.
    for (const ns of ['docker.io.evil.example', 'index.docker.io:443', 'xdocker.io', 'docker.com']) expect(pick('alpine', ns), ns).toBe('unknown-ns');
  });

  it('stores a Hub alias ns as docker.io, so two upstreams cannot claim Hub under different spellings', () => {
    const one = normalizeProxyConfig({ dataDir: '/tmp/x', upstreams: [{ name: 'm', url: 'https://mirror.example.com', ns: 'registry-1.docker.io' }] }, { env: {} });
    expect(one.upstreams[0]!.ns).toBe('docker.io');
    expect(() =>
      normalizeProxyConfig(
        {
          dataDir: '/tmp/x',
          upstreams: [
            { name: 'a', url: 'https://mirror.example.com', ns: 'index.docker.io' },
            { name: 'b', url: 'https://registry-1.docker.io', ns: 'docker.io' },
          ],
        },
        { env: {} },
      ),
    ).toThrow(/ns "docker\.io" twice/);
  });

  it('with no default, an unmatched name has no upstream', () => {
    const only = normalizeProxyConfig({ dataDir: '/tmp/x', upstreams: [{ name: 'g', url: 'https://ghcr.io', prefix: 'ghcr' }] }, { env: {} }).upstreams.map((u) => createUpstream(u, {}));
    const r = selectUpstream(only, 'alpine', undefined);
    expect('error' in r && r.error).toBe('no-upstream');
  });
});

describe('parseRange', () => {
  it('reads single ranges and refuses unsatisfiable ones', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-3', 10)).toEqual({ start: 0, end: 3 });
    expect(parseRange('bytes=4-', 10)).toEqual({ start: 4, end: 9 });
    expect(parseRange('bytes=-2', 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(() => parseRange('bytes=10-', 10)).toThrow(/not satisfiable/);
    expect(() => parseRange('bytes=-0', 10)).toThrow(/not satisfiable/);
    expect(() => parseRange('bytes=0-', 0)).toThrow(/not satisfiable/);
    expect(parseRange('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
    expect(parseRange('bytes=5-2', 10)).toBeUndefined();
    expect(parseRange('bytes=99999999999999999-', 10)).toBeUndefined();
  });

  it('any answer lies within the blob (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.nat(1000), (header, size) => {
        try {
          const r = parseRange(header, size);
          if (r) {
            expect(r.start).toBeGreaterThanOrEqual(0);
            expect(r.end).toBeLessThan(size);
            expect(r.start).toBeLessThanOrEqual(r.end);
          }
        } catch (error) {
          expect((error as { status?: number }).status).toBe(416);
        }
      }),
    );
  });
});
