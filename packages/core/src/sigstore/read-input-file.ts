import { open } from 'node:fs/promises';
import { TollgateError } from '../errors/tollgate-error.js';

/**
 * Reads a whole local file that the caller named (a bundle, a trusted root, a key, an artifact), refusing one
 * larger than `maxBytes` before reading it, and anything that is not a regular file. Errors are TollgateErrors
 * that say which file and what to do: NOT_FOUND, SIZE_LIMIT, or USAGE (a directory, a device, no permission).
 */
export async function readInputFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TollgateError('NOT_FOUND', `${what} ${path} does not exist; check the path`);
    throw new TollgateError('USAGE', `${what} ${path} cannot be opened (${code ?? String(error)}); check the path and its permissions`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TollgateError('USAGE', `${what} ${path} is not a regular file; give the path of a file`);
    if (stat.size > maxBytes) throw new TollgateError('SIZE_LIMIT', `${what} ${path} is ${stat.size} bytes, more than the ${maxBytes} allowed; it is not what it claims to be`);
    const buffer = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < stat.size) {
      const { bytesRead } = await handle.read(buffer, offset, stat.size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    // A file that grew while we read it is read only up to the size we checked; one that shrank is cut short.
    return offset === stat.size ? buffer : buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}
