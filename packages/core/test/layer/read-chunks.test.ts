import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInChunks } from '../../src/layer/read-chunks.js';

/** Reading a blob stream in large requests: same bytes, bigger file reads, errors and early stops as `for await`. */

const MiB = 1024 * 1024;

async function collect(stream: Readable, size: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of readInChunks(stream, size)) chunks.push(chunk as Buffer);
  return chunks;
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('readInChunks', () => {
  let dir: string;
  let file: string;
  const bytes = randomBytes(5 * MiB + 12345);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-read-chunks-'));
    file = join(dir, 'blob');
    await writeFile(file, bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a 64 KiB file stream read 1 MiB at a time, and yields every byte in order', async () => {
    const stream = createReadStream(file); // highWaterMark 64 KiB
    const chunks = await collect(stream, MiB);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect(chunks.length).toBeLessThanOrEqual(7);
    expect(Math.max(...chunks.map((c) => c.length))).toBe(MiB);
  });

  it('takes what a slow source has buffered without waiting for a full request', async () => {
    const source = new PassThrough();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const chunk of readInChunks(source, MiB)) seen.push((chunk as Buffer).length);
    })();
    source.write(Buffer.alloc(1000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([1000]);
    source.end(Buffer.alloc(10));
    await reading;
    expect(seen).toEqual([1000, 10]);
  });

  it('reads an object-mode stream one object at a time, without raising its high-water mark', async () => {
    const stream = Readable.from([Buffer.from('a'), Buffer.from('bc'), Buffer.from('def')]);
    const mark = stream.readableHighWaterMark;
    expect((await collect(stream, MiB)).map(String)).toEqual(['a', 'bc', 'def']);
    expect(stream.readableHighWaterMark).toBe(mark);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect(Readable.from([]), MiB)).toEqual([]);
    const empty = new PassThrough();
    empty.end();
    expect(await collect(empty, MiB)).toEqual([]);
  });

  it('throws the stream’s own error unchanged, after the bytes before it', async () => {
    const boom = new Error('connection reset by the registry');
    const source = new PassThrough();
    const seen: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of readInChunks(source, MiB)) seen.push(chunk as Buffer);
    })();
    source.write(Buffer.from('first'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    source.destroy(boom);
    expect(await failure(reading)).toBe(boom);
    expect(Buffer.concat(seen).toString()).toBe('first');
  });

  it('throws ERR_STREAM_PREMATURE_CLOSE for a stream destroyed before its end', async () => {
    const source = new PassThrough();
    const reading = collect(source, MiB);
    source.write(Buffer.from('x'));
    setTimeout(() => source.destroy(), 20);
    expect((await failure(reading)).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
  });

  it('destroys the stream when the reader stops early', async () => {
    const stream = createReadStream(file);
    for await (const chunk of readInChunks(stream, MiB)) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break;
    }
    expect(stream.destroyed).toBe(true);
  });
});
