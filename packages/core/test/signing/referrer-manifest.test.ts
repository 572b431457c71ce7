import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildReferrerManifest, type Descriptor } from '@tollgate/core';

const bundle = new TextEncoder().encode('{"bundle":true}');
const bundleDigest = `sha256:${createHash('sha256').update(bundle).digest('hex')}`;
const subject: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 123, annotations: { dropped: 'yes' } };
// 2026-01-01T00:00:00.999Z: the stamp keeps whole seconds, rounded down, as cosign's.
const NOW = Date.UTC(2026, 0, 1, 0, 0, 0, 999);

describe('buildReferrerManifest', () => {
  it('stamps the injected clock’s time, in whole seconds, and is byte-for-byte what cosign v3 pushes', () => {
    const built = buildReferrerManifest(bundle, subject, { content: 'dsse-envelope', predicateType: 'https://sigstore.dev/cosign/sign/v1', now: () => NOW });
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
      '"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",' +
      '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},' +
      `"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"${bundleDigest}","size":15,"annotations":{"org.opencontainers.image.title":"${bundleDigest.replace(':', '-')}.sigstore.json"}}],` +
      `"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:${'b'.repeat(64)}","size":123},` +
      '"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2026-01-01T00:00:00Z"}}';
    expect(new TextDecoder().decode(built.bytes)).toBe(expected);
    const digest = `sha256:${createHash('sha256').update(expected).digest('hex')}`;
    expect(built.digest).toBe(digest);
    expect(built.bundleDigest).toBe(bundleDigest);
    expect(built.descriptor).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: expected.length,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1', 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
  });

  it('the same inputs and clock give the same manifest; another second gives another', () => {
    const at = (ms: number) => buildReferrerManifest(bundle, subject, { content: 'message-signature', now: () => ms }).digest;
    expect(at(NOW)).toBe(at(NOW - 999));
    expect(at(NOW + 1)).not.toBe(at(NOW));
  });

  it('an explicit created wins, and the clock is not read', () => {
    const built = buildReferrerManifest(bundle, subject, { content: 'dsse-envelope', created: '2020-02-02T02:02:02Z', now: () => { throw new Error('clock read'); } });
    expect(built.descriptor.annotations?.['org.opencontainers.image.created']).toBe('2020-02-02T02:02:02Z');
  });

  it('defaults to the real clock', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const created = buildReferrerManifest(bundle, subject, { content: 'dsse-envelope' }).descriptor.annotations?.['org.opencontainers.image.created'];
    const after = Date.now();
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(created!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(created!)).toBeLessThanOrEqual(after);
  });
});
