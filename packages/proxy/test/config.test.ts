import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProxyConfig, normalizeProxyConfig, parseProxyConfig } from '../src/index.js';

const base = { dataDir: '/var/lib/tollgate', upstreams: [{ name: 'hub', url: 'https://registry-1.docker.io', default: true }] };
const invalid = (raw: unknown, pattern: RegExp) => expect(() => normalizeProxyConfig(raw, { env: {} })).toThrow(pattern);

describe('normalizeProxyConfig', () => {
  it('applies defaults', () => {
    const config = normalizeProxyConfig(base, { env: {} });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(config.cache).toEqual({ maxBytes: 10 * 1024 ** 3, tagTtlSeconds: 300, verdictTtlSeconds: 86400, denyTtlSeconds: 60 });
    expect(config.upstreams[0]).toMatchObject({ name: 'hub', url: 'https://registry-1.docker.io', default: true, insecure: false, timeoutSeconds: 60 });
    expect(config.gate).toBeUndefined();
  });

  it('refuses unknown keys at every level, naming them', () => {
    invalid({ ...base, listn: ':5000' }, /listn is not a known setting/);
    invalid({ ...base, cache: { maxByte: 1 } }, /cache\.maxByte is not a known setting/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], passwrd: 'x' }] }, /upstreams\[0\]\.passwrd is not a known setting/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], credentials: { username: 'u', password: 'p', extra: 1 } }] }, /credentials\.extra/);
    invalid({ ...base, gate: { allowDigest: {} } }, /gate\.allowDigest/);
    invalid({ ...base, tls: { cert: 'a', key: 'b', ca: 'c' } }, /tls\.ca/);
  });

  it('refuses wrong shapes and hostile values with clear errors', () => {
    invalid(null, /dataDir/);
    invalid([], /must be a mapping/);
    invalid('text', /must be a mapping/);
    invalid({ ...base, upstreams: [] }, /at least one upstream/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://a', oci: '/b', default: true }] }, /exactly one of url/);
    invalid({ ...base, upstreams: [{ name: 'UPPER', url: 'https://a', default: true }] }, /name must be lowercase/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://user:pw@a', default: true }] }, /no path, query or inline credentials/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'file:///etc/passwd', default: true }] }, /url must be http/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://a/v2/evil', default: true }] }, /no path/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://a' }] }, /cannot be reached/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://a', prefix: '../etc' }] }, /prefix must be/);
    invalid({ ...base, upstreams: [{ name: 'x', url: 'https://a', ns: 'evil.com/path' }] }, /ns must be a registry host/);
    invalid({ ...base, upstreams: [base.upstreams[0], { ...base.upstreams[0] }] }, /name "hub" twice/);
    invalid({ ...base, upstreams: [{ name: 'a', url: 'https://a', default: true }, { name: 'b', url: 'https://b', default: true }] }, /more than one upstream default/);
    invalid({ ...base, listen: 'nonsense' }, /listen must be host:port/);
    invalid({ ...base, listen: '127.0.0.1:70000' }, /listen must be host:port/);
    invalid({ ...base, cache: { maxBytes: '10 parsecs' } }, /byte size/);
    invalid({ ...base, cache: { maxBytes: -1 } }, /integer from 1/);
    invalid({ ...base, cache: { tagTtlSeconds: 1.5 } }, /integer/);
    invalid({ ...base, logLevel: 'loud' }, /logLevel must be one of/);
    invalid({ ...base, gate: 'allow-some' }, /allow-all/);
    invalid({ ...base, gate: { allowDigests: { 'nope/repo': ['sha256:' + 'a'.repeat(64)] } } }, /naming a configured upstream/);
    invalid({ ...base, gate: { allowDigests: { 'hub/repo': ['sha256:XYZ'] } } }, /allowDigests.*\[0\]/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], credentials: { username: 'u' } }] }, /exactly one of password or passwordEnv/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], credentials: { username: 'u', passwordEnv: 'BAD-NAME' } }] }, /environment variable name/);
    invalid({ ...base, upstreams: [{ name: 'l', oci: '/x', default: true, credentials: { dockerConfig: '/c' } }] }, /oci layout; credentials/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], tls: { cert: '/c' } }] }, /both cert and key/);
  });

  it('never echoes an inline password in an error', () => {
    const secret = 'hunter2-very-secret';
    try {
      normalizeProxyConfig({ ...base, upstreams: [{ ...base.upstreams[0], credentials: { username: 'u', password: secret, passwordEnv: 'X' } }] }, { env: {} });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('reads byte sizes with units, gates, credentials and env overrides', () => {
    const config = normalizeProxyConfig(
      {
        ...base,
        cache: { maxBytes: '512MiB', tagTtlSeconds: 60 },
        gate: { allowDigests: { 'hub/library/alpine': ['sha256:' + 'b'.repeat(64)] } },
        upstreams: [
          { name: 'hub', url: 'https://registry-1.docker.io', ns: 'Docker.IO', default: true, credentials: { username: 'me', passwordEnv: 'HUB_TOKEN' } },
          { name: 'local', oci: 'oci:layouts/app', prefix: 'air/gap' },
        ],
      },
      { env: { TOLLGATE_PROXY_LISTEN: ':6000', TOLLGATE_PROXY_CACHE_MAX_BYTES: '1GB', TOLLGATE_PROXY_DATA_DIR: 'rel/data' }, baseDir: '/etc/tollgate' },
    );
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 6000 });
    expect(config.cache.maxBytes).toBe(1e9);
    expect(config.cache.tagTtlSeconds).toBe(60);
    expect(config.dataDir).toBe('/etc/tollgate/rel/data');
    expect(config.upstreams[0]!.ns).toBe('docker.io');
    expect(config.upstreams[0]!.credentials).toEqual({ kind: 'password', username: 'me', passwordEnv: 'HUB_TOKEN' });
    expect(config.upstreams[1]!.oci).toBe('/etc/tollgate/layouts/app');
    expect(config.gate).toEqual({ kind: 'allow-digests', allowDigests: { 'hub/library/alpine': ['sha256:' + 'b'.repeat(64)] } });
    expect(normalizeProxyConfig({ ...base, gate: 'allow-all' }, { env: {} }).gate).toEqual({ kind: 'allow-all' });
  });

  it('reads upstreams[].redirectHosts (host, host:port, *.domain) and refuses what is not a host', () => {
    const hosts = ['minio.lab.internal:9000', '*.blob.core.windows.net', '10.0.0.7', '[fd00::7]:9000', 'CDN.Example.com'];
    const config = normalizeProxyConfig({ ...base, upstreams: [{ ...base.upstreams[0], redirectHosts: hosts }] }, { env: {} });
    expect(config.upstreams[0]!.redirectHosts).toEqual([...hosts.slice(0, 4), 'cdn.example.com']);
    expect(normalizeProxyConfig(base, { env: {} }).upstreams[0]!.redirectHosts).toBeUndefined();
    const at = (redirectHosts: unknown) => ({ ...base, upstreams: [{ ...base.upstreams[0], redirectHosts }] });
    invalid(at('minio.internal'), /upstreams\[0\]\.redirectHosts must be a list of host names/);
    invalid(at(['ok.example.com', 'https://minio.internal']), /upstreams\[0\]\.redirectHosts\[1\] "https:\/\/minio\.internal" is not a host name/);
    invalid(at(['*.com']), /redirectHosts\[0\] "\*\.com" would trust a whole top-level domain/);
    invalid(at(['*']), /redirectHosts\[0\]/);
    invalid(at(['*.10.0.0.1']), /wildcard on an IP address/);
    invalid(at(['user@minio']), /redirectHosts\[0\]/);
    invalid(at([42]), /redirectHosts\[0\] must be a host name string/);
    invalid(at(Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)), /more than 100 hosts/);
    invalid({ ...base, upstreams: [{ name: 'l', oci: '/x', default: true, redirectHosts: ['a.example.com'] }] }, /oci layout; credentials, tls and redirectHosts/);
  });

  it('never accepts arbitrary junk silently (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          const config = normalizeProxyConfig(value, { env: {} });
          expect(config.upstreams.length).toBeGreaterThan(0);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('INVALID_CONFIG');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('YAML loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-proxy-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file with paths relative to it', async () => {
    const file = join(dir, 'tollgate.yaml');
    await writeFile(file, 'listen: 127.0.0.1:5001\ndataDir: ./cache\nupstreams:\n  - name: local\n    oci: ./layout\n    default: true\ngate: allow-all\n');
    const config = await loadProxyConfig(file, { env: {} });
    expect(config.dataDir).toBe(join(dir, 'cache'));
    expect(config.upstreams[0]!.oci).toBe(join(dir, 'layout'));
  });

  it('refuses duplicate keys, bad YAML, a missing file and an oversize file', async () => {
    expect(() => parseProxyConfig('dataDir: a\ndataDir: b\nupstreams: []\n')).toThrow(/not valid YAML/);
    expect(() => parseProxyConfig('dataDir: [unclosed\n')).toThrow(/not valid YAML/);
    expect(() => parseProxyConfig('a: &x [*x]\n')).toThrow(/INVALID_CONFIG|proxy config/);
    await expect(loadProxyConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read the proxy config/);
    const big = join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(1024 * 1024 + 10)}\n`);
    await expect(loadProxyConfig(big)).rejects.toThrow(/over 1 MiB/);
  });

  it('bounds alias expansion (billion laughs)', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    expect(() => parseProxyConfig(bomb)).toThrow(/proxy config/);
  });
});
