import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { digestOf, isTollgateError, MAX_MANIFEST_BYTES, MediaType, parseDescriptor, parseManifest, TollgateError, type ErrorCode } from '@tollgate/core';

const enc = (s: string) => new TextEncoder().encode(s);
const d = (c: string) => `sha256:${c.repeat(64)}`;

const OCI_MANIFEST = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${d('a')}", "size": 1470 },
  "layers": [
    { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "${d('b')}", "size": 3370706 },
    { "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": "${d('c')}", "size": 120,
      "annotations": { "org.opencontainers.image.title": "x" } }
  ],
  "annotations": { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" }
}`;

const OCI_MANIFEST_NO_TYPE = `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${d('a')}","size":2},"layers":[]}`;

const OCI_ARTIFACT = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
  "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
  "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},
  "layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"${d('e')}","size":10}],
  "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${d('f')}","size":500}}`;

const DOCKER_MANIFEST = `{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "${d('1')}" },
   "layers": [
      { "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": "${d('2')}" },
      { "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1000, "digest": "${d('3')}",
        "urls": ["https://example.com/layer"] }
   ]
}`;

const OCI_INDEX = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "${d('4')}", "size": 7143,
      "platform": { "architecture": "amd64", "os": "linux" } },
    { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "${d('5')}", "size": 7682,
      "platform": { "architecture": "arm64", "os": "linux", "variant": "v8", "os.features": ["x"], "features": ["y"] } },
    { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "${d('6')}", "size": 566,
      "annotations": { "vnd.docker.reference.digest": "${d('4')}", "vnd.docker.reference.type": "attestation-manifest" },
      "platform": { "architecture": "unknown", "os": "unknown" } }
  ]
}`;

const OCI_INDEX_NO_TYPE = `{"schemaVersion":2,"manifests":[]}`;

