import { TollgateError } from '../../errors/tollgate-error.js';

export const BLOCK = 512;

/** What a header block says, before PAX and GNU long-name records are applied. */
export interface RawTarHeader {
  name: string;
  linkname: string;
  size: number;
  typeflag: string;
}

function fail(archive: string, offset: number, why: string): never {
  throw new TollgateError('INVALID_ARCHIVE', `${archive}: bad tar header at byte ${offset}: ${why}; the archive is corrupt or not a tar file`);
}

/** A NUL-terminated string field. Bytes are decoded as UTF-8 (PAX records carry anything else exactly). */
function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal (space/NUL padded) or GNU base-256 (high bit set). Negative or huge values are refused. */
export function numeric(block: Buffer, start: number, length: number, archive: string, offset: number, what: string): number {
  const field = block.subarray(start, start + length);
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) fail(archive, offset, `negative ${what}`);
    let value = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(archive, offset, `${what} is too large`);
    return Number(value);
  }
  const digits = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) fail(archive, offset, `${what} field is not octal`);
  const value = parseInt(digits, 8);
  if (!Number.isSafeInteger(value)) fail(archive, offset, `${what} is too large`);
  return value;
}

/** True for an all-zero block (end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Parses one 512-byte header: verifies its checksum (unsigned, or the signed sum old tars wrote), then reads name
 * (with the ustar prefix), size, type flag and link name.
 */
export function parseHeader(block: Buffer, archive: string, offset: number): RawTarHeader {
  const stored = numeric(block, 148, 8, archive, offset, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) fail(archive, offset, 'checksum mismatch');

  const magic = block.subarray(257, 263).toString('latin1');
  let name = text(block, 0, 100);
  // POSIX ustar ("ustar\0") keeps a path prefix at 345; GNU ("ustar  ") uses that area for other fields.
  if (magic === 'ustar\0') {
    const prefix = text(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  return {
    name,
    linkname: text(block, 157, 100),
    size: numeric(block, 124, 12, archive, offset, 'size'),
    typeflag,
  };
}

/** PAX extended header records (`<len> <key>=<value>\n`), strictly: each length must match its record. */
export function parsePax(data: Buffer, archive: string, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) fail(archive, offset, 'malformed PAX record length');
    const lengthText = data.subarray(pos, space).toString('latin1');
    if (!/^[0-9]+$/.test(lengthText)) fail(archive, offset, 'malformed PAX record length');
    const length = parseInt(lengthText, 10);
    if (length <= space - pos + 1 || pos + length > data.length || data[pos + length - 1] !== 0x0a) {
      fail(archive, offset, 'PAX record length does not match its content');
    }
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals <= 0) fail(archive, offset, 'PAX record without "key="');
    records.set(record.slice(0, equals), record.slice(equals + 1));
    pos += length;
  }
  return records;
}
