import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileRangeStream } from '../../util/file-range-stream.js';
import { readRange } from '../../util/read-range.js';
import type { LayoutStore } from '../oci-layout/layout-store.js';
import { resolveTarFile, type TarEntry } from './tar-index.js';

/**
 * The entries of an indexed tar file as a LayoutStore: random access through one open file handle, no extraction.
 * Streams never read past the end of their entry.
 */
export class TarStore implements LayoutStore {
  constructor(
    readonly location: string,
    private readonly handle: FileHandle,
    readonly entries: Map<string, TarEntry>,
  ) {}

  /** The regular-file entry at `path`, following links inside the archive. */
  entry(path: string): TarEntry | undefined {
    return resolveTarFile(this.entries, path, this.location);
  }

  async size(path: string): Promise<number | undefined> {
    return this.entry(path)?.size;
  }

  async read(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const entry = this.entry(path);
    if (entry === undefined) return undefined;
    return readRange(this.handle, entry.dataOffset, Math.min(entry.size, maxBytes + 1));
  }

  async open(path: string, start: number, end: number, signal?: AbortSignal): Promise<Readable> {
    const entry = this.entry(path);
    const last = Math.min(end, (entry?.size ?? 0) - 1);
    return this.openEntry(entry, start, last, signal);
  }

  /** Bytes [start, end] of an entry (inclusive, relative to the entry), bounded to the entry. */
  openEntry(entry: TarEntry | undefined, start: number, end: number, signal?: AbortSignal): Readable {
    if (entry === undefined || end < start) return Readable.from([]);
    const last = Math.min(end, entry.size - 1);
    if (last < start) return Readable.from([]);
    return fileRangeStream(this.handle, entry.dataOffset + start, entry.dataOffset + last, signal);
  }
}
