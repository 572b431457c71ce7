/**
 * A replica's disk copies of verified blobs from the shared store: what enters (only verified, flushed files), what
 * is evicted (least recently read past the budget) and what open() keeps.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCopies } from '../../packages/proxy/src/store/blobs/local-copies.js';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let work: string;
let temps = 0;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-local-copies-'));
  await mkdir(join(work, 'tmp'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const tempPath = () => join(work, 'tmp', `${++temps}.part`);

async function verifiedTemp(bytes: Buffer): Promise<string> {
  const path = tempPath();
  await writeFile(path, bytes);
  return path;
}

async function opened(maxBytes: number): Promise<LocalCopies> {
  const copies = new LocalCopies(join(work, 'local-cache'), maxBytes);
  await copies.open();
  return copies;
}

async function readCopy(copies: LocalCopies, digest: string): Promise<Buffer | undefined> {
  const found = await copies.read(digest);
  if (found === undefined) return undefined;
  try {
    return await found.handle.readFile();
  } finally {
    await found.handle.close();
  }
}

describe('LocalCopies', () => {
  it('adopts a verified temp file: the copy reads back byte for byte and the temp file is gone', async () => {
    const copies = await opened(1024 * 1024);
    const bytes = randomBytes(100_000);
    const temp = await verifiedTemp(bytes);
    await copies.adopt(temp, sha256(bytes), bytes.length);
    expect(existsSync(temp)).toBe(false);
    expect((await readCopy(copies, sha256(bytes)))?.equals(bytes)).toBe(true);
    expect(copies.totalBytes).toBe(bytes.length);
  });

  it('refuses a temp file whose size is not the verified size, and one larger than the whole budget', async () => {
    const copies = await opened(1000);
    const bytes = randomBytes(500);
    const short = await verifiedTemp(bytes.subarray(0, 499));
    await copies.adopt(short, sha256(bytes), 500);
    expect(await copies.read(sha256(bytes))).toBeUndefined();
    expect(existsSync(short)).toBe(false);
    const big = randomBytes(1001);
    const bigTemp = await verifiedTemp(big);
    await copies.adopt(bigTemp, sha256(big), big.length);
    expect(copies.has(sha256(big))).toBe(false);
    expect(existsSync(bigTemp)).toBe(false);
    expect(copies.totalBytes).toBe(0);
  });

  it('evicts the least recently read copies once the budget is passed, and counts a blob adopted twice once', async () => {
    const copies = await opened(3000);
    const blobs = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
    for (const bytes of blobs) await copies.adopt(await verifiedTemp(bytes), sha256(bytes), 1000);
    // The first becomes the most recently read; the second is now the oldest.
    expect(await readCopy(copies, sha256(blobs[0]!))).toBeDefined();
    await copies.adopt(await verifiedTemp(blobs[2]!), sha256(blobs[2]!), 1000);
    expect(copies.totalBytes).toBe(3000);
    const fourth = randomBytes(1000);
    await copies.adopt(await verifiedTemp(fourth), sha256(fourth), 1000);
    expect(copies.has(sha256(blobs[1]!))).toBe(false);
    expect(existsSync(join(work, 'local-cache', 'sha256', sha256(blobs[1]!).slice(7)))).toBe(false);
    for (const kept of [blobs[0]!, blobs[2]!, fourth]) expect(copies.has(sha256(kept))).toBe(true);
    expect(copies.totalBytes).toBe(3000);
  });

  it('a reader that opened a copy keeps its bytes when the copy is evicted meanwhile', async () => {
    const copies = await opened(1000);
    const bytes = randomBytes(1000);
    await copies.adopt(await verifiedTemp(bytes), sha256(bytes), 1000);
    const found = (await copies.read(sha256(bytes)))!;
    const next = randomBytes(1000);
    await copies.adopt(await verifiedTemp(next), sha256(next), 1000);
    expect(copies.has(sha256(bytes))).toBe(false);
    expect((await found.handle.readFile()).equals(bytes)).toBe(true);
    await found.handle.close();
  });

  it('open() keeps the copies that are there (oldest write evicted first) and removes what is not a copy', async () => {
    const dir = join(work, 'local-cache', 'sha256');
    await mkdir(dir, { recursive: true });
    const older = randomBytes(600);
    const newer = randomBytes(600);
    await writeFile(join(dir, sha256(older).slice(7)), older);
    await writeFile(join(dir, sha256(newer).slice(7)), newer);
    await utimes(join(dir, sha256(older).slice(7)), new Date(1_000_000), new Date(1_000_000));
    await writeFile(join(dir, 'not-a-digest'), 'junk');
    await writeFile(join(dir, 'ABCDEF'), 'junk');
    await mkdir(join(dir, 'a'.repeat(64)));
    const copies = await opened(1000);
    expect(copies.has(sha256(newer))).toBe(true);
    expect(copies.has(sha256(older))).toBe(false);
    expect(await readdir(dir)).toEqual([sha256(newer).slice(7)]);
    expect(copies.totalBytes).toBe(600);
  });

  it('with a budget of 0 nothing is kept and open() removes what an earlier run left', async () => {
    const dir = join(work, 'local-cache', 'sha256');
    await mkdir(dir, { recursive: true });
    const bytes = randomBytes(100);
    await writeFile(join(dir, sha256(bytes).slice(7)), bytes);
    const copies = await opened(0);
    expect(copies.enabled).toBe(false);
    expect(existsSync(join(work, 'local-cache'))).toBe(false);
    const temp = await verifiedTemp(bytes);
    await copies.adopt(temp, sha256(bytes), 100);
    expect(existsSync(temp)).toBe(false);
  });

  it('remove() deletes a copy and its bytes from the budget', async () => {
    const copies = await opened(1024 * 1024);
    const bytes = randomBytes(1000);
    await copies.adopt(await verifiedTemp(bytes), sha256(bytes), 1000);
    await copies.remove(sha256(bytes));
    expect(copies.has(sha256(bytes))).toBe(false);
    expect(copies.totalBytes).toBe(0);
    expect(await copies.read(sha256(bytes))).toBeUndefined();
    expect(await readFile(join(work, 'local-cache', 'sha256', sha256(bytes).slice(7))).catch(() => undefined)).toBeUndefined();
  });
});
