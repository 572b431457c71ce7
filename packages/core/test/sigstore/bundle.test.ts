import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleVersion, isTollgateError, MAX_BUNDLE_BYTES, parseBundle } from '@tollgate/core';
import { CONFORMANCE, CONFORMANCE_DIR } from './conformance-cases.js';
import { generateBundles, type GeneratedBundles } from './generated-bundles.js';

const caseBundle = (name: string) => readFileSync(join(CONFORMANCE_DIR, name, 'bundle.sigstore.json'), 'utf8');
// Keyless bundles of our own (Fulcio certificate, Rekor entry, RFC 3161 timestamp) for the checks that need no
// particular producer; the conformance suite's own bundles for the versions and media types other tools write.
let generated: GeneratedBundles;
let v03: string;
beforeAll(async () => {
  generated = await generateBundles();
  v03 = JSON.stringify(generated.timestamped);
});
afterAll(async () => {
  await generated?.stop();
});

function refused(input: string | Uint8Array, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    parseBundle(input);
  } catch (error) {
    caught = error;
  }
  expect(isTollgateError(caught), String(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as Error).message).toMatch(message);
}

describe('parseBundle', () => {
  it.each([
    ['happy-path-v0.1', '0.1'],
    ['happy-path-v0.2', '0.2'],
    ['happy-path-v0.3', '0.3'],
    ['happy-path-v0.3-new-mediaType', '0.3'],
  ])('reads %s as v%s', CONFORMANCE, (name, version) => {
    expect(bundleVersion(parseBundle(caseBundle(name)))).toBe(version);
  });

  it('reads both v0.3 media types', CONFORMANCE, () => {
    expect(parseBundle(caseBundle('happy-path-v0.3')).mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.3');
    expect(parseBundle(caseBundle('happy-path-v0.3-new-mediaType')).mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
  });

  it('refuses garbage, truncation, oversize and duplicate keys', () => {
    refused('garbage', 'INVALID_JSON', /^bundle: /);
    refused(v03.slice(0, 200), 'INVALID_JSON', /^bundle: /);
    refused(Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20), 'SIZE_LIMIT', /more than the 10485760/);
    refused('{"mediaType":"a","mediaType":"b"}', 'INVALID_JSON', /duplicate/i);
    refused('"a string"', 'INVALID_BUNDLE', /not a JSON object/);
  });

  it('refuses an unknown or missing media type', () => {
    const bundle = JSON.parse(v03);
    refused(JSON.stringify({ ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' }), 'INVALID_BUNDLE', /unknown mediaType/);
    refused(JSON.stringify({ ...bundle, mediaType: undefined }), 'INVALID_BUNDLE', /unknown mediaType undefined/);
  });

  it('refuses a bundle without content or verification material', () => {
    const bundle = JSON.parse(v03);
    refused(JSON.stringify({ ...bundle, messageSignature: undefined }), 'INVALID_BUNDLE', /not a valid Sigstore bundle/);
    refused(JSON.stringify({ ...bundle, verificationMaterial: undefined }), 'INVALID_BUNDLE', /not a valid Sigstore bundle/);
  });

  it('refuses a DSSE envelope with two signatures, and with none', () => {
    const bundle = structuredClone(generated.dsse) as any;
    const signature = bundle.dsseEnvelope.signatures[0];
    bundle.dsseEnvelope.signatures = [signature, signature];
    refused(JSON.stringify(bundle), 'INVALID_BUNDLE', /dsseEnvelope\.signatures|DSSE envelope with 2 signatures/);
    bundle.dsseEnvelope.signatures = [];
    refused(JSON.stringify(bundle), 'INVALID_BUNDLE', /./);
  });

  it('refuses a certificate chain that carries its own root', CONFORMANCE, () => {
    refused(caseBundle('bundle-with-root-cert_fail'), 'INVALID_BUNDLE', /self-signed root certificate/);
  });

  it('every truncation of a signed bundle is refused with a TollgateError', () => {
    for (let cut = 0; cut < v03.length; cut += 131) {
      expect(() => parseBundle(v03.slice(0, cut))).toThrow(expect.objectContaining({ name: 'TollgateError' }));
    }
  });

  it('arbitrary JSON, and JSON with a bundle media type, parses or is refused with a TollgateError', () => {
    const mediaType = fc.constantFrom('application/vnd.dev.sigstore.bundle+json;version=0.1', 'application/vnd.dev.sigstore.bundle.v0.3+json');
    fc.assert(
      fc.property(fc.jsonValue(), mediaType, fc.dictionary(fc.string(), fc.jsonValue()), (value, type, extra) => {
        for (const input of [JSON.stringify(value) ?? 'null', JSON.stringify({ ...extra, mediaType: type })]) {
          try {
            parseBundle(input);
          } catch (error) {
            expect(isTollgateError(error), String(error)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
