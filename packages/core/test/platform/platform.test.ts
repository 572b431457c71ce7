import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  isTollgateError,
  normalizePlatform,
  parseManifest,
  parsePlatform,
  platformMatches,
  selectManifest,
  type Descriptor,
  type IndexManifest,
  type Platform,
} from '@tollgate/core';

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const p = (os: string, architecture: string, variant?: string): Platform => (variant ? { os, architecture, variant } : { os, architecture });

describe('parsePlatform / formatPlatform', () => {
  it.each([
    ['linux/amd64', p('linux', 'amd64')],
    ['linux/arm64/v8', p('linux', 'arm64', 'v8')],
    ['Linux/ARM/v7', p('linux', 'arm', 'v7')],
    ['windows/amd64', p('windows', 'amd64')],
    ['linux/x86_64', p('linux', 'amd64')],
    ['linux/aarch64', p('linux', 'arm64')],
    ['linux/armhf', p('linux', 'arm', 'v7')],
    ['linux/i386', p('linux', '386')],
    ['linux/ppc64le', p('linux', 'ppc64le')],
  ])('%s', (text, expected) => {
    expect(parsePlatform(text)).toEqual(expected);
  });

  it('formats back', () => {
    expect(formatPlatform(parsePlatform('linux/arm64/v8'))).toBe('linux/arm64/v8');
    expect(formatPlatform(p('linux', 'amd64'))).toBe('linux/amd64');
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_.-]{1,10}\/[a-z0-9_.-]{1,10}(\/[a-z0-9_.-]{1,5})?$/), (text) => {
        fc.pre(!/\/(x86_64|x86-64|aarch64|i386|armhf|armel)(\/|$)/.test(text));
        expect(formatPlatform(parsePlatform(text))).toBe(text);
      }),
    );
  });

  it.each([
    ['', /1 part/],
    ['linux', /1 part/],
    ['linux/', /empty part/],
    ['/amd64', /empty part/],
    ['linux/amd64/v8/x', /4 parts/],
    ['linux//v8', /empty part/],
    ['linux/amd 64', /may hold only/],
    ['linux/amd64\n', /may hold only/],
    ['linux/$(id)', /may hold only/],
    ['a/'.repeat(200), /longer than 256/],
  ])('refuses %j with a clear message', (text, pattern) => {
    let caught: unknown;
    try {
      parsePlatform(text);
    } catch (error) {
      caught = error;
    }
    expect(isTollgateError(caught, 'INVALID_PLATFORM')).toBe(true);
    expect((caught as Error).message).toMatch(pattern);
    expect((caught as Error).message).toMatch(/expected os\/arch\[\/variant\]/);
  });

  it('throws only INVALID_PLATFORM on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          parsePlatform(text);
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_PLATFORM')).toBe(true);
        }
      }),
    );
  });
});

