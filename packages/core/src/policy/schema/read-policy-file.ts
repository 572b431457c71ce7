import { open } from 'node:fs/promises';
import { TollgateError } from '../../errors/tollgate-error.js';

/** Reads at most `max` bytes of a file; more is an error, never a silent truncation. */
export async function readFileBounded(path: string, max: number, what: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TollgateError(code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `cannot read ${what} ${path}: ${code ?? (error as Error).message}; check the path`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TollgateError('USAGE', `${what} ${path} is not a regular file`);
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > max) throw new TollgateError('SIZE_LIMIT', `${what} ${path} is larger than ${max} bytes; check that it is the right file`);
    return new Uint8Array(buffer.subarray(0, length));
  } finally {
    await handle.close();
  }
}
