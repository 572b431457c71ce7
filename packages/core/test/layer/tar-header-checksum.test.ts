import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHeader, TarFormatError } from '../../src/layer/tar-header.js';

/** Header checksums: the unsigned sum (POSIX) and the signed-char sum (old tars) are both accepted, nothing else. */

/** The two sums the obvious way: every byte, the checksum field counted as eight spaces. */
function referenceSums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** A ustar header for a regular file whose name and other text fields may hold any bytes (high bytes included). */
function header(name: Uint8Array, filler: Uint8Array): Buffer {
  const block = Buffer.alloc(512);
  Buffer.from(name).copy(block, 0, 0, 100);
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write('00000000000\0', 124, 'latin1');
  block.write('14712345670\0', 136, 'latin1');
  block[156] = 0x30;
  block.write('ustar\x0000', 257, 'latin1');
  Buffer.from(filler).copy(block, 265, 0, 64); // uname and gname: free text
  return block;
}

function withChecksum(block: Buffer, sum: number): Buffer {
  const out = Buffer.from(block);
  // Six octal digits, NUL, space: what GNU tar writes. A negative signed sum cannot be written: use 0 instead.
  out.write(`${Math.max(sum, 0).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return out;
}

const nameBytes = fc.uint8Array({ minLength: 1, maxLength: 99 }).map((bytes) => bytes.map((b) => (b === 0 ? 0x41 : b)));

describe('tar header checksum', () => {
  it('accepts a header whose checksum is the unsigned sum, or the signed sum, of bytes ≥ 0x80', () => {
    const block = header(Buffer.from('café/naïve-ñame', 'utf8'), Buffer.from('ünïcödé', 'utf8'));
    const { unsigned, signed } = referenceSums(block);
    expect(signed).toBeLessThan(unsigned);
    expect(decodeHeader(withChecksum(block, unsigned), 0).name).toBe('café/naïve-ñame');
    expect(decodeHeader(withChecksum(block, signed), 0).name).toBe('café/naïve-ñame');
    expect(() => decodeHeader(withChecksum(block, unsigned + 1), 0)).toThrow(TarFormatError);
    expect(() => decodeHeader(withChecksum(block, signed - 1), 0)).toThrow(/checksum/);
  });

  it('agrees with the byte-by-byte sums on any header bytes, at any offset in the buffer', () => {
    fc.assert(
      fc.property(nameBytes, fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 700 }), fc.boolean(), (name, filler, offset, useSigned) => {
        const block = header(name, filler);
        const { unsigned, signed } = referenceSums(block);
        const sum = useSigned ? signed : unsigned;
        fc.pre(sum >= 0);
        const buf = Buffer.concat([Buffer.alloc(offset, 0xff), withChecksum(block, sum), Buffer.alloc(3, 0xff)]);
        expect(() => decodeHeader(buf, offset)).not.toThrow();
        const wrong = Buffer.concat([Buffer.alloc(offset, 0xff), withChecksum(block, sum + 256), Buffer.alloc(3)]);
        if (sum + 256 !== unsigned && sum + 256 !== signed) expect(() => decodeHeader(wrong, offset)).toThrow(/checksum/);
      }),
      { numRuns: 500 },
    );
  });
});
