/**
 * The /etc/passwd lookup behind nonRootUser, on generated files: it never throws, the first entry for a name wins,
 * and lines that do not name the user (comments, blanks, garbage, other names) never change the answer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupPasswdUser, MAX_UID } from '../../src/policy/checks/passwd.js';

const NAMES = ['app', 'web', 'db', 'nobody', 'äpp'];
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const entry = fc.record({ name: fc.constantFrom(...NAMES), uid: fc.integer({ min: 0, max: MAX_UID }), gid: fc.nat(65535) });
/** Lines that name none of NAMES, as a runtime reads them. */
const noise = fc.oneof(
  fc.constant(''),
  fc.constant('   '),
  fc.constantFrom(...NAMES).map((n) => `# ${n}:x:0:0::/:/bin/sh`),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => `zz${s.replace(/\n/g, '')}`),
  fc.constant('::::::'),
);
const line = fc.oneof(entry.map((e) => ({ kind: 'entry' as const, ...e })), noise.map((text) => ({ kind: 'noise' as const, text })));

describe('lookupPasswdUser', () => {
  it('never throws on arbitrary bytes and names, and answers one of its three kinds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.string({ maxLength: 12 }), (content, user) => {
        const found = lookupPasswdUser(content, user);
        expect(['uid', 'missing', 'unusable']).toContain(found.kind);
        if (found.kind === 'uid') expect(Number.isSafeInteger(found.uid) && found.uid >= 0 && found.uid <= MAX_UID).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on passwd-like text built from colons, digits, whitespace and names', () => {
    const piece = fc.constantFrom('app', ':', '0', '1000', ' ', '\t', '\n', '\r', '#', 'x', '\u00a0', '\u0085', '\xff', '+', '-');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        for (const encoded of [bytes(text), new Uint8Array(Buffer.from(text, 'latin1'))]) lookupPasswdUser(encoded, 'app');
      }),
      { numRuns: 500 },
    );
  });

  it('the first entry for a name wins, whatever comes before or after it', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const text = lines.map((l) => (l.kind === 'entry' ? `${l.name}:x:${l.uid}:${l.gid}::/home:/bin/sh` : l.text)).join(eol);
        for (const name of NAMES) {
          const index = lines.findIndex((l) => l.kind === 'entry' && l.name === name);
          const found = lookupPasswdUser(bytes(text), name);
          if (index < 0) {
            expect(found).toEqual({ kind: 'missing' });
          } else {
            const first = lines[index] as { uid: number };
            expect(found).toEqual({ kind: 'uid', uid: first.uid, line: index + 1 });
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a first entry whose uid is not a plain decimal is unusable: later entries are not consulted', () => {
    const badUid = fc.oneof(fc.constantFrom('', '-1', '+1', '0x10', '1e3', ' 1', '1 ', String(MAX_UID + 1), '99999999999999999999'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 6 }).filter((s) => !/^[0-9]+$/.test(s) && !/[:\n]/.test(s)));
    fc.assert(
      fc.property(badUid, fc.integer({ min: 1, max: MAX_UID }), (uid, later) => {
        const found = lookupPasswdUser(bytes(`app:x:${uid}:0::/:/bin/sh\napp:x:${later}:0::/:/bin/sh\n`), 'app');
        expect(found.kind).toBe('unusable');
      }),
      { numRuns: 300 },
    );
  });
});