const DOCKER_LIST = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    { "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 528, "digest": "${d('7')}",
      "platform": { "architecture": "windows-ish", "os": "windows", "os.version": "10.0.17763.5458" } }
  ]
}`;

function refusal(json: string | Uint8Array, declared: string | undefined): TollgateError {
  try {
    parseManifest(typeof json === 'string' ? enc(json) : json, declared, 'manifest m');
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    return error as TollgateError;
  }
  throw new Error('expected the manifest to be refused');
}

function expectRefused(json: string | Uint8Array, declared: string | undefined, code: ErrorCode, pattern: RegExp): void {
  const error = refusal(json, declared);
  expect(error.code, error.message).toBe(code);
  expect(error.message).toMatch(pattern);
}

describe('parseManifest: valid documents', () => {
  it('reads an OCI image manifest', () => {
    const parsed = parseManifest(enc(OCI_MANIFEST), MediaType.OciManifest);
    expect(parsed.kind).toBe('image');
    if (parsed.kind !== 'image') return;
    expect(parsed.mediaType).toBe(MediaType.OciManifest);
    expect(parsed.manifest.config.digest).toBe(d('a'));
    expect(parsed.manifest.layers.map((l) => l.size)).toEqual([3370706, 120]);
    expect(parsed.manifest.layers[1]!.annotations).toEqual({ 'org.opencontainers.image.title': 'x' });
    expect(parsed.manifest.annotations).toEqual({ 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
  });

  it('reads a Docker schema 2 manifest with foreign-layer urls, whatever the Content-Type parameters and case', () => {
    const parsed = parseManifest(enc(DOCKER_MANIFEST), 'Application/VND.docker.distribution.manifest.v2+json; charset=utf-8');
    expect(parsed.kind === 'image' && parsed.manifest.layers[1]!.urls).toEqual(['https://example.com/layer']);
    expect(parsed.mediaType).toBe(MediaType.DockerManifest);
  });

  it('reads an OCI 1.1 artifact manifest with artifactType, subject and embedded data', () => {
    const parsed = parseManifest(enc(OCI_ARTIFACT), undefined);
    expect(parsed.kind).toBe('image');
    if (parsed.kind !== 'image') return;
    expect(parsed.manifest.artifactType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(parsed.manifest.subject?.digest).toBe(d('f'));
    expect(parsed.manifest.config.data).toBe('e30=');
  });

  it('reads OCI and Docker indexes with platforms', () => {
    const oci = parseManifest(enc(OCI_INDEX), MediaType.OciIndex);
    expect(oci.kind).toBe('index');
    if (oci.kind !== 'index') return;
    expect(oci.index.manifests[1]!.platform).toEqual({ architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'], features: ['y'] });
    const docker = parseManifest(enc(DOCKER_LIST), MediaType.DockerManifestList);
    expect(docker.kind === 'index' && docker.index.manifests[0]!.platform?.['os.version']).toBe('10.0.17763.5458');
  });

  it('uses the body type when the declared type is absent or generic, and the shape when neither says', () => {
    for (const declared of [undefined, '', 'application/json', 'application/octet-stream', 'text/plain; charset=utf-8']) {
      expect(parseManifest(enc(DOCKER_MANIFEST), declared).mediaType).toBe(MediaType.DockerManifest);
      expect(parseManifest(enc(OCI_MANIFEST_NO_TYPE), declared).mediaType).toBe(MediaType.OciManifest);
      expect(parseManifest(enc(OCI_INDEX_NO_TYPE), declared)).toMatchObject({ kind: 'index', mediaType: MediaType.OciIndex });
    }
  });

  it('accepts an OCI document without mediaType when the declared type fits its shape', () => {
    expect(parseManifest(enc(OCI_MANIFEST_NO_TYPE), MediaType.OciManifest).kind).toBe('image');
    expect(parseManifest(enc(OCI_INDEX_NO_TYPE), MediaType.OciIndex).kind).toBe('index');
  });

  it('ignores unknown fields and returns only known ones', () => {
    const parsed = parseManifest(enc(OCI_MANIFEST_NO_TYPE.replace('"layers"', '"extra":{"x":[1]},"layers"')), undefined);
    expect(parsed.kind === 'image' && Object.keys(parsed.manifest)).toEqual(['schemaVersion', 'config', 'layers']);
  });

  it('accepts a manifest of exactly 4 MiB', () => {
    const padded = OCI_MANIFEST_NO_TYPE.slice(0, -1) + ',"annotations":{"pad":"' + 'x'.repeat(MAX_MANIFEST_BYTES) + '"}}';
    const cut = padded.length - MAX_MANIFEST_BYTES;
    const exact = padded.replace('x'.repeat(cut), '');
    expect(exact.length).toBe(MAX_MANIFEST_BYTES);
    expect(parseManifest(enc(exact), undefined).kind).toBe('image');
  });
});

describe('parseManifest: refusals', () => {
  it('refuses more than 4 MiB unread', () => {
    expectRefused(new Uint8Array(MAX_MANIFEST_BYTES + 1), MediaType.OciManifest, 'MANIFEST_TOO_LARGE', /4194305 bytes, more than the 4194304 bytes \(4 MiB\)/);
  });

  it('refuses Docker schema 1, by Content-Type or by body', () => {
    for (const t of ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']) {
      expectRefused('{"schemaVersion":1}', t, 'UNSUPPORTED_MEDIA_TYPE', /schema 1 is not supported/);
    }
    expectRefused('{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}', undefined, 'UNSUPPORTED_MEDIA_TYPE', /schema 1 is not supported/);
    expectRefused(
      '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}',
      'application/json',
      'UNSUPPORTED_MEDIA_TYPE',
      /schema 1/,
    );
  });

  it('refuses unknown declared and body media types', () => {
    expectRefused(OCI_MANIFEST, 'application/vnd.oci.image.config.v1+json', 'UNSUPPORTED_MEDIA_TYPE', /not an OCI or Docker schema 2 image manifest or index/);
    expectRefused(OCI_MANIFEST, 'text/html', 'UNSUPPORTED_MEDIA_TYPE', /"text\/html"/);
    expectRefused(
      OCI_MANIFEST.replace('application/vnd.oci.image.manifest.v1+json', 'application/vnd.example+json'),
      undefined,
      'UNSUPPORTED_MEDIA_TYPE',
      /mediaType "application\/vnd.example\+json"/,
    );
  });

  it('refuses a body mediaType that disagrees with the declared one, naming both', () => {
    expectRefused(OCI_MANIFEST, MediaType.DockerManifest, 'INVALID_MANIFEST', /body says mediaType "application\/vnd.oci.image.manifest.v1\+json" but it was served as application\/vnd.docker.distribution.manifest.v2\+json/);
    expectRefused(OCI_INDEX, MediaType.OciManifest, 'INVALID_MANIFEST', /but it was served as/);
    expectRefused(DOCKER_MANIFEST, MediaType.OciManifest, 'INVALID_MANIFEST', /but it was served as/);
  });

  it('refuses manifest/index confusion', () => {
    const both = OCI_MANIFEST_NO_TYPE.replace('"layers"', '"manifests":[],"layers"');
    for (const declared of [undefined, MediaType.OciManifest, MediaType.OciIndex]) {
      expectRefused(both, declared, 'INVALID_MANIFEST', /has both "manifests" \(an index\) and "config"\/"layers"/);
    }
    expectRefused(`{"schemaVersion":2,"manifests":[],"layers":[]}`, undefined, 'INVALID_MANIFEST', /both/);
    expectRefused(OCI_INDEX_NO_TYPE, MediaType.OciManifest, 'INVALID_MANIFEST', /typed application\/vnd.oci.image.manifest.v1\+json \(an image manifest\) but has "manifests"/);
    expectRefused(OCI_MANIFEST_NO_TYPE, MediaType.DockerManifestList, 'INVALID_MANIFEST', /Docker schema 2 requires|but has "config"/);
    expectRefused(OCI_MANIFEST_NO_TYPE, MediaType.OciIndex, 'INVALID_MANIFEST', /\(an index\) but has "config"\/"layers"/);
  });

  it('refuses a Docker-typed document without a body mediaType', () => {
    expectRefused(OCI_MANIFEST_NO_TYPE, MediaType.DockerManifest, 'INVALID_MANIFEST', /Docker schema 2 requires/);
  });

  it('refuses documents that are neither manifest nor index', () => {
    expectRefused('{"schemaVersion":2}', undefined, 'INVALID_MANIFEST', /neither an image manifest .* nor an index/);
    expectRefused('[]', undefined, 'INVALID_MANIFEST', /the document must be an object, got an array/);
    expectRefused('"x"', undefined, 'INVALID_MANIFEST', /must be an object/);
  });

  it.each([
    ['{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}', /schemaVersion must be 2, got nothing/],
    ['{"schemaVersion":"2","manifests":[]}', /schemaVersion must be 2, got "2"/],
    ['{"schemaVersion":3,"manifests":[]}', /schemaVersion must be 2, got 3/],
    ['{"schemaVersion":2.0000001,"manifests":[]}', /schemaVersion must be 2/],
  ])('refuses schemaVersion in %s', (json, pattern) => expectRefused(json, undefined, 'INVALID_MANIFEST', pattern));

  it('refuses strict-JSON violations (duplicate keys, BOM, trailing garbage, bad UTF-8)', () => {
    expectRefused(OCI_MANIFEST.replace('"schemaVersion": 2,', '"schemaVersion": 2, "schemaVersion": 2,'), undefined, 'INVALID_JSON', /duplicate key "schemaVersion"/);
    expectRefused(
      OCI_MANIFEST.replace('"size": 1470', '"size": 1470, "digest": "' + d('9') + '"'),
      undefined,
      'INVALID_JSON',
      /manifest m: duplicate key "digest" at \$\.config/,
    );
    expectRefused(new Uint8Array([0xef, 0xbb, 0xbf, ...enc(OCI_MANIFEST)]), undefined, 'INVALID_JSON', /byte order mark/);
    expectRefused(OCI_MANIFEST + 'x', undefined, 'INVALID_JSON', /unexpected text after/);
    const bad = enc(OCI_MANIFEST);
    bad[bad.length - 5] = 0xc3;
    expectRefused(bad, undefined, 'INVALID_JSON', /UTF-8/);
  });

  const layer = (extra: string) => OCI_MANIFEST_NO_TYPE.replace('"layers":[]', `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${d('b')}","size":1},{${extra}}]`);
  const good = `"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${d('b')}","size":1`;
  it.each([
    [`"digest":"${d('b')}","size":1`, /layers\[1\]\.mediaType must be a string, got nothing/],
    [`"mediaType":"","digest":"${d('b')}","size":1`, /layers\[1\]\.mediaType must be a media type of the form type\/subtype/],
    [`"mediaType":"tar","digest":"${d('b')}","size":1`, /form type\/subtype/],
    [`"mediaType":"a/b; x=y","digest":"${d('b')}","size":1`, /form type\/subtype/],
    [`"mediaType":7,"digest":"${d('b')}","size":1`, /mediaType must be a string, got number 7/],
    [`"mediaType":"a/b","size":1`, /layers\[1\]\.digest must be a string/],
    [`"mediaType":"a/b","digest":"sha256:abc","size":1`, /layers\[1\]\.digest.*sha256 needs 64/],
    [`"mediaType":"a/b","digest":"${d('B')}","size":1`, /lowercase hex/],
    [`"mediaType":"a/b","digest":"sha256:../../etc/passwd","size":1`, /layers\[1\]\.digest/],
    [`"mediaType":"a/b","digest":"md5:${'a'.repeat(32)}","size":1`, /unsupported algorithm/],
    [`"mediaType":"a/b","digest":"${d('b')}","size":-1`, /layers\[1\]\.size must be a non-negative integer, got number -1/],
    [`"mediaType":"a/b","digest":"${d('b')}","size":1.5`, /size must be a non-negative integer/],
    [`"mediaType":"a/b","digest":"${d('b')}","size":"1"`, /size must be a non-negative integer, got the string "1"/],
    [`"mediaType":"a/b","digest":"${d('b')}","size":9007199254740992`, /size must be a non-negative integer/],
    [`"mediaType":"a/b","digest":"${d('b')}","size":1e400`, /size must be a non-negative integer/],
    [`"mediaType":"a/b","digest":"${d('b')}"`, /size must be a non-negative integer, got nothing/],
    [`${good},"urls":"https://x"`, /layers\[1\]\.urls must be an array/],
    [`${good},"urls":[1]`, /layers\[1\]\.urls\[0\] must be a string/],
    [`${good},"annotations":[]`, /layers\[1\]\.annotations must be an object/],
    [`${good},"annotations":{"a":1}`, /layers\[1\]\.annotations\.a must be a string/],
    [`${good},"annotations":{"a.b":null}`, /layers\[1\]\.annotations\["a\.b"\] must be a string, got null/],
    [`${good},"platform":{"os":"linux"}`, /layers\[1\]\.platform\.architecture must be a string/],
    [`${good},"platform":{"architecture":"amd64","os":"linux","os.features":"x"}`, /platform\["os\.features"\] must be an array/],
    [`${good},"artifactType":"nope"`, /artifactType must be a media type/],
    [`${good},"data":"!!"`, /layers\[1\]\.data must be standard base64/],
    [`${good},"data":"YWI="`, /data holds 2 bytes but layers\[1\]\.size says 1/],
    [`${good},"data":"YQ=="`, /data does not match layers\[1\]\.digest/],
  ])('refuses a bad descriptor {%s}', (extra, pattern) => {
    expectRefused(layer(extra), undefined, 'INVALID_MANIFEST', pattern);
  });

  it.each([
    ['"config":null', /config must be an object, got null/],
    ['"layers":{}', /layers must be an array, got an object/],
    ['"subject":"x"', /subject must be an object/],
    ['"annotations":{"k":true}', /annotations\.k must be a string/],
    ['"artifactType":5', /artifactType must be a string/],
    ['"mediaType":5', /mediaType must be a string/],
  ])('refuses a mistyped top-level field %s', (field, pattern) => {
    const key = field.slice(1, field.indexOf('"', 1));
    const doc = JSON.parse(OCI_MANIFEST_NO_TYPE) as Record<string, unknown>;
    delete doc[key];
    const json = JSON.stringify(doc).slice(0, -1) + ',' + field + '}';
    expectRefused(json, undefined, 'INVALID_MANIFEST', pattern);
  });

  it('checks an index entry as a descriptor', () => {
    expectRefused(OCI_INDEX.replace(`"size": 7143`, `"size": -7143`), undefined, 'INVALID_MANIFEST', /manifests\[0\]\.size must be a non-negative integer/);
    expectRefused(OCI_INDEX.replace(`"os": "linux" } },`, `"os": 1 } },`), undefined, 'INVALID_MANIFEST', /manifests\[0\]\.platform\.os must be a string/);
  });

  it('never silently reads a truncated manifest or index as something else', () => {
    const documents = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST, OCI_ARTIFACT, OCI_MANIFEST_NO_TYPE].map(enc);
    fc.assert(
      fc.property(fc.constantFrom(...documents), fc.nat(), fc.constantFrom(undefined, MediaType.OciManifest, MediaType.OciIndex, 'application/json'), (bytes, n, declared) => {
        const cut = bytes.subarray(0, n % bytes.length);
        try {
          parseManifest(cut, declared);
        } catch (error) {
          expect(isTollgateError(error), String(error)).toBe(true);
          return;
        }
        throw new Error(`a truncation to ${cut.length} of ${bytes.length} bytes parsed`);
      }),
      { numRuns: 1000 },
    );
  });

  it('throws only TollgateErrors on mutated and arbitrary bytes', () => {
    const base = enc(OCI_INDEX);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 64 }), (edits, junk) => {
        const bytes = Uint8Array.from(base);
        for (const [at, value] of edits) bytes[at] = value;
        for (const input of [bytes, junk]) {
          try {
            const parsed = parseManifest(input, undefined);
            expect(digestOf(input)).toMatch(/^sha256:/);
            expect(parsed.kind).toMatch(/^(image|index)$/);
          } catch (error) {
            expect(isTollgateError(error), String(error)).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseDescriptor', () => {
  it('validates and copies a descriptor, dropping unknown fields', () => {
    const desc = parseDescriptor({ mediaType: 'a/b', digest: d('0'), size: 0, extra: 1, platform: { os: 'linux', architecture: 'amd64', x: 1 } }, 'manifests[0]');
    expect(desc).toEqual({ mediaType: 'a/b', digest: d('0'), size: 0, platform: { os: 'linux', architecture: 'amd64' } });
  });
  it('names the path and what in its errors', () => {
    expect(() => parseDescriptor({ mediaType: 'a/b', digest: d('0'), size: -1 }, 'manifests[3]', 'index.json')).toThrow(
      'index.json: manifests[3].size must be a non-negative integer, got number -1',
    );
    expect(() => parseDescriptor(null, 'manifests[3]')).toThrow(/manifests\[3\] must be an object, got null/);
  });
  it('does not let __proto__ annotations reach prototypes', () => {
    const value = JSON.parse(`{"mediaType":"a/b","digest":"${d('0')}","size":0,"annotations":{"__proto__":"x"}}`);
    const desc = parseDescriptor(value, 'd');
    expect(Object.hasOwn(desc.annotations!, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(desc.annotations)).toBe(Object.prototype);
  });
});
