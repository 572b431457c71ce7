/**
 * Decoding of one 512-byte tar header block (V7, ustar, GNU), read in place from a buffer at an offset. Field
 * rules follow Go's archive/tar, which is what containerd and Docker use to extract layers, so that our index
 * describes what they would write to disk.
 */
export const BLOCK = 512;

/** Thrown for a header we cannot decode; the caller turns it into CORRUPT_LAYER with the offset. */
export class TarFormatError extends Error {}

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

export function isZeroBlock(buf: Uint8Array, off: number): boolean {
  for (let i = off, end = off + BLOCK; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Unsigned and signed sums both count: old tars computed the checksum over signed chars. The checksum field itself
 * counts as eight spaces; each byte ≥ 0x80 is 256 less as a signed char, so one pass gives both sums.
 */
function checksumMatches(buf: Uint8Array, off: number): boolean {
  let unsigned = 8 * 0x20;
  let high = 0;
  for (let i = off, end = off + 148; i < end; i++) {
    const b = buf[i]!;
    unsigned += b;
    high += b >> 7;
  }
  for (let i = off + 156, end = off + BLOCK; i < end; i++) {
    const b = buf[i]!;
    unsigned += b;
    high += b >> 7;
  }
  const stored = parseNumber(buf, off + 148, 8, 'checksum');
  return stored === unsigned || stored === unsigned - 256 * high;
}

function fieldEnd(buf: Uint8Array, start: number, len: number): number {
  const end = start + len;
  for (let i = start; i < end; i++) if (buf[i] === 0) return i;
  return end;
}

function readString(buf: Buffer, start: number, len: number): string {
  return buf.toString('utf8', start, fieldEnd(buf, start, len));
}

/** Octal (space/NUL padded) or GNU base-256 for large values; negative or unsafe values are refused. */
export function parseNumber(buf: Uint8Array, start: number, len: number, field: string): number {
  const first = buf[start]!;
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError(`negative ${field} field`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) {
      value = value * 256 + buf[i]!;
      if (value > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} field is too large`);
    }
    return value;
  }
  let i = start;
  let end = start + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  while (end > i && (buf[end - 1] === 0x20 || buf[end - 1] === 0)) end--;
  let value = 0;
  for (; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 7) throw new TarFormatError(`${field} field is not an octal number`);
    value = value * 8 + c;
  }
  if (value > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} field is too large`);
  return value;
}

function isUstar(buf: Uint8Array, off: number): boolean {
  // "ustar\0" (POSIX); GNU writes "ustar " + " \0" and keeps other data where POSIX has the prefix.
  return (
    buf[off + 257] === 0x75 && buf[off + 258] === 0x73 && buf[off + 259] === 0x74 && buf[off + 260] === 0x61 &&
    buf[off + 261] === 0x72 && buf[off + 262] === 0
  );
}

/** Decodes the header at `off`; the caller has already ruled out an all-zero block. */
export function decodeHeader(buf: Buffer, off: number): RawHeader {
  if (!checksumMatches(buf, off)) throw new TarFormatError('invalid header checksum (not a tar archive, or damaged)');
  let name = readString(buf, off, 100);
  if (isUstar(buf, off) && buf[off + 345] !== 0) name = `${readString(buf, off + 345, 155)}/${name}`;
  const typeflag = buf[off + 156]!;
  const isDevice = typeflag === 0x33 || typeflag === 0x34;
  return {
    name,
    mode: parseNumber(buf, off + 100, 8, 'mode'),
    uid: parseNumber(buf, off + 108, 8, 'uid'),
    gid: parseNumber(buf, off + 116, 8, 'gid'),
    size: parseNumber(buf, off + 124, 12, 'size'),
    mtime: parseNumber(buf, off + 136, 12, 'mtime'),
    typeflag,
    linkname: buf[off + 157] === 0 ? '' : readString(buf, off + 157, 100),
    devmajor: isDevice ? parseNumber(buf, off + 329, 8, 'devmajor') : 0,
    devminor: isDevice ? parseNumber(buf, off + 337, 8, 'devminor') : 0,
  };
}
