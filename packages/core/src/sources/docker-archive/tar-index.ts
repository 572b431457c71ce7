import type { FileHandle } from 'node:fs/promises';
import { TollgateError } from '../../errors/tollgate-error.js';
import { readRange } from '../../util/read-range.js';
import { BLOCK, isZeroBlock, parseHeader, parsePax } from './tar-header.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** Where an entry's data lies in the archive file: read it with positional reads, no extraction. */
export interface TarEntry {
  name: string;
  type: TarEntryType;
  dataOffset: number;
  size: number;
  linkTarget?: string;
}

export interface TarIndexLimits {
  /** At most this many entries (a docker archive holds a handful per layer). */
  maxEntries: number;
  /** At most this many bytes in one PAX or GNU long-name record. */
  maxMetadataBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarIndexLimits = { maxEntries: 100_000, maxMetadataBytes: 1024 * 1024 };

const TYPES: Record<string, TarEntryType> = { '0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'dir' };

/**
 * Normalises an entry name to a clean relative path (`./a//b/` → `a/b`); refuses absolute names and any `..`
 * component, since a name that climbs out of the archive is hostile whatever reads it next.
 */
export function normalizeEntryName(name: string, archive: string): string {
  const quoted = JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
  if (name.includes('\0')) throw new TollgateError('UNSAFE_PATH', `${archive}: entry name ${quoted} contains a NUL byte; refusing the archive`);
  if (name.startsWith('/')) throw new TollgateError('UNSAFE_PATH', `${archive}: entry ${quoted} has an absolute path; refusing the archive`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TollgateError('UNSAFE_PATH', `${archive}: entry ${quoted} contains "..", which would climb out of the archive; refusing it`);
  return parts.join('/');
}

const COMPRESSED: Array<{ name: string; magic: number[]; tool: string }> = [
  { name: 'gzip', magic: [0x1f, 0x8b], tool: 'gunzip' },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], tool: 'unzstd' },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], tool: 'unxz' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], tool: 'bunzip2' },
];

/** A compressed archive is not a tar we can index in place: say so rather than report a bad header. */
function refuseCompressed(block: Buffer, archive: string): void {
  for (const { name, magic, tool } of COMPRESSED) {
    if (magic.every((b, i) => block[i] === b)) {
      throw new TollgateError('INVALID_ARCHIVE', `${archive} is ${name}-compressed; decompress it first (${tool}) and read the plain .tar`);
    }
  }
}

/**
 * Scans a tar file's headers and returns entry name → location. tar-stream cannot seek, so this small scanner
 * reads only the 512-byte headers (and PAX / GNU long-name records), jumping over data. It verifies header
 * checksums and refuses truncation, sizes beyond the file, duplicate names, unsafe names and too many entries.
 */
