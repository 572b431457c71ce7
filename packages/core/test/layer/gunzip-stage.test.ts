import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzip } from '../../src/layer/gunzip-stage.js';

/** The gunzip pipeline stage on its own: batching of small input chunks, backpressure, errors and early stops. */

const MiB = 1024 * 1024;
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Yields `bytes` in chunks of the given sizes (cycled), counting what was taken and noting when it was stopped. */
function source(bytes: Buffer, sizes: number[]) {
  const state = { pulled: 0, finished: false };
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = sizes[i % sizes.length]!;
        const chunk = bytes.subarray(at, at + n);
        at += chunk.length;
        state.pulled = at;
        yield chunk;
      }
    } finally {
      state.finished = true;
    }
  }
  return { state, chunks: chunks() };
}

async function inflate(chunks: AsyncIterable<Buffer>): Promise<{ hash: string; length: number; pieces: number }> {
  const hash = createHash('sha256');
  let length = 0;
  let pieces = 0;
  for await (const piece of gunzip(chunks)) {
    hash.update(piece);
    length += piece.length;
    pieces++;
  }
  return { hash: hash.digest('hex'), length, pieces };
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('gunzip stage', () => {
  // Compressible but not trivial: ~3:1, like a real layer.
  const plain = Buffer.concat(Array.from({ length: 96 }, (_, i) => Buffer.concat([randomBytes(16 * 1024), Buffer.alloc(48 * 1024, i)])));
  const gz = gzipSync(plain);

  it.each([
    ['1-byte chunks', [1]],
    ['odd small chunks', [7, 300, 4096, 13]],
    ['64 KiB chunks (a file stream)', [64 * 1024]],
    ['one chunk larger than a batch', [gz.length]],
    ['a batch-sized chunk after small ones', [10, MiB, 3]],
    ['1 MiB chunks (a file stream read by readInChunks), written as they are', [MiB]],
    ['chunks over 1 MiB', [2 * MiB + 7]],
  ])('yields exactly the inflated bytes from %s', async (_name, sizes) => {
    const result = await inflate(source(gz, sizes).chunks);
    expect(result.length).toBe(plain.length);
    expect(result.hash).toBe(sha(plain));
  });

  it('hands on output in pieces of 256 KiB, not one per input chunk', async () => {
    const sizes: number[] = [];
    for await (const piece of gunzip(source(gz, [16 * 1024]).chunks)) sizes.push(piece.length);
    // ~6 MiB of output from ~2 MiB of 16 KiB input chunks: 24-odd pieces of 256 KiB (a few shorter), not hundreds.
    expect(Math.max(...sizes)).toBe(256 * 1024);
    expect(sizes.length).toBeLessThanOrEqual(Math.ceil(plain.length / (256 * 1024)) + 8);
  });

  it('stops reading the source while the consumer does not take output (bounded memory)', async () => {
    const big = randomBytes(48 * MiB); // incompressible: each compressed MiB is a MiB of output
    const { state, chunks } = source(gzipSync(big, { level: 1 }), [64 * 1024]);
    const stage = gunzip(chunks);
    const first = await stage.next();
    expect(first.done).toBe(false);
    await sleep(300);
    // Output waiting (2 chunks queued + zlib's buffer), input batched and inside zlib: far less than the 48 MiB.
    expect(state.pulled).toBeLessThan(16 * MiB);
    const hash = createHash('sha256').update(first.value as Buffer);
    let length = (first.value as Buffer).length;
    for (let next = await stage.next(); !next.done; next = await stage.next()) {
      hash.update(next.value);
      length += next.value.length;
    }
    expect(length).toBe(big.length);
    expect(hash.digest('hex')).toBe(sha(big));
  });

  it('throws zlib errors as zlib raises them: truncated and corrupt streams', async () => {
    const truncated = await failure(inflate(source(gz.subarray(0, gz.length - 100), [4096]).chunks));
    expect(truncated.code).toBe('Z_BUF_ERROR');
    expect(truncated.message).toMatch(/unexpected end of file/);
    const flipped = Buffer.from(gz);
    flipped[flipped.length - 6]! ^= 1; // the CRC
    expect((await failure(inflate(source(flipped, [4096]).chunks))).message).toMatch(/incorrect data check/);
    expect((await failure(inflate(source(randomBytes(5000), [1000]).chunks))).code).toBe('Z_DATA_ERROR');
  });

  it('passes an error of the source through unchanged', async () => {
    const boom = new Error('the registry hung up');
    async function* broken(): AsyncGenerator<Buffer> {
      yield gz.subarray(0, 3 * MiB);
      throw boom;
    }
    expect(await failure(inflate(broken()))).toBe(boom);
  });

  it('stops zlib and the source when the consumer stops early', async () => {
    const big = randomBytes(24 * MiB);
    const { state, chunks } = source(gzipSync(big, { level: 1 }), [64 * 1024]);
    for await (const piece of gunzip(chunks)) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    await sleep(50);
    expect(state.finished).toBe(true);
    expect(state.pulled).toBeLessThan(big.length);
  });
});