describe('normalizePlatform and platformMatches', () => {
  it('normalises as containerd does', () => {
    expect(normalizePlatform(p('linux', 'arm64', 'v8'))).toEqual(p('linux', 'arm64'));
    expect(normalizePlatform(p('linux', 'aarch64'))).toEqual(p('linux', 'arm64'));
    expect(normalizePlatform(p('linux', 'arm'))).toEqual(p('linux', 'arm', 'v7'));
    expect(normalizePlatform(p('linux', 'arm', '6'))).toEqual(p('linux', 'arm', 'v6'));
    expect(normalizePlatform(p('linux', 'amd64', 'v1'))).toEqual(p('linux', 'amd64'));
    expect(normalizePlatform(p('Linux', 'X86_64'))).toEqual(p('linux', 'amd64'));
    expect(normalizePlatform(p('macos', 'arm64'))).toEqual(p('darwin', 'arm64'));
    expect(normalizePlatform(p('linux', 'i386', 'x'))).toEqual(p('linux', '386'));
  });

  it.each([
    [p('linux', 'arm64'), p('linux', 'arm64', 'v8'), true],
    [p('linux', 'arm64', 'v8'), p('linux', 'arm64'), true],
    [p('linux', 'arm'), p('linux', 'arm', 'v7'), true],
    [p('linux', 'arm', 'v7'), p('linux', 'arm'), true],
    [p('linux', 'amd64'), p('linux', 'amd64', 'v1'), true],
    [p('linux', 'amd64'), p('linux', 'x86_64'), true],
    [p('linux', 'amd64'), p('linux', 'amd64', 'v2'), false],
    [p('linux', 'arm', 'v7'), p('linux', 'arm', 'v6'), false],
    [p('linux', 'arm', 'v6'), p('linux', 'arm', 'v7'), false],
    [p('linux', 'amd64'), p('linux', '386'), false],
    [p('linux', 'arm64'), p('linux', 'arm', 'v7'), false],
    [p('linux', 'amd64'), p('windows', 'amd64'), false],
    [p('linux', 'arm64'), p('linux', 'arm64', 'v9'), false],
  ])('%j vs %j → %s', (wanted, candidate, expected) => {
    expect(platformMatches(wanted, candidate)).toBe(expected);
  });

  it('compares os.version only when the wanted platform names one', () => {
    const win = { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5458' };
    expect(platformMatches(p('windows', 'amd64'), win)).toBe(true);
    expect(platformMatches(win, win)).toBe(true);
    expect(platformMatches({ ...win, 'os.version': '10.0.20348.1' }, win)).toBe(false);
  });

  it('lists compatible older variants of the same architecture, best first, never another architecture', () => {
    const fmt = (w: Platform) => compatiblePlatforms(w).map(formatPlatform);
    expect(fmt(p('linux', 'amd64', 'v3'))).toEqual(['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64']);
    expect(fmt(p('linux', 'amd64'))).toEqual(['linux/amd64']);
    expect(fmt(p('linux', 'arm', 'v7'))).toEqual(['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(fmt(p('linux', 'arm64'))).toEqual(['linux/arm64']);
    expect(fmt(p('linux', 'arm64', 'v8.2'))).toEqual(['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64']);
    expect(fmt(p('linux', 'arm64', 'v9'))).toEqual(['linux/arm64/v9', 'linux/arm64/v8.5', 'linux/arm64/v8.4', 'linux/arm64/v8.3', 'linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64']);
    expect(fmt(p('linux', 's390x'))).toEqual(['linux/s390x']);
  });
});

describe('hostPlatform', () => {
  it('maps Node architecture names to OCI ones', () => {
    const host = hostPlatform();
    expect(host.os).toBe('linux');
    const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
    expect(host.architecture).toBe(expected[process.arch] ?? process.arch);
    expect(formatPlatform(parsePlatform(formatPlatform(host)))).toBe(formatPlatform(host));
  });
});

function index(...descriptors: Array<Partial<Descriptor> & { platform?: Platform }>): IndexManifest {
  return {
    schemaVersion: 2,
    manifests: descriptors.map((x, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(i + 1), size: 100, ...x })),
  };
}

describe('selectManifest', () => {
  const multi = index(
    { platform: p('linux', 'amd64') },
    { platform: p('linux', 'arm64', 'v8') },
    { platform: p('linux', 'arm', 'v6') },
    { platform: p('linux', 'arm', 'v7') },
    { platform: p('unknown', 'unknown'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(1) } },
    { platform: p('linux', 'amd64', 'v3') },
  );

  it('picks the exact match after normalisation', () => {
    expect(selectManifest(multi, parsePlatform('linux/amd64')).digest).toBe(d(1));
    expect(selectManifest(multi, parsePlatform('linux/arm64')).digest).toBe(d(2));
    expect(selectManifest(multi, parsePlatform('linux/aarch64/v8')).digest).toBe(d(2));
    expect(selectManifest(multi, parsePlatform('linux/arm')).digest).toBe(d(4));
    expect(selectManifest(multi, parsePlatform('linux/arm/v6')).digest).toBe(d(3));
    expect(selectManifest(multi, parsePlatform('linux/amd64/v3')).digest).toBe(d(6));
  });

  it('falls back to the closest older variant of the same architecture', () => {
    expect(selectManifest(multi, parsePlatform('linux/amd64/v2')).digest).toBe(d(1));
    expect(selectManifest(multi, parsePlatform('linux/amd64/v4')).digest).toBe(d(6));
    expect(selectManifest(multi, parsePlatform('linux/arm/v8')).digest).toBe(d(4));
    const onlyV5 = index({ platform: p('linux', 'arm', 'v5') });
    expect(selectManifest(onlyV5, parsePlatform('linux/arm/v7')).digest).toBe(d(1));
  });

  it('takes the first of equal matches, as Docker does', () => {
    const twice = index({ platform: p('linux', 'amd64') }, { platform: p('linux', 'amd64', 'v1') });
    expect(selectManifest(twice, parsePlatform('linux/amd64')).digest).toBe(d(1));
  });

  it('never picks an attestation or a descriptor without platform', () => {
    const attest = index(
      { platform: p('linux', 'amd64'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      { platform: p('unknown', 'unknown') },
      {},
    );
    expect(() => selectManifest(attest, parsePlatform('linux/amd64'))).toThrow(/it lists no platform-specific images/);
    expect(() => selectManifest(index(), p('linux', 'amd64'))).toThrow(/no image for linux\/amd64/);
  });

  it('refuses other architectures and lists what there is', () => {
    let caught: unknown;
    try {
      selectManifest(multi, parsePlatform('linux/riscv64'));
    } catch (error) {
      caught = error;
    }
    expect(isTollgateError(caught, 'NO_MATCHING_PLATFORM')).toBe(true);
    expect((caught as Error).message).toBe(
      'no image for linux/riscv64 in the index: it has linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7, linux/amd64/v3; choose one of those with --platform',
    );
    expect(() => selectManifest(index({ platform: p('linux', 'amd64') }), p('linux', '386'))).toThrow(/NO|no image for linux\/386/);
    expect(() => selectManifest(index({ platform: p('linux', 'arm', 'v7') }), p('linux', 'arm64'))).toThrow(/no image for linux\/arm64/);
    expect(() => selectManifest(index({ platform: p('linux', 'arm', 'v7') }), p('linux', 'arm', 'v6'))).toThrow(/no image for linux\/arm\/v6/);
  });

  it('quotes hostile platform strings from the index and bounds the list', () => {
    const many = index({ platform: p('linux\n\u001b[31m', 'x') }, ...Array.from({ length: 30 }, (_, i) => ({ platform: p('linux', `arch${i}`) })));
    let message = '';
    try {
      selectManifest(many, p('linux', 'amd64'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/it has "linux\\n\\u001b\[31m\/x", linux\/arch0, /);
    expect(message).toMatch(/linux\/arch18, and 11 more/);
    expect(message).not.toMatch(/[\n\u001b]/);
  });

  it('works on an index parsed from bytes', () => {
    const json = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d(7), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    });
    const parsed = parseManifest(new TextEncoder().encode(json), undefined);
    if (parsed.kind !== 'index') throw new Error('expected an index');
    expect(selectManifest(parsed.index, parsePlatform('linux/arm64')).digest).toBe(d(7));
  });
});
