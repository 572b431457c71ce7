import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayer, TollgateError, type Compression, type FileEntry } from '@tollgate/core';
import { makeTempDir, sh } from './support/layer-tools.js';

/** Feeds bytes to readLayer in the given chunk sizes, so every header and entry boundary gets split somewhere. */
function chunked(bytes: Uint8Array, sizes: number[]): Readable {
  const chunks: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = Math.max(1, sizes.length ? sizes[i++ % sizes.length]! : bytes.length);
    chunks.push(Buffer.from(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  return Readable.from(chunks);
}

const sha = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('readLayer property: random mutations of real layers never hang and only fail with TollgateError', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const blobs: Record<Compression, Buffer> = {} as Record<Compression, Buffer>;

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir('fuzz'));
    sh(
      [
        'mkdir -p root/etc root/usr/bin',
        "printf 'a\\n' > root/etc/a && yes x | head -c 3000 > root/usr/bin/x && ln -s a root/etc/l && ln root/etc/a root/etc/h",
        `printf 'l\\n' > 'root/etc/${'long'.repeat(40)}'`,
        'tar --format=pax -C root -cf l.tar . && gzip -k l.tar && zstd -q -k l.tar',
      ].join(' && '),
      dir,
    );
    blobs.none = readFileSync(join(dir, 'l.tar'));
    blobs.gzip = readFileSync(join(dir, 'l.tar.gz'));
    blobs.zstd = readFileSync(join(dir, 'l.tar.zst'));
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it.each(['none', 'gzip', 'zstd'] as const)('%s', async (compression) => {
    const original = blobs[compression];
    const mutation = fc.record({
      flips: fc.array(fc.record({ at: fc.nat({ max: original.length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 6 }),
      cut: fc.option(fc.nat({ max: original.length }), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 600 }),
      chunks: fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ flips, cut, tail, chunks }) => {
        const bytes = Buffer.from(original);
        for (const { at, xor } of flips) bytes[at]! ^= xor;
        const mutated = Buffer.concat([bytes.subarray(0, cut ?? bytes.length), tail]);
        try {
          const result = await readLayer(chunked(mutated, chunks), { compression, limits: { maxPathLength: 1000 } });
          expect(result.digest).toBe(sha(mutated));
          expect(result.size).toBe(mutated.length);
        } catch (error) {
          if (!(error instanceof TollgateError)) throw error;
          expect(['CORRUPT_LAYER', 'SIZE_LIMIT']).toContain(error.code);
        }
      }),
      { numRuns: 150 },
    );
  });
});

interface Spec {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  content: Uint8Array;
  linkname: string;
}

const segment = fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._ -]{0,40}$/).filter((s) => !s.startsWith('.wh.') && !s.endsWith(' '));
const unicodeSegment = fc.constantFrom('ünï', '文件', 'emoji-✓', 'ça');
const pathArb = fc
  .array(fc.oneof({ weight: 5, arbitrary: segment }, { weight: 1, arbitrary: unicodeSegment }), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join('/'));

const specsArb = fc
  .uniqueArray(
    fc.record({
      name: pathArb,
      type: fc.constantFrom('file', 'file', 'directory', 'symlink', 'link'),
      mode: fc.integer({ min: 1, max: 0o7777 }), // tar-stream's pack treats 0 as 'use the default'
      uid: fc.integer({ min: 0, max: 0o777777 }),
      gid: fc.integer({ min: 0, max: 0o777777 }),
      content: fc.uint8Array({ maxLength: 3000 }),
      linkname: fc.oneof(pathArb, fc.constant('/abs/target')),
    }),
    { selector: (s) => s.name, minLength: 1, maxLength: 25 },
  )
  .map((specs) => {
    // Hardlinks point at an earlier regular file, or become files when there is none.
    const files: string[] = [];
    return specs.map((s): Spec => {
      if (s.type === 'file') files.push(s.name);
      if (s.type === 'link') return files.length ? { ...s, linkname: files[s.content.length % files.length]! } : { ...s, type: 'file' };
      return s as Spec;
    });
  });

async function packTar(specs: Spec[]): Promise<Buffer> {
  const p = pack();
  const out: Buffer[] = [];
  // streamx types chunks as unknown; a tar pack emits Buffers.
  p.on('data', (c: unknown) => out.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const s of specs) {
    const header = { name: s.name, type: s.type, mode: s.mode, uid: s.uid, gid: s.gid, mtime: new Date(1_700_000_000_000) };
    if (s.type === 'file') p.entry({ ...header, size: s.content.length }, Buffer.from(s.content));
    else if (s.type === 'symlink' || s.type === 'link') p.entry({ ...header, linkname: s.linkname });
    else p.entry(header);
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

function expected(s: Spec): FileEntry {
  const type = ({ file: 'file', directory: 'dir', symlink: 'symlink', link: 'hardlink' } as const)[s.type];
  const entry: FileEntry = { path: s.name, type, mode: s.mode, uid: s.uid, gid: s.gid, size: type === 'file' ? s.content.length : 0, mtime: 1_700_000_000 };
  if (type === 'file') entry.sha256 = sha(s.content);
  if (type === 'symlink' || type === 'hardlink') entry.linkTarget = s.linkname;
  return entry;
}

describe('readLayer property: archives written by tar-stream (an independent writer) index exactly', () => {
  it('round-trips random entries, names over 100 bytes (PAX), unicode and any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        specsArb,
        fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 4 }),
        fc.constantFrom<Compression>('none', 'gzip'),
        async (specs, chunks, compression) => {
          const tar = await packTar(specs);
          const blob = compression === 'gzip' ? gzipSync(tar) : tar;
          const result = await readLayer(chunked(blob, chunks), { compression });
          expect(result.diffID).toBe(sha(tar));
          const absolute = specs.filter((s) => s.type === 'link' && s.linkname.startsWith('/'));
          expect(result.unsafeEntries).toHaveLength(absolute.length);
          expect(result.files).toEqual(specs.map(expected));
        },
      ),
      { numRuns: 120 },
    );
  });
});
