import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTollgateError, parseStrictJson, TollgateError } from '@tollgate/core';

const enc = (s: string) => new TextEncoder().encode(s);

function refusal(input: Uint8Array | string, options?: { maxBytes?: number; maxDepth?: number }): TollgateError {
  try {
    parseStrictJson(input, 'test doc', options);
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    return error as TollgateError;
  }
  throw new Error(`expected ${String(input).slice(0, 80)} to be refused`);
}

describe('parseStrictJson', () => {
  it('parses ordinary JSON from bytes and strings', () => {
    expect(parseStrictJson(enc('{"a":[1,2,{"b":null}],"c":"\\u00e9"}'), 'x')).toEqual({ a: [1, 2, { b: null }], c: 'é' });
    expect(parseStrictJson(' \n\t[true,false,-0.5e+3] \r\n', 'x')).toEqual([true, false, -500]);
    expect(parseStrictJson('"just a string"', 'x')).toBe('just a string');
    expect(parseStrictJson('{}', 'x')).toEqual({});
    expect(parseStrictJson('{"a":{},"b":{"a":1}}', 'x')).toEqual({ a: {}, b: { a: 1 } });
  });

  it('keeps __proto__ as an own key and does not touch prototypes', () => {
    const value = parseStrictJson('{"__proto__":{"polluted":true}}', 'x') as Record<string, unknown>;
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['{"a":1,"a":2}', /duplicate key "a" at \$, position 7 \(line 1, column 8\)/],
    ['{"a":1,"\\u0061":2}', /duplicate key "a" at \$/],
    ['{"x":{"a":{"b":1,"c":2,"b":3}}}', /duplicate key "b" at \$\.x\.a,/],
    ['{"list":[{"k":1},{"k":1,"k":2}]}', /duplicate key "k" at \$\.list\[1\]/],
    ['{"odd key":{"z":1,"z":1}}', /duplicate key "z" at \$\["odd key"\]/],
    ['{"\\ud800":1,"\\uD800":2}', /duplicate key/],
    ['{"a\\/b":1,"a/b":2}', /duplicate key "a\/b"/],
  ])('refuses duplicate keys in %s', (input, pattern) => {
    const error = refusal(input);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/^test doc: /);
    expect(error.message).toMatch(pattern);
  });

  it.each([
    ['', /unexpected end of input/],
    ['{', /unexpected end of input/],
    ['{"a":1', /unexpected end of input/],
    ['{"a":1}x', /unexpected text after the JSON value at position 7/],
    ['{"a":1} {}', /unexpected text after/],
    ['[1,]', /unexpected character "]"/],
    ['{"a":1,}', /expected a key string/],
    ["{'a':1}", /expected a key string/],
    ['{a:1}', /expected a key string/],
    ['[01]', /unexpected character "1"/],
    ['[1.]', /unexpected character "."/],
    ['[.5]', /unexpected character/],
    ['[+1]', /unexpected character/],
    ['[NaN]', /unexpected character/],
    ['[tru]', /unexpected character/],
    ['[truex]', /unexpected character "x"/],
    ['"abc', /unterminated string/],
    ['"a\tb"', /unescaped control character/],
    ['"\\x41"', /invalid escape/],
    ['"\\u12"', /invalid \\u escape/],
    ['{"a" 1}', /expected ":"/],
    ['[1 2]', /expected "," or "]"/],
    ['\u00a0{}', /unexpected character/],
    ['{"a":1}\u0000', /unexpected text after/],
  ])('refuses malformed %j', (input, pattern) => {
    const error = refusal(input);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(pattern);
  });

  it('reports line and column', () => {
    expect(refusal('{\n  "a": 1,\n  "a": 2\n}').message).toMatch(/line 3, column 3/);
  });

  it('refuses a byte order mark, in bytes and in strings', () => {
    expect(refusal(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).message).toMatch(/byte order mark/);
    expect(refusal('\ufeff{}').message).toMatch(/byte order mark/);
  });

  it('refuses invalid UTF-8 and says where', () => {
    const bytes = enc('{"a":"xx"}');
    bytes[6] = 0xff;
    const error = refusal(bytes);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/not valid UTF-8 \(at or after byte 6\)/);
    expect(refusal(new Uint8Array([0x22, 0xc3, 0x22])).message).toMatch(/UTF-8/); // truncated 2-byte sequence
    expect(refusal(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])).message).toMatch(/UTF-8/); // encoded surrogate
    expect(refusal(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])).message).toMatch(/UTF-8/); // overlong '/'
  });

  it('limits depth (64 by default) without recursion', () => {
    expect(parseStrictJson('['.repeat(64) + ']'.repeat(64), 'x')).toBeDefined();
    const deep = refusal('['.repeat(65) + ']'.repeat(65));
    expect(deep.message).toMatch(/nesting deeper than 64 levels at \$(\[0\]){64}/);
    expect(refusal('{"a":'.repeat(3) + '1' + '}'.repeat(3), { maxDepth: 2 }).message).toMatch(/deeper than 2 levels at \$\.a\.a/);
    const hostile = '['.repeat(1_000_000);
    expect(refusal(hostile).code).toBe('INVALID_JSON');
    expect(refusal(hostile, { maxDepth: 10_000_000 }).message).toMatch(/unexpected end of input/);
  });

  it('limits size in bytes', () => {
    const error = refusal('[' + '1,'.repeat(600) + '1]', { maxBytes: 1000 });
    expect(error.code).toBe('SIZE_LIMIT');
    expect(error.message).toMatch(/1203 bytes is more than the 1000 allowed/);
    expect(refusal('"' + 'é'.repeat(600) + '"', { maxBytes: 1000 }).code).toBe('SIZE_LIMIT');
    expect(refusal(enc('"' + 'é'.repeat(600) + '"'), { maxBytes: 1000 }).code).toBe('SIZE_LIMIT');
  });

  it('round-trips every JSON value fast-check generates', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, asBytes) => {
        const text = JSON.stringify(value);
        const parsed = parseStrictJson(asBytes ? enc(text) : text, 'x');
        expect(parsed).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const text = JSON.stringify(value, null, 2);
        expect(parseStrictJson(text, 'x')).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  it('always refuses an injected duplicate key, however it is escaped', () => {
    const objectWithKeys = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 });
    fc.assert(
      fc.property(objectWithKeys, fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.boolean(), fc.nat(3), (obj, pick, dupValue, escapeAll, wrap) => {
        const keys = Object.keys(obj);
        const key = keys[pick % keys.length]!;
        const encodedKey = escapeAll
          ? '"' + [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') + '"'
          : JSON.stringify(key);
        const body = JSON.stringify(obj);
        let text = `${body.slice(0, -1)},${encodedKey}:${JSON.stringify(dupValue)}}`;
        for (let i = 0; i < wrap; i++) text = `{"w":[${text}]}`;
        const error = refusal(text);
        expect(error.message).toMatch(/duplicate key/);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with JSON.parse on what is valid, for arbitrary text', () => {
    const jsonish = fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.-+eEtruefalsn \\u\n'.split('')), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string({ maxLength: 40 })), (text) => {
        let native: unknown;
        let nativeOk = true;
        try {
          native = JSON.parse(text);
        } catch {
          nativeOk = false;
        }
        try {
          const ours = parseStrictJson(text, 'x');
          expect(nativeOk).toBe(true);
          expect(ours).toStrictEqual(native);
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_JSON'), String(error)).toBe(true);
          // Ours refuses more than JSON.parse only for duplicate keys, a BOM and depth.
          if (nativeOk) expect((error as Error).message).toMatch(/duplicate key|byte order mark|nesting/);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('is fast on a large document', () => {
    const big = JSON.stringify({ layers: Array.from({ length: 20_000 }, (_, i) => ({ digest: `sha256:${String(i).padStart(64, '0')}`, size: i, annotations: { a: 'x'.repeat(50) } })) });
    const start = performance.now();
    parseStrictJson(enc(big), 'big', { maxBytes: 32 * 1024 * 1024 });
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