export async function indexTar(
  handle: FileHandle,
  fileSize: number,
  archive: string,
  limits: TarIndexLimits = DEFAULT_TAR_LIMITS,
): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  let offset = 0;
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  let count = 0;
  refuseCompressed(await readRange(handle, 0, Math.min(8, fileSize)), archive);
  for (;;) {
    if (offset + BLOCK > fileSize) {
      throw new TollgateError('INVALID_ARCHIVE', `${archive} is truncated: it ends at byte ${fileSize} without the end-of-archive marker; the file is incomplete`);
    }
    const block = await readRange(handle, offset, BLOCK);
    if (block.length < BLOCK) {
      throw new TollgateError('INVALID_ARCHIVE', `${archive} is truncated at byte ${offset + block.length}; the file is incomplete`);
    }
    if (isZeroBlock(block)) break;
    const header = parseHeader(block, archive, offset);
    const isMeta = header.typeflag === 'x' || header.typeflag === 'g' || header.typeflag === 'L' || header.typeflag === 'K';
    const size = !isMeta && pending.size !== undefined ? pending.size : header.size;
    const dataOffset = offset + BLOCK;
    if (size > fileSize - dataOffset) {
      throw new TollgateError('INVALID_ARCHIVE', `${archive}: the entry at byte ${offset} declares ${size} bytes but the file has only ${Math.max(0, fileSize - dataOffset)} left; the archive is truncated or corrupt`);
    }
    const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;

    if (header.typeflag === 'x' || header.typeflag === 'L' || header.typeflag === 'K') {
      if (size > limits.maxMetadataBytes) {
        throw new TollgateError('INVALID_ARCHIVE', `${archive}: an extended header at byte ${offset} is ${size} bytes, over the ${limits.maxMetadataBytes}-byte limit`);
      }
      const data = await readRange(handle, dataOffset, size);
      if (header.typeflag === 'x') {
        const pax = parsePax(data, archive, offset);
        const path = pax.get('path');
        const linkpath = pax.get('linkpath');
        const paxSize = pax.get('size');
        if (path !== undefined) pending.path = path;
        if (linkpath !== undefined) pending.linkpath = linkpath;
        if (paxSize !== undefined) {
          if (!/^[0-9]{1,16}$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
            throw new TollgateError('INVALID_ARCHIVE', `${archive}: PAX header at byte ${offset} has an invalid size ${JSON.stringify(paxSize.slice(0, 40))}`);
          }
          pending.size = Number(paxSize);
        }
      } else {
        const end = data.indexOf(0);
        const value = data.subarray(0, end < 0 ? data.length : end).toString('utf8');
        if (header.typeflag === 'L') pending.path = value;
        else pending.linkpath = value;
      }
    } else if (header.typeflag !== 'g') {
      count += 1;
      if (count > limits.maxEntries) {
        throw new TollgateError('INVALID_ARCHIVE', `${archive} has more than ${limits.maxEntries} entries; it is not a docker archive tollgate will read`);
      }
      const type = TYPES[header.typeflag] ?? 'other';
      const name = normalizeEntryName(pending.path ?? header.name, archive);
      const linkTarget = pending.linkpath ?? header.linkname;
      pending = {};
      if (name === '') {
        if (type !== 'dir') throw new TollgateError('INVALID_ARCHIVE', `${archive}: the entry at byte ${offset} has an empty name`);
      } else {
        if (entries.has(name)) {
          throw new TollgateError('INVALID_ARCHIVE', `${archive} holds ${JSON.stringify(name.slice(0, 120))} twice; a tampered archive can hide content this way, so it is refused`);
        }
        const entry: TarEntry = { name, type, dataOffset, size };
        if (type === 'symlink' || type === 'hardlink') entry.linkTarget = linkTarget;
        entries.set(name, entry);
      }
    }
    offset = next;
  }
  return entries;
}

/** Follows symlinks (relative to their directory) and hardlinks (relative to the archive root) to a regular file. */
export function resolveTarFile(entries: Map<string, TarEntry>, name: string, archive: string): TarEntry | undefined {
  let current = name;
  for (let hop = 0; hop < 16; hop++) {
    const entry = entries.get(current);
    if (entry === undefined) return undefined;
    if (entry.type === 'file') return entry;
    if (entry.type !== 'symlink' && entry.type !== 'hardlink') {
      throw new TollgateError('INVALID_ARCHIVE', `${archive}: ${JSON.stringify(name)} is not a regular file`);
    }
    const target = entry.linkTarget ?? '';
    if (target.startsWith('/')) {
      throw new TollgateError('UNSAFE_PATH', `${archive}: ${JSON.stringify(current)} links to the absolute path ${JSON.stringify(target.slice(0, 120))}; refusing to follow it`);
    }
    const base = entry.type === 'symlink' ? current.split('/').slice(0, -1) : [];
    const stack = [...base];
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0) {
          throw new TollgateError('UNSAFE_PATH', `${archive}: ${JSON.stringify(current)} links to ${JSON.stringify(target.slice(0, 120))}, outside the archive; refusing to follow it`);
        }
        stack.pop();
      } else {
        stack.push(part);
      }
    }
    current = stack.join('/');
  }
  throw new TollgateError('INVALID_ARCHIVE', `${archive}: ${JSON.stringify(name)} is a chain of more than 16 links; refusing to follow it`);
}
