import { isUtf8 } from 'node:buffer';
import { TarFormatError } from './tar-header.js';

/** The PAX extended-header records an index needs; everything else is ignored. */
export interface PaxFields {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, string>;
  /** A GNU sparse file: the archived data is a sparse map, not the file's content. */
  sparse?: boolean;
}

const XATTR_PREFIX = 'SCHILY.xattr.';

/** Valid UTF-8 stays text; anything else (or text that looks like our own marker) becomes 'base64:<b64>'. */
export function encodeXattrValue(value: Buffer): string {
  if (isUtf8(value)) {
    const text = value.toString('utf8');
    if (!text.startsWith('base64:')) return text;
  }
  return `base64:${value.toString('base64')}`;
}

function parseDecimal(key: string, value: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new TarFormatError(`PAX record ${key} is not a decimal number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX record ${key} is too large`);
  return n;
}

function parseTime(value: string): number {
  if (!/^-?\d{1,16}(\.\d{0,32})?$/.test(value)) throw new TarFormatError('PAX record mtime is not a number');
  return Number(value);
}

/**
 * Parses PAX records ("<length> <key>=<value>\n", the length counting the whole record). Values are raw bytes:
 * xattr values may be binary. An empty value means "use the header's own field", as in POSIX.
 */
export function parsePax(buf: Buffer): PaxFields {
  const out: PaxFields = {};
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // NUL padding after the last record
    let sp = pos;
    let len = 0;
    while (sp < buf.length && buf[sp] !== 0x20) {
      const d = buf[sp]! - 0x30;
      if (d < 0 || d > 9 || sp - pos > 10) throw new TarFormatError('malformed PAX record length');
      len = len * 10 + d;
      sp++;
    }
    const end = pos + len;
    if (sp === pos || sp >= buf.length || end > buf.length || end <= sp + 1 || buf[end - 1] !== 0x0a) {
      throw new TarFormatError('malformed PAX record');
    }
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1 || eq === sp + 1) throw new TarFormatError('malformed PAX record (no key=value)');
    const key = buf.toString('utf8', sp + 1, eq);
    const raw = buf.subarray(eq + 1, end - 1);
    pos = end;
    if (raw.length === 0) continue;
    if (key.startsWith(XATTR_PREFIX)) {
      (out.xattrs ??= {})[key.slice(XATTR_PREFIX.length)] = encodeXattrValue(Buffer.from(raw));
      continue;
    }
    switch (key) {
      case 'path':
        out.path = raw.toString('utf8');
        break;
      case 'linkpath':
        out.linkpath = raw.toString('utf8');
        break;
      case 'size':
        out.size = parseDecimal(key, raw.toString('latin1'));
        break;
      case 'uid':
        out.uid = parseDecimal(key, raw.toString('latin1'));
        break;
      case 'gid':
        out.gid = parseDecimal(key, raw.toString('latin1'));
        break;
      case 'mtime':
        out.mtime = parseTime(raw.toString('latin1'));
        break;
      default:
        if (key.startsWith('GNU.sparse.')) out.sparse = true;
    }
  }
  return out;
}
