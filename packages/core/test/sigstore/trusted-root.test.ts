import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTollgateError, loadTrustedRoot, MAX_TRUSTED_ROOT_BYTES, publicGoodTrustedRoot } from '@tollgate/core';
import { CONFORMANCE, CONFORMANCE_DIR, FIXTURES } from './conformance-cases.js';
import { needsShared } from '../../../../test/support/shared.js';
import { publicGoodRootText } from './public-good-root.js';

const goodText = publicGoodRootText();
const good = () => JSON.parse(goodText) as Record<string, any>;

function rejects(input: string | Uint8Array, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    loadTrustedRoot(input);
  } catch (error) {
    caught = error;
  }
  expect(isTollgateError(caught), String(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message).not.toContain('\n');
}

describe('loadTrustedRoot', () => {
  it('loads the public-good root with its Fulcio CAs, Rekor v1 and v2 logs, CT logs and TSA', () => {
    const root = loadTrustedRoot(goodText);
    expect(root.tlogs.map((t) => t.baseUrl)).toEqual(['https://rekor.sigstore.dev', 'https://log2025-1.rekor.sigstore.dev']);
    expect(root.certificateAuthorities.length).toBe(2);
    expect(root.timestampAuthorities.length).toBe(1);
  });

  it('publicGoodTrustedRoot() is the root embedded in @sigstore/tuf, equal to the fixture', needsShared('fixtures/sigstore-conformance'), () => {
    const embedded = publicGoodTrustedRoot();
    expect(embedded).toEqual(loadTrustedRoot(readFileSync(join(FIXTURES, 'sigstore-conformance', 'trusted_root.public-good.json'))));
  });

  it('accepts an open (null) validity end, as protobuf JSON writes it', CONFORMANCE, () => {
    expect(() => loadTrustedRoot(readFileSync(join(CONFORMANCE_DIR, 'trust-root-tlog-validity-end-inclusive', 'trusted_root.json')))).not.toThrow();
  });

  it('refuses a tlog key without validFor.start (upstream treats it as unbounded)', CONFORMANCE, () => {
    rejects(readFileSync(join(CONFORMANCE_DIR, 'trust-root-tlog-missing-validity-start_fail', 'trusted_root.json')), 'INVALID_TRUSTED_ROOT', /tlogs\[1\]\.publicKey\.validFor\.start is missing/);
  });

  it('refuses a CA without validFor.start', () => {
    const root = good();
    delete root.certificateAuthorities[1].validFor.start;
    rejects(JSON.stringify(root), 'INVALID_TRUSTED_ROOT', /certificateAuthorities\[1\]\.validFor\.start is missing/);
  });

  it('refuses a TSA without validFor', () => {
    const root = good();
    delete root.timestampAuthorities[0].validFor;
    rejects(JSON.stringify(root), 'INVALID_TRUSTED_ROOT', /timestampAuthorities\[0\]\.validFor\.start is missing/);
  });

  it('refuses a tlog key that does not parse', () => {
    const root = good();
    root.tlogs[0].publicKey.rawBytes = Buffer.from('not a key at all').toString('base64');
    rejects(JSON.stringify(root), 'INVALID_TRUSTED_ROOT', /tlogs\[0\]\.publicKey\.rawBytes is not a public key that parses/);
  });

  it('refuses a ctlog key that is not base64', () => {
    const root = good();
    root.ctlogs[0].publicKey.rawBytes = '%%%';
    rejects(JSON.stringify(root), 'INVALID_TRUSTED_ROOT', /ctlogs\[0\]\.publicKey\.rawBytes/);
  });

  it('refuses a CA chain certificate that does not parse, and an empty chain', () => {
    const root = good();
    root.certificateAuthorities[0].certChain.certificates[0].rawBytes = Buffer.from('garbage').toString('base64');
    rejects(JSON.stringify(root), 'INVALID_TRUSTED_ROOT', /certificates\[0\] is not an X.509 certificate/);
    const empty = good();
    empty.certificateAuthorities[0].certChain.certificates = [];
    rejects(JSON.stringify(empty), 'INVALID_TRUSTED_ROOT', /certChain\.certificates is missing or empty/);
  });

  it('refuses bad times, a validity that ends before it starts, a wrong media type, an empty root', () => {
    const time = good();
    time.tlogs[0].publicKey.validFor.start = 'yesterday';
    rejects(JSON.stringify(time), 'INVALID_TRUSTED_ROOT', /not an RFC 3339 time/);
    const backwards = good();
    backwards.certificateAuthorities[0].validFor.end = '2000-01-01T00:00:00Z';
    rejects(JSON.stringify(backwards), 'INVALID_TRUSTED_ROOT', /ends before it starts/);
    rejects(JSON.stringify({ ...good(), mediaType: 'application/json' }), 'INVALID_TRUSTED_ROOT', /mediaType/);
    rejects(JSON.stringify({ mediaType: good().mediaType }), 'INVALID_TRUSTED_ROOT', /nothing could be verified/);
    rejects(JSON.stringify({ ...good(), tlogs: {} }), 'INVALID_TRUSTED_ROOT', /tlogs is not an array/);
  });

  it('refuses garbage, truncation, duplicate keys and oversize input', () => {
    rejects('garbage', 'INVALID_JSON', /trusted root/);
    rejects(new Uint8Array([0xff, 0xfe, 0x00]), 'INVALID_JSON', /UTF-8/);
    rejects(goodText.slice(0, goodText.length / 2), 'INVALID_JSON', /trusted root/);
    rejects('[]', 'INVALID_TRUSTED_ROOT', /not a JSON object/);
    rejects(`{"mediaType":"x","mediaType":"y"}`, 'INVALID_JSON', /duplicate/i);
    rejects(' '.repeat(MAX_TRUSTED_ROOT_BYTES + 1), 'SIZE_LIMIT', /trusted root/);
  });

  it('every truncation of a valid root is refused with a TollgateError', () => {
    for (let cut = 0; cut < goodText.length; cut += 97) {
      expect(() => loadTrustedRoot(goodText.slice(0, cut))).toThrow();
    }
  });

  it('arbitrary JSON never crashes the loader: it loads or throws a TollgateError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          loadTrustedRoot(JSON.stringify(value) ?? 'null');
        } catch (error) {
          expect(isTollgateError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated real root loads or is refused with a TollgateError, never a raw exception', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: goodText.length - 1 }), fc.integer({ min: 32, max: 126 }), (at, char) => {
        const mutated = goodText.slice(0, at) + String.fromCharCode(char) + goodText.slice(at + 1);
        try {
          loadTrustedRoot(mutated);
        } catch (error) {
          expect(isTollgateError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
