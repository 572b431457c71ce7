/**
 * Takes a real docker archive (written by skopeo) apart and puts it back together with changes, for hostile
 * variants of an independently made file: a plain ustar reader (Go's archive/tar writes skopeo's short names as
 * ustar) and core's raw fixture writer, which writes whatever headers it is given.
 */
import { createHash } from 'node:crypto';
import { rawTar, type RawTarEntry } from '../../../packages/core/test/sources/tar-fixtures.js';

export interface ArchiveEntry {
  name: string;
  /** '0' file, '2' symlink, '5' directory… */
  type: string;
  linkname?: string;
  data: Buffer;
}

/** One image of manifest.json as docker save and skopeo write it. */
export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** The entries of a plain ustar archive, in order (fails on PAX or GNU extensions: skopeo writes none here). */
export function readTar(bytes: Buffer): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  for (let offset = 0; offset + 512 <= bytes.length; ) {
    const block = bytes.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    const type = String.fromCharCode(block[156] || 0x30);
    if (!'0257'.includes(type)) throw new Error(`readTar: entry type ${JSON.stringify(type)} at byte ${offset} is not handled`);
    const prefix = text(block, 345, 155);
    const name = prefix === '' ? text(block, 0, 100) : `${prefix}/${text(block, 0, 100)}`;
    const size = parseInt(text(block, 124, 12).trim() || '0', 8);
    const linkname = text(block, 157, 100);
    const data = Buffer.from(bytes.subarray(offset + 512, offset + 512 + size));
    entries.push({ name, type, ...(linkname !== '' ? { linkname } : {}), data });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** A tar of these entries (names up to 100 bytes), ending with the two zero blocks. */
export function writeTar(entries: ArchiveEntry[]): Buffer {
  return rawTar(entries.map((e): RawTarEntry => ({ name: e.name, type: e.type, data: e.data, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) })));
}

export function manifestOf(entries: ArchiveEntry[]): ArchiveManifestEntry[] {
  const entry = entries.find((e) => e.name === 'manifest.json');
  if (entry === undefined) throw new Error('the archive has no manifest.json');
  return JSON.parse(entry.data.toString('utf8')) as ArchiveManifestEntry[];
}

/** The entries with manifest.json replaced by `manifest` (serialised as given when it is a string). */
export function withManifest(entries: ArchiveEntry[], manifest: ArchiveManifestEntry[] | string): ArchiveEntry[] {
  const data = Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return entries.map((e) => (e.name === 'manifest.json' ? { ...e, data } : e));
}

/** The entries with the data of `name` replaced. */
export function withData(entries: ArchiveEntry[], name: string, data: Buffer): ArchiveEntry[] {
  if (!entries.some((e) => e.name === name)) throw new Error(`no entry ${name}`);
  return entries.map((e) => (e.name === name ? { ...e, data } : e));
}
