/**
 * A raw tar writer for hostile fixtures: it writes exactly the headers it is told to, including wrong checksums,
 * lying sizes and names no well-behaved tool would write.
 */
export interface RawTarEntry {
  name: string;
  data?: Buffer | string;
  /** Type flag character: '0' file (default), '2' symlink, '5' dir, 'x' PAX, 'L' GNU long name, … */
  type?: string;
  linkname?: string;
  /** Size written in the header (default: the data length). */
  declaredSize?: number;
  /** Write the size field in GNU base-256 with this many bytes (big values). */
  base256Size?: bigint;
  prefix?: string;
  gnuMagic?: boolean;
  badChecksum?: boolean;
}

function put(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value.slice(0, length), offset, 'utf8');
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

export function rawHeader(entry: RawTarEntry): Buffer {
  const block = Buffer.alloc(512);
  const data = entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data);
  put(block, 0, 100, entry.name);
  put(block, 100, 8, octal(0o644, 8));
  put(block, 108, 8, octal(0, 8));
  put(block, 116, 8, octal(0, 8));
  if (entry.base256Size !== undefined) {
    let v = entry.base256Size;
    for (let i = 135; i > 124; i--) {
      block[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    block[124] = 0x80;
  } else {
    put(block, 124, 12, octal(entry.declaredSize ?? data.length, 12));
  }
  put(block, 136, 12, octal(0, 12));
  block[156] = (entry.type ?? '0').charCodeAt(0);
  if (entry.linkname !== undefined) put(block, 157, 100, entry.linkname);
  if (entry.gnuMagic) put(block, 257, 8, 'ustar  \0');
  else {
    put(block, 257, 6, 'ustar\0');
    put(block, 263, 2, '00');
  }
  if (entry.prefix !== undefined) put(block, 345, 155, entry.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  if (entry.badChecksum) sum += 1;
  put(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** A whole tar: headers, data padded to 512, and (unless `end: false`) the two zero blocks. */
export function rawTar(entries: RawTarEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(rawHeader(entry));
    const data = entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data);
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A PAX record `<len> key=value\n`, with the self-inclusive length computed. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}
