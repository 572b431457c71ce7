import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TollgateError, syncDirectory } from '@tollgate/core';

/**
 * Writes a key file through a temp file in the same directory (created with `mode`, fsynced), then moves it into
 * place atomically. Without `force` the move is a hard link, which fails if the target exists, so a key that
 * appeared meanwhile is never clobbered; with `force` it is a rename over the target.
 */
export async function writeKeyFile(path: string, data: string, mode: number, force: boolean): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx', mode);
  } catch (error) {
    throw new TollgateError('USAGE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check that the directory exists and is writable`, { cause: error });
  }
  try {
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // the umask may have removed bits the file is meant to have
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (force) {
      await rename(temp, path);
    } else {
      try {
        await link(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(path);
        throw error;
      }
      await rm(temp, { force: true });
    }
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

export function alreadyExists(path: string): TollgateError {
  return new TollgateError('USAGE', `${path} already exists; refusing to overwrite a key: choose another --output-key-prefix, or pass --force`);
}
