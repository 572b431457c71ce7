import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTollgateError, parseNotationEnvelope, verifyNotationEnvelope } from '@tollgate/core';
import { DOCKER_TARGET, type EnvelopeJson } from './fixtures.js';
import { NOTATION_SETS } from './generated.js';

for (const set of NOTATION_SETS) describe(`hostile envelopes get a clear integrity failure, never an exception (${set.name} ca_valid_sig_env.json)`, set.options, () => {
  const { caOptions, envelopeJson, fixture } = set;

  async function integrityReason(bytes: Uint8Array): Promise<string> {
    const result = await verifyNotationEnvelope(bytes, DOCKER_TARGET, caOptions('audit'));
    expect(result.ok).toBe(false);
    expect(result.checks).toHaveLength(1);
    expect(result.checks[0]).toMatchObject({ check: 'integrity', outcome: 'failed', action: 'enforce' });
    return result.reasons[0]!;
  }

  function withMember(mutate: (env: EnvelopeJson) => void): Buffer {
    const env = envelopeJson('ca_valid_sig_env.json');
    mutate(env);
    return Buffer.from(JSON.stringify(env));
  }

  it('garbage, empty, truncated JSON, wrong shapes', async () => {
    expect(await integrityReason(Buffer.from(''))).toMatch(/envelope/);
    expect(await integrityReason(Buffer.from('not json'))).toMatch(/envelope/);
    expect(await integrityReason(Buffer.from('[]'))).toMatch(/not a JSON object/);
    expect(await integrityReason(Buffer.from('"x"'))).toMatch(/not a JSON object/);
    const whole = fixture('ca_valid_sig_env.json');
    for (const cut of [1, 100, 1000, whole.length - 2]) {
      expect(await integrityReason(whole.subarray(0, cut))).toMatch(/envelope/);
    }
    expect(await integrityReason(Buffer.from('{"payload":"e30","protected":"e30","signature":"AA"}'))).toMatch(/no unprotected "header" object/);
    expect(await integrityReason(Buffer.from('{"signatures":[]}'))).toMatch(/unexpected member "signatures"/);
  });

  it('oversize envelopes are refused before parsing', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    expect(await integrityReason(big)).toMatch(/over the 4194304-byte limit/);
    expect(() => parseNotationEnvelope(big)).toThrow(expect.objectContaining({ code: 'SIZE_LIMIT' }));
  });

  it('duplicate keys and deep nesting are refused by the strict JSON parser', async () => {
    const text = fixture('ca_valid_sig_env.json').toString('utf8');
    expect(await integrityReason(Buffer.from(text.replace('{', '{"payload":"e30",')))).toMatch(/duplicate/i);
    expect(await integrityReason(Buffer.from('['.repeat(1000) + ']'.repeat(1000)))).toMatch(/deep|nest/i);
  });

  it('bad base64url in payload, protected or signature', async () => {
    expect(await integrityReason(withMember((e) => (e.payload = e.payload + '=')))).toMatch(/payload is not base64url/);
    expect(await integrityReason(withMember((e) => (e.protected = e.protected.replace(/.$/, '+'))))).toMatch(/protected header is not base64url/);
    expect(await integrityReason(withMember((e) => (e.signature = e.signature + 'A')))).toMatch(/signature is not (canonical )?base64url/);
    expect(await integrityReason(withMember((e) => (e.signature = '')))).toMatch(/empty signature/);
    // non-canonical: trailing bits set (the last character of a 2-byte tail)
    expect(await integrityReason(withMember((e) => (e.payload = e.payload.slice(0, -1) + (e.payload.endsWith('R') ? 'S' : 'R'))))).toMatch(/base64url|payload/);
  });

  it('x5c that is missing, empty, not base64, or garbage certificates', async () => {
    expect(await integrityReason(withMember((e) => delete (e.header as Record<string, unknown>).x5c))).toMatch(/no x5c/);
    expect(await integrityReason(withMember((e) => (e.header.x5c = [])))).toMatch(/no x5c/);
    expect(await integrityReason(withMember((e) => (e.header.x5c = ['%%%'])))).toMatch(/x5c\[0\] is not padded base64/);
    expect(await integrityReason(withMember((e) => (e.header.x5c = [Buffer.from('garbage certificate').toString('base64')])))).toMatch(/x5c\[0\] is not an X.509 certificate/);
    expect(await integrityReason(withMember((e) => (e.header.x5c = [e.header.x5c[0]!, 42 as unknown as string])))).toMatch(/x5c\[1\] is not a string/);
    expect(await integrityReason(withMember((e) => (e.header.x5c = Array(11).fill(e.header.x5c[0]!))))).toMatch(/over the limit of 10/);
    expect(await integrityReason(withMember((e) => (e.header['io.cncf.notary.timestampSignature'] = 7)))).toMatch(/timestampSignature is not a string/);
  });

  it('fuzz: arbitrary bytes never throw and never verify', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const result = await verifyNotationEnvelope(bytes, DOCKER_TARGET, caOptions('audit'));
        expect(result.ok).toBe(false);
      }),
      { numRuns: 200, seed: 20231 },
    );
  });

  it('fuzz: one changed byte anywhere in a valid envelope never verifies', async () => {
    const whole = fixture('ca_valid_sig_env.json');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: whole.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
        const copy = Buffer.from(whole);
        copy[at] = (copy[at]! + delta) & 0xff;
        const result = await verifyNotationEnvelope(copy, DOCKER_TARGET, caOptions('audit'));
        // the only bytes that may change without failing are unsigned, informational ones (the signing agent)
        if (result.ok) {
          const original = envelopeJson('ca_valid_sig_env.json');
          const changed = JSON.parse(copy.toString('utf8'));
          expect([changed.payload, changed.protected, changed.signature, changed.header.x5c]).toEqual([original.payload, original.protected, original.signature, original.header.x5c]);
        }
      }),
      { numRuns: 300, seed: 33959 },
    );
  });

  it('parseNotationEnvelope throws only TollgateErrors for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        try {
          parseNotationEnvelope(Buffer.from(JSON.stringify(value) ?? 'null'));
        } catch (error) {
          expect(isTollgateError(error)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 7515 },
    );
  });
});
