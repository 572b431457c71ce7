import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { TollgateError } from '../../errors/tollgate-error.js';
import { isPathInside } from '../../util/path-inside.js';
import { readRange } from '../../util/read-range.js';
import type { LayoutStore } from './layout-store.js';

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * An OCI layout in a directory. Every path is resolved with realpath and must stay inside the layout, so a
 * symlinked blob (or blobs directory) pointing elsewhere on the machine is refused rather than read.
 */
export class DirectoryStore implements LayoutStore {
  readonly location: string;
  private readonly dir: string;
  private realRoot: Promise<string> | undefined;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.location = `OCI layout ${dir}`;
  }

  async size(path: string): Promise<number | undefined> {
    const real = await this.resolve(path);
    if (real === undefined) return undefined;
    return (await stat(real)).size;
  }

  async read(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const real = await this.resolve(path);
    if (real === undefined) return undefined;
    const handle = await open(real, 'r');
    try {
      const { size } = await handle.stat();
      return await readRange(handle, 0, Math.min(size, maxBytes) + 1);
    } finally {
      await handle.close();
    }
  }

  async open(path: string, start: number, end: number, signal?: AbortSignal): Promise<Readable> {
    const real = await this.resolve(path);
    if (real === undefined) {
      throw new TollgateError('NOT_FOUND', `${path} disappeared from ${this.location} while it was being read`);
    }
    if (end < start) return Readable.from([]);
    return createReadStream(real, signal ? { start, end, signal } : { start, end });
  }

  /** The real path of a regular file inside the layout; undefined when missing; UNSAFE_PATH when it escapes. */
  private async resolve(path: string): Promise<string | undefined> {
    this.realRoot ??= realpath(this.dir).catch((error: unknown) => {
      this.realRoot = undefined;
      if (isMissing(error)) {
        throw new TollgateError('NOT_FOUND', `${this.location} does not exist; check the directory path`);
      }
      throw error;
    });
    const root = await this.realRoot;
    let real: string;
    try {
      real = await realpath(join(root, ...path.split('/')));
    } catch (error) {
      if (isMissing(error)) return undefined;
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new TollgateError('UNSAFE_PATH', `${path} in ${this.location} is a symlink loop; remove it`);
      }
      throw error;
    }
    if (!isPathInside(root, real)) {
      throw new TollgateError('UNSAFE_PATH', `${path} in ${this.location} is a symlink to ${JSON.stringify(real)}, outside the layout; refusing to follow it`);
    }
    const info = await stat(real);
    if (!info.isFile()) {
      throw new TollgateError('INVALID_LAYOUT', `${path} in ${this.location} is not a regular file; the layout is damaged`);
    }
    return real;
  }
}
