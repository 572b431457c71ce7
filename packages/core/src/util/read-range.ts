import type { FileHandle } from 'node:fs/promises';

/**
 * Reads up to `length` bytes at `position` with positional reads (no shared file offset, so concurrent readers of
 * one handle do not interfere). Returns fewer bytes only at end of file.
 */
export async function readRange(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}
