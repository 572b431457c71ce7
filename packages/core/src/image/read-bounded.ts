import type { Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';

/**
 * Reads a small blob (a config, a signature) into memory, refusing more than `maxBytes`. Used only for content
 * that must be parsed whole; layers are always streamed.
 */
export async function readBounded(stream: Readable, maxBytes: number, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buffer.length;
      if (total > maxBytes) {
        throw new TollgateError('SIZE_LIMIT', `${what} is larger than the ${maxBytes}-byte limit; refusing to read it`);
      }
      chunks.push(buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}
