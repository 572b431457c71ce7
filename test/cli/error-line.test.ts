import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TollgateError } from '@tollgate/core';
import { errorLine } from '../../packages/cli/src/output/error-line.js';

// Anything a terminal would treat as a line break, a control or a bidi override.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** No lone surrogate (String.prototype.isWellFormed, which the tests' lib does not declare). */
const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** Strings rich in line breaks and controls, as a server's text or a wrapped cause can be. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\n', '\r', '\r\n', '\t', '\u001b', '\u0000', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', ' ', '😀'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 3000,
});

describe('errorLine', () => {
  it('prints a TollgateError with a multi-line message on one line', () => {
    const error = new TollgateError('REGISTRY_ERROR', 'registry.example answered 500:\r\n<html>\r\n\r\n  <body>oops</body>\n</html>\n');
    expect(errorLine(error)).toBe('Error: registry.example answered 500: <html> <body>oops</body> </html>');
  });

  it('drops terminal escapes and bidi overrides from the message', () => {
    expect(errorLine(new TollgateError('NOT_FOUND', 'tag \u001b[31mred\u001b[0m \u202eevil'))).toBe('Error: tag [31mred [0m evil');
  });

  it('bounds a long message and keeps the prefix, and the code of an untranslated error', () => {
    const long = errorLine(new TollgateError('REGISTRY_ERROR', 'x'.repeat(100_000)));
    expect(long.startsWith('Error: xxx')).toBe(true);
    expect(long.endsWith('…')).toBe(true);
    expect(long.length).toBeLessThanOrEqual('Error: '.length + 2000);
    const other = Object.assign(new Error('y\n'.repeat(10_000)), { code: 'ECONNREFUSED' });
    expect(errorLine(other)).toMatch(/^Error: y y y .*…\ \(ECONNREFUSED\)$/);
    expect(errorLine(other).length).toBeLessThanOrEqual('Error: '.length + 500 + ' (ECONNREFUSED)'.length);
  });

  it('never cuts a surrogate pair in two', () => {
    for (let pad = 0; pad < 4; pad++) {
      const line = errorLine(new TollgateError('USAGE', `${'a'.repeat(pad)}${'😀'.repeat(2000)}`));
      expect(wellFormed(line)).toBe(true);
    }
  });

  it('is one printable line for any message, translated or not', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom('tollgate', 'error', 'broken', 'string'), (message, as) => {
        const error =
          as === 'tollgate' ? new TollgateError('REGISTRY_ERROR', message)
          : as === 'error' ? Object.assign(new Error(message), { code: 'EACCES' })
          : as === 'broken' ? Object.assign(new Error(message), { code: 'ECONNRESET' })
          : message;
        const line = errorLine(error);
        expect(line).not.toMatch(UNPRINTABLE);
        expect(line).toMatch(/^Error: /);
        expect(line.length).toBeLessThanOrEqual(2100);
        if (as === 'error') expect(line.endsWith(' (EACCES)')).toBe(true);
        if (as === 'broken') expect(line).toMatch(/, ECONNRESET\); retry, or check the network and the registry$/);
        if (wellFormed(message)) expect(wellFormed(line)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
