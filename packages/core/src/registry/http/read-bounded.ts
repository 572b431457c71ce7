import { TollgateError } from '../../errors/tollgate-error.js';

/** Something a response body is: an async iterable of chunks that can be torn down. */
export interface BodyStream extends AsyncIterable<Uint8Array | string> {
  destroy(error?: Error): unknown;
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/** Tears a body down without reading it; the abort error that follows has a listener so it cannot crash anything. */
export function discardBody(body: BodyStream): void {
  body.on?.('error', () => undefined);
  body.destroy();
}

/**
 * Reads a response body into memory, refusing (and tearing the connection down) as soon as it passes `limit` bytes,
 * so a hostile server cannot make us hold more than `limit` whatever it sends.
 */
export async function readBounded(body: BodyStream, limit: number, tooLarge: () => TollgateError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      total += buffer.length;
      if (total > limit) {
        const error = tooLarge();
        discardBody(body);
        throw error;
      }
      chunks.push(buffer);
    }
  } catch (error) {
    discardBody(body);
    throw error;
  }
  return Buffer.concat(chunks, total);
}

/** Reads and discards at most `limit` bytes so the connection can be reused; larger bodies close it instead. */
export async function drain(body: BodyStream, limit = 64 * 1024): Promise<void> {
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.length;
      if (total > limit) {
        discardBody(body);
        return;
      }
    }
  } catch {
    // a body we are throwing away may fail however it likes
  }
}

/** The Content-Length header as a safe integer, or undefined when absent or malformed. */
export function contentLength(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** The first value of a header. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
