import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { verifyingStream } from '@tollgate/core';

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs `chunks` through a verifyingStream into a sink; returns what the sink received and the error, if any. */
async function through(chunks: Buffer[], descriptor: { digest: string; size: number }) {
  const received: Buffer[] = [];
  let ended = false;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      received.push(chunk);
      done();
    },
    final(done) {
      ended = true;
      done();
    },
  });
  const error = await pipeline(Readable.from(chunks), verifyingStream({ mediaType: 'x', ...descriptor }, 'blob'), sink).then(() => undefined, (e: unknown) => e);
  return { received: Buffer.concat(received), ended, error };
}

describe('verifyingStream', () => {
  const chunks = [Buffer.from('a'.repeat(100)), Buffer.from('b'.repeat(100)), Buffer.from('c'.repeat(50))];
  const whole = Buffer.concat(chunks);

  it('passes a matching blob through whole', async () => {
    const out = await through(chunks, { digest: digest(whole), size: whole.length });
    expect(out.error).toBeUndefined();
    expect(out.received.equals(whole)).toBe(true);
    expect(out.ended).toBe(true);
  });

  it('an altered blob of the right size: the sink never gets the whole of it, nor an end', async () => {
    const altered = [chunks[0]!, Buffer.from('B'.repeat(100)), chunks[2]!];
    const out = await through(altered, { digest: digest(whole), size: whole.length });
    expect(out.error).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(out.received.length).toBeLessThan(whole.length);
    expect(out.ended).toBe(false);
  });

  it('too long fails at the chunk that passes the size; too short fails at the end', async () => {
    const long = await through([...chunks, Buffer.from('x')], { digest: digest(whole), size: whole.length });
    expect(long.error).toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(long.ended).toBe(false);
    const short = await through(chunks.slice(0, 2), { digest: digest(whole), size: whole.length });
    expect(short.error).toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(short.ended).toBe(false);
  });
});
