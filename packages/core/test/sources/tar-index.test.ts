import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
// The header scanner is internal to the docker-archive source; its limits are tested here directly.
import { indexTar, normalizeEntryName, resolveTarFile } from '../../src/sources/docker-archive/tar-index.js';
import { run, tempDirs } from './helpers.js';
import { paxRecord, rawTar } from './tar-fixtures.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

async function index(bytes: Buffer, limits?: { maxEntries: number; maxMetadataBytes: number }) {
  const file = join(await temp.make(), 't.tar');
  await writeFile(file, bytes);
  const handle = await open(file, 'r');
  try {
    return await indexTar(handle, bytes.length, 'test archive', limits);
  } finally {
    await handle.close();
  }
}

describe('indexTar', () => {
  it('indexes what GNU tar writes, in gnu, posix and ustar formats', async () => {
    const dir = await temp.make();
    const src = join(dir, 'src');
    await run('mkdir', ['-p', join(src, 'a'.repeat(60), 'b'.repeat(60))]);
    await writeFile(join(src, 'a'.repeat(60), 'b'.repeat(60), 'file.txt'), 'hello');
    await run('ln', ['-s', 'file.txt', join(src, 'a'.repeat(60), 'b'.repeat(60), 'link')]);
    for (const format of ['gnu', 'posix', 'ustar']) {
      const file = join(dir, `${format}.tar`);
      await run('tar', ['--format', format, '-C', src, '-cf', file, '.']);
      const { readFile } = await import('node:fs/promises');
      const entries = await index(await readFile(file));
      const name = `${'a'.repeat(60)}/${'b'.repeat(60)}/file.txt`;
      expect(entries.get(name)?.size, format).toBe(5);
      expect(entries.get(`${'a'.repeat(60)}/${'b'.repeat(60)}`)?.type).toBe('dir');
      const link = resolveTarFile(entries, `${'a'.repeat(60)}/${'b'.repeat(60)}/link`, 'x');
      expect(link?.name).toBe(name);
    }
  });

  it('bounds the number of entries', async () => {
    const bytes = rawTar(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: 'x' })));
    await expect(index(bytes, { maxEntries: 10, maxMetadataBytes: 1024 })).rejects.toMatchObject({ code: 'INVALID_ARCHIVE', message: expect.stringMatching(/more than 10 entries/) });
    expect((await index(bytes, { maxEntries: 11, maxMetadataBytes: 1024 })).size).toBe(11);
  });

  it('bounds extended header records', async () => {
    const bytes = rawTar([{ name: 'p', type: 'x', data: paxRecord('comment', 'x'.repeat(2000)) }, { name: 'f', data: 'x' }]);
    await expect(index(bytes, { maxEntries: 10, maxMetadataBytes: 1024 })).rejects.toMatchObject({ code: 'INVALID_ARCHIVE', message: expect.stringMatching(/over the 1024-byte limit/) });
  });

  it('skips global PAX headers and the ./ root entry', async () => {
    const entries = await index(rawTar([{ name: 'g', type: 'g', data: paxRecord('comment', 'x') }, { name: './', type: '5' }, { name: './f', data: 'x' }]));
    expect([...entries.keys()]).toEqual(['f']);
  });

  it('refuses a NUL inside a PAX path', async () => {
    await expect(index(rawTar([{ name: 'p', type: 'x', data: paxRecord('path', 'a\0b') }, { name: 'f', data: 'x' }]))).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
  });

  it('only ever throws TollgateError on random bytes (property)', async () => {
    const file = join(await temp.make(), 'random.tar');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        await writeFile(file, bytes);
        const handle = await open(file, 'r');
        try {
          await indexTar(handle, bytes.length, 'random');
        } catch (error) {
          expect(isTollgateError(error), String(error)).toBe(true);
        } finally {
          await handle.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('normalizeEntryName', () => {
  it.each([
    ['./a//b/', 'a/b'],
    ['a/./b', 'a/b'],
    ['./', ''],
  ])('%s → %s', (input, expected) => {
    expect(normalizeEntryName(input, 'x')).toBe(expected);
  });

  it('refuses any name with a .. component or an absolute path (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '.', '..', '', 'b.c', '..x'), { minLength: 1, maxLength: 6 }), (parts) => {
        const name = parts.join('/');
        const bad = parts.includes('..') || name.startsWith('/');
        if (bad) expect(() => normalizeEntryName(name, 'x')).toThrow(/refusing/);
        else expect(normalizeEntryName(name, 'x').split('/')).not.toContain('..');
      }),
    );
  });
});
