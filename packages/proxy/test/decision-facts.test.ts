import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manifestAnnotations } from '../src/audit/decision-facts.js';

const manifestWith = (annotations: unknown) => new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, annotations }));

describe('the annotations a verdict event records', () => {
  it('are bounded in count, per key and value, and in all, whatever the upstream sends', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 300 }), fc.oneof(fc.string({ maxLength: 2000 }), fc.integer()), { maxKeys: 40 }), (annotations) => {
        const kept = manifestAnnotations(manifestWith(annotations)) ?? {};
        const entries = Object.entries(kept);
        expect(entries.length).toBeLessThanOrEqual(16);
        let total = 0;
        for (const [key, value] of entries) {
          expect(key.length).toBeLessThanOrEqual(128);
          expect(value.length).toBeLessThanOrEqual(512);
          // What is kept is a prefix of what was sent, never something else.
          expect(Object.entries(annotations).some(([k, sent]) => k.slice(0, 128) === key && typeof sent === 'string' && sent.startsWith(value))).toBe(true);
          total += key.length + value.length;
        }
        expect(total).toBeLessThanOrEqual(2048);
      }),
    );
  });

  it('keeps small annotations whole and ignores what is not an object of strings', () => {
    expect(manifestAnnotations(manifestWith({ 'org.opencontainers.image.source': 'https://example.test/app', n: 3 }))).toEqual({ 'org.opencontainers.image.source': 'https://example.test/app' });
    expect(manifestAnnotations(manifestWith(['a']))).toBeUndefined();
    expect(manifestAnnotations(new TextEncoder().encode('{not json'))).toBeUndefined();
  });
});
